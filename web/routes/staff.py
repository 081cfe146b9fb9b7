"""Back office for a tenant's staff: login and the inbox."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
