"""Customer portal pages (after the front door): access, statement, payments, help."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
