"""A customer's reminder consents: which channels they authorise and their quiet hours.

Stored in ``Customer.consents`` with the date of the decision, the shape the dunning engine reads:
``{"channels": [...], "quiet_hours": ["21:00", "08:00"] | None, "updated_at": iso}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from recaudo.core.billing.customers import CHANNELS
from recaudo.core.common.jsonfield import loads
from recaudo.core.tables import Customer
from recaudo.tenants.scoped import TenantScope

_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class PreferenceError(ValueError):
    """Input we cannot accept; the message (Spanish source text) is shown to the customer."""


@dataclass(frozen=True)
class Consents:
    channels: tuple[str, ...]
    quiet_start: str = ""
    quiet_end: str = ""
    updated_at: str = ""

    def as_json(self) -> dict[str, Any]:
        quiet = [self.quiet_start, self.quiet_end] if self.quiet_start else None
        return {
            "channels": list(self.channels),
            "quiet_hours": quiet,
            "updated_at": self.updated_at,
        }


def consents_of(customer: Customer) -> Consents:
    data = loads(customer.consents, {}) or {}
    if not isinstance(data, dict):
        data = {}
    channels = tuple(c for c in data.get("channels") or () if c in CHANNELS)
    quiet = data.get("quiet_hours") or []
    start, end = [*quiet, "", ""][:2] if isinstance(quiet, list) else ("", "")
    return Consents(channels, str(start or ""), str(end or ""), str(data.get("updated_at") or ""))


async def save_consents(
    scope: TenantScope, customer_id: int, channels: list[str], quiet_start: str, quiet_end: str
) -> Consents:
    chosen = tuple(c for c in CHANNELS if c in channels)
    if bool(quiet_start) != bool(quiet_end):
        raise PreferenceError("Indica la hora de inicio y la de fin, o deja ambas vacías.")
    for value in (quiet_start, quiet_end):
        if value and not _TIME.match(value):
            raise PreferenceError("Escribe las horas como HH:MM, por ejemplo 21:00.")
    if quiet_start and quiet_start == quiet_end:
        raise PreferenceError("La hora de inicio y la de fin no pueden ser iguales.")
    consents = Consents(chosen, quiet_start, quiet_end, datetime.now(UTC).isoformat())
    await scope.update(Customer, {Customer.consents: consents.as_json()}).where(
        Customer.id == customer_id
    )
    return consents
