"""The contact window for Mexico: its settings, its validation against the legal bound, and the
earliest moment it allows on the customer's clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recaudo.api import ContactRequest, SettingField

#: CONDUSEF's bound for contacting a debtor, in the debtor's time zone (half-open).
LEGAL_OPENS, LEGAL_CLOSES = time(7), time(22)
SOURCE = "CONDUSEF, disposiciones en materia de despachos de cobranza"

DAYS: dict[str, tuple[frozenset[int], str]] = {
    "lunes_a_sabado": (frozenset(range(6)), "de lunes a sábado"),
    "lunes_a_viernes": (frozenset(range(5)), "de lunes a viernes"),
    "todos": (frozenset(range(7)), "todos los días"),
}


def _half_hours(first: time, last: time) -> tuple[str, ...]:
    minutes = range(first.hour * 60 + first.minute, last.hour * 60 + last.minute + 1, 30)
    return tuple(f"{m // 60:02d}:{m % 60:02d}" for m in minutes)


#: Every choice stays inside 07:00–22:00, so a stored setting can never widen the legal bound.
START_CHOICES = _half_hours(LEGAL_OPENS, time(21, 30))
END_CHOICES = _half_hours(time(7, 30), LEGAL_CLOSES)

FIELDS: tuple[SettingField, ...] = (
    SettingField(
        "days",
        "Días de cobranza",
        type="choice",
        default="lunes_a_sabado",
        choices=tuple(DAYS),
        help="lunes_a_sabado (predeterminado), lunes_a_viernes o todos",
    ),
    SettingField(
        "start",
        "Hora de inicio (hora del cliente)",
        type="choice",
        default="08:00",
        choices=START_CHOICES,
        help="Entre 07:00 y 21:30; CONDUSEF no permite contactar antes de las 7:00",
    ),
    SettingField(
        "end",
        "Hora de fin (hora del cliente)",
        type="choice",
        default="21:00",
        choices=END_CHOICES,
        help="Entre 07:30 y 22:00; CONDUSEF no permite contactar después de las 22:00",
    ),
)

MAX_DAYS = 15  # at least one day a week is always open: a week and a day always finds it


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class Window:
    """Days of the week (Monday = 0) and half-open hours ``[opens, closes)``."""

    days: frozenset[int]
    opens: time
    closes: time
    days_label: str

    def objection(self, request: ContactRequest) -> tuple[str, str] | None:
        local = request.moment.astimezone(customer_zone(request))
        hours = f"{self.opens:%H:%M} a {self.closes:%H:%M}"
        if local.weekday() not in self.days:
            return (
                "mx.condusef.days",
                f"Horario de cobranza del negocio: {self.days_label}, de {hours} "
                f"(hora del cliente); {SOURCE}.",
            )
        if not self.opens <= local.time() < self.closes:
            return (
                "mx.condusef.hours",
                f"Fuera del horario de cobranza, {self.days_label} de {hours} (hora del "
                f"cliente); {SOURCE}: solo entre las 7:00 y las 22:00 del deudor.",
            )
        return None

    def earliest_allowed(self, request: ContactRequest) -> datetime:
        """The first moment at or after ``request.moment`` inside the window."""
        zone = customer_zone(request)
        local = request.moment.astimezone(zone)
        day: date = local.date()
        for _ in range(MAX_DAYS):
            if day.weekday() in self.days:
                opens = datetime.combine(day, self.opens, tzinfo=zone)
                start = max(local, opens, key=lambda d: d.astimezone(UTC)).astimezone(zone)
                if start.date() == day and start.time() < self.closes:
                    return start
            day += timedelta(days=1)
        raise ValueError("no open day in the window")  # pragma: no cover


DEFAULT = Window(DAYS["lunes_a_sabado"][0], time(8), time(21), DAYS["lunes_a_sabado"][1])


def window_from_settings(settings: Mapping[str, Any]) -> tuple[Window, str]:
    """The tenant's window and, when its settings cannot be used, why the default applies.

    The host already refused values outside the choices; this guards what a schema cannot say
    (the end after the start) and anything stored by hand, so a bad setting narrows nothing less
    than the default and never widens the legal bound.
    """
    days_key = str(settings.get("days") or "lunes_a_sabado")
    start_text = str(settings.get("start") or "08:00")
    end_text = str(settings.get("end") or "21:00")
    if days_key not in DAYS or start_text not in START_CHOICES or end_text not in END_CHOICES:
        return DEFAULT, "configuración no válida: se usa el horario predeterminado"
    opens, closes = _clock(start_text), _clock(end_text)
    if closes <= opens:
        return (
            DEFAULT,
            "la hora de fin no es posterior a la de inicio: se usa el horario predeterminado",
        )
    days, label = DAYS[days_key]
    return Window(days, opens, closes, label), ""


def customer_zone(request: ContactRequest) -> ZoneInfo:
    """The customer's zone; the tenant's if unknown; Mexico City last."""
    for name in (request.timezone, request.tenant.timezone):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("America/Mexico_City")
