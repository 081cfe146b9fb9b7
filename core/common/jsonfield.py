"""Piccolo returns JSON columns as text unless asked otherwise; this reads either form."""

from __future__ import annotations

import json
from typing import Any


def loads(value: Any, default: Any = None) -> Any:
    if value is None or value == "":
        return default
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return value
