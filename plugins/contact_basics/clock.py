"""Local wall-clock helpers for quiet hours: parse ``HH:MM``, test a time, find when they end."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def parse_hhmm(text: object) -> time | None:
    """``"21:00"`` → 21:00; anything else → ``None`` (never raises: stored data can be stale)."""
    match = _HHMM.match(str(text).strip()) if text is not None else None
    return time(int(match.group(1)), int(match.group(2))) if match else None


def local_zone(name: str, fallback: str) -> ZoneInfo:
    """The customer's zone; the tenant's when theirs is unknown; UTC as a last resort."""
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def in_quiet_hours(now: time, start: time, end: time) -> bool:
    """``[start, end)``; wraps midnight when ``start > end`` (21:00–08:00)."""
    if start < end:
        return start <= now < end
    return now >= start or now < end


def quiet_end_after(local: datetime, start: time, end: time) -> datetime:
    """The first moment after ``local`` whose wall clock reads ``end``.

    Compared in UTC: two datetimes sharing a ``ZoneInfo`` compare by wall clock, which is wrong
    across a daylight-saving change in the zones that still have one.
    """
    zone = local.tzinfo
    day = local.date()
    for offset in range(3):
        for fold in (0, 1):  # a wall time repeated when clocks go back: its first occurrence first
            candidate = datetime.combine(day + timedelta(days=offset), end, tzinfo=zone)
            candidate = candidate.replace(fold=fold)
            if candidate.astimezone(UTC) > local.astimezone(UTC):
                return candidate.astimezone(UTC).astimezone(zone)
    raise AssertionError("unreachable: the end time recurs every day")  # pragma: no cover
