"""The calendar of Ley 2300 de 2023 on the customer's clock: windows, holidays, daily and weekly
limits, and the earliest moment that satisfies all of them at once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from recaudo.api import ContactRequest

#: weekday → (opens, closes), half-open; Sunday (6) has no window.
WINDOWS: dict[int, tuple[time, time]] = {
    **{day: (time(7), time(19)) for day in range(5)},
    5: (time(8), time(15)),
}
#: Never loop forever on a pathological calendar; a year of closed days is far beyond reality.
MAX_DAYS = 370
LAW = "Ley 2300 de 2023"
CHANNEL_NAMES = {"email": "correo electrónico", "sms": "SMS", "whatsapp": "WhatsApp"}


@lru_cache(maxsize=32)
def _holidays(year: int) -> dict[date, str]:
    """Colombia's public holidays of ``year`` with their Spanish names (moved ones included)."""
    return dict(holidays.country_holidays("CO", years=year, language="es").items())


def holiday_name(day: date) -> str | None:
    return _holidays(day.year).get(day)


def customer_zone(request: ContactRequest) -> ZoneInfo:
    """The customer's zone; the tenant's if unknown; Bogotá (the whole country's zone) last."""
    for name in (request.timezone, request.tenant.timezone):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("America/Bogota")


def window(day: date) -> tuple[time, time] | None:
    """The hours the law allows on ``day``; ``None`` on Sundays and public holidays."""
    if holiday_name(day) is not None:
        return None
    return WINDOWS.get(day.weekday())


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _local_days(request: ContactRequest, zone: ZoneInfo) -> list[tuple[date, str]]:
    """Each past contact's day on the customer's clock; a naive time is read as UTC (what the
    database stores), never as this server's local time."""
    return [
        ((c.at if c.at.tzinfo else c.at.replace(tzinfo=UTC)).astimezone(zone).date(), c.channel)
        for c in request.history
    ]


def contacted_on(days: list[tuple[date, str]], day: date) -> bool:
    return any(d == day for d, _ in days)


def other_channel_in_week(days: list[tuple[date, str]], day: date, channel: str) -> str | None:
    """A channel other than ``channel`` already used in ``day``'s week (Monday–Sunday)."""
    start = week_start(day)
    for d, used in days:
        if start <= d < start + timedelta(days=7) and used != channel:
            return used
    return None


def objection(request: ContactRequest) -> tuple[str, str] | None:
    """``(rule id, Spanish reason)`` for the first part of the law ``request.moment`` breaks."""
    zone = customer_zone(request)
    local = request.moment.astimezone(zone)
    day, now = local.date(), local.time()
    name = holiday_name(day)
    if name is not None:
        return "co.ley2300.holiday", f"{LAW}, art. 3: no se contacta en días festivos ({name})."
    if day.weekday() == 6:
        return "co.ley2300.sunday", f"{LAW}, art. 3: no se contacta los domingos."
    opens, closes = WINDOWS[day.weekday()]
    if not opens <= now < closes:
        return (
            "co.ley2300.hours",
            f"{LAW}, art. 3: solo de lunes a viernes de 7:00 a 19:00 y los sábados de 8:00 "
            "a 15:00 (hora del cliente).",
        )
    days = _local_days(request, zone)
    used = other_channel_in_week(days, day, request.channel)
    if used is not None:
        return (
            "co.ley2300.weekly_channel",
            f"{LAW}: no se contacta por varios canales en la misma semana; esta semana ya se "
            f"contactó por {CHANNEL_NAMES.get(used, used)}.",
        )
    if contacted_on(days, day):
        return (
            "co.ley2300.daily_limit",
            f"{LAW}: como máximo un contacto al día, y hoy ya hubo uno.",
        )
    return None


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def earliest_allowed(request: ContactRequest) -> datetime:
    """The first moment at or after ``request.moment`` that every part of the law allows, in the
    customer's zone. Day by day: a closed day, a day already used or a week already used on
    another channel moves to the next candidate day; an open day gives its opening time (or the
    moment itself, when it falls inside the window)."""
    zone = customer_zone(request)
    local = request.moment.astimezone(zone)
    days = _local_days(request, zone)
    day = local.date()
    for _ in range(MAX_DAYS):
        hours = window(day)
        if hours is not None and not contacted_on(days, day):
            if other_channel_in_week(days, day, request.channel) is not None:
                day = week_start(day) + timedelta(days=7)
                continue
            opens, closes = hours
            start = max(local, _at(day, opens, zone), key=lambda d: d.astimezone(UTC))
            if start.astimezone(zone).time() < closes and start.astimezone(zone).date() == day:
                return start.astimezone(zone)
        day += timedelta(days=1)
    raise ValueError(f"{LAW}: no allowed moment within {MAX_DAYS} days")  # pragma: no cover
