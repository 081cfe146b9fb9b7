"""Audit trail: who did what to which record, per tenant."""

from __future__ import annotations

from typing import Any

from recaudo.core.tables import AuditEvent
from recaudo.tenants.scoped import TenantScope


async def record(
    scope: TenantScope, actor: str, action: str, subject: str = "", **data: Any
) -> None:
    await scope.add(AuditEvent(actor=actor, action=action, subject=subject, data=data))
