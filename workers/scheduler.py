"""Periodic work, expressed as outbox jobs so it is as reliable as everything else.

The reconciliation sweep catches payments whose provider notification never arrived: every pending
payment older than :data:`RECONCILE_AFTER` gets a ``reconcile_payment`` job at most once per
:data:`BUCKET`, which asks the provider (``search_by_reference``) for the authoritative state.
Several relays may sweep at once: the job key is per payment and time bucket, so they agree.

Compaction keeps ``account_change`` (the statement's change log) small without changing any
account stamp.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from recaudo import db
from recaudo.core import outbox
from recaudo.core.tables import AccountChange, Payment
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


COMPACT_ABOVE = 64  # change rows per account before they are folded into one


async def compact_account_changes(limit: int = 1_000) -> int:
    """Fold the change rows of busy accounts into one row carrying their total weight.

    ``DELETE … RETURNING`` sums exactly the rows it removed, and the replacement commits with
    the deletion, so every reader sees the same stamp before and after; rows of transactions
    still in flight are not touched and count when they commit. Returns the accounts compacted.
    """
    table = unscoped(AccountChange)
    busy = await table.raw(
        "SELECT tenant, customer FROM account_change GROUP BY tenant, customer "
        "HAVING COUNT(*) > {} LIMIT {}",
        COMPACT_ABOVE,
        limit,
    )
    for row in busy:
        scope = TenantScope(int(row["tenant"]))
        async with db.transaction():
            removed = (
                await scope.delete(AccountChange)
                .where(AccountChange.customer == row["customer"])
                .returning(AccountChange.weight)
            )
            total = sum(int(r["weight"]) for r in removed)
            if total:
                await scope.add(AccountChange(customer=row["customer"], weight=total))
    return len(busy)
