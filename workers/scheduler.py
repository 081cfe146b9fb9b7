"""Periodic work, expressed as outbox jobs so it is as reliable as everything else.

The reconciliation sweep catches payments whose provider notification never arrived: every pending
payment older than :data:`RECONCILE_AFTER` gets a ``reconcile_payment`` job at most once per
:data:`BUCKET`, which asks the provider (``search_by_reference``) for the authoritative state.
Several relays may sweep at once: the job key is per payment and time bucket, so they agree.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from recaudo.core import outbox
from recaudo.core.tables import Payment
from recaudo.tenants.scoped import TenantScope, unscoped

RECONCILE_AFTER = timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(days=7)
BUCKET = timedelta(minutes=15)
OPEN_STATUSES = ("pending", "in_process")


async def sweep_pending_payments(now: datetime | None = None) -> int:
    """Enqueue a reconciliation job for each stale open payment; returns how many were new."""
    now = now or datetime.now(UTC)
    table = unscoped(Payment)
    rows = await table.select(table.id, table.tenant).where(
        table.status.is_in(list(OPEN_STATUSES))
        & (table.created_at < now - RECONCILE_AFTER)
        & (table.created_at > now - GIVE_UP_AFTER)
    )
    bucket = int(now.timestamp() // BUCKET.total_seconds())
    created = 0
    for row in rows:
        if await outbox.enqueue(
            TenantScope(int(row["tenant"])),
            "reconcile_payment",
            {"payment_id": int(row["id"])},
            key=f"reconcile:{row['id']}:{bucket}",
        ):
            created += 1
    return created
