"""The hourly schedule that issues recurring invoices ("mensualidades") when their day comes.

Not per tenant: the scheduler that claims the hour's slot finds, in one query, the tenants with
an active recurring invoice due by then, and issues each tenant's due periods on that tenant's
calendar day (:func:`recaudo.core.billing.recurring.issue_due`, exactly once per period however
many workers race). Hourly rather than daily so every time zone is served soon after its own
midnight; a failed tenant is logged and tried again the next hour, others go on.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from recaudo.core.billing.recurring import issue_due
from recaudo.core.platform.jobs import Job, Schedule
from recaudo.core.tables import RecurringInvoice
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope, unscoped

log = logging.getLogger(__name__)


async def issue_all_due(now: datetime | None = None) -> list[int]:
    """Issue every tenant's due recurring invoices as of ``now``; returns the new invoice ids."""
    now = now or datetime.now(UTC)
    table = unscoped(RecurringInvoice)
    # Tomorrow in UTC is on or after every time zone's today: a cheap first filter.
    rows = (
        await table.select(table.tenant)
        .where(
            (table.status == "active") & (table.next_issue_date <= (now + timedelta(days=1)).date())
        )
        .distinct()
    )
    tenant_ids = sorted({int(r["tenant"]) for r in rows})
    if not tenant_ids:
        return []
    zones = {
        int(r["id"]): str(r["timezone"])
        for r in await Tenant.select(Tenant.id, Tenant.timezone).where(
            Tenant.id.is_in(tenant_ids) & (Tenant.status == "active")
        )
    }
    issued: list[int] = []
    for tenant_id, zone in sorted(zones.items()):
        today = now.astimezone(ZoneInfo(zone)).date()
        try:
            issued += await issue_due(TenantScope(tenant_id), today, now)
        except Exception:
            log.exception(
                "recurring invoices of tenant %s: failed; next hour tries again", tenant_id
            )
    return issued


async def run_recurring_invoices(_ctx: None, payload: dict[str, Any]) -> None:
    now = datetime.fromisoformat(str(payload["now"])) if "now" in payload else None
    await issue_all_due(now)


JOBS = [Job("recurring_invoices", run_recurring_invoices, time_limit=timedelta(minutes=10))]
SCHEDULES = [
    Schedule("recurring_invoices", "recurring_invoices", every=timedelta(hours=1), per_tenant=False)
]
