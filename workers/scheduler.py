"""Periodic work, expressed as outbox jobs so it is as reliable as everything else.

:func:`sweep` runs every minute from each relay:

* **Payment checks** (:func:`sweep_payments`). Each payment has at most one provider-check job,
  keyed ``check:<payment id>`` and re-armed when it is due again, so a check that is still
  retrying through a provider outage is never duplicated. Due means: an open (pending) payment
  older than :data:`RECONCILE_AFTER`, every :data:`OPEN_EVERY`, for :data:`GIVE_UP_AFTER` (the
  notification never came); an approved payment known to the provider, daily for
  :data:`DAILY_FOR` and then weekly until :data:`REFUND_WINDOW` (a refund or chargeback made at
  the provider with no webhook). One set-based query picks at most :data:`BATCH` due payments.
* **Provider events** (:func:`sweep_provider_events`): an event still ``received`` after
  :data:`EVENT_GRACE` whose job is missing, dead or finished gets its job back.
* **Waiting messages** (:func:`deliver_waiting_messages`): messages that waited for a channel
  (email in production before SMTP was configured) are sent once it can deliver.

Abandoned checkouts are marked ``expired`` by :func:`expire_abandoned_checkouts`, one UPDATE for
all tenants (readers already hide them from their ``expires_at`` on; this makes history say so).

Several relays may sweep at once: inserts are ``ON CONFLICT DO NOTHING`` and re-arming is a
conditional update, so they agree. Compaction keeps ``account_change`` (the statement's change
log) small without changing any account stamp.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from recaudo.core import db
from recaudo.core.payments.expiry import expired_where
from recaudo.core.tables import AccountChange, OutboxJob, Payment, PaymentTransition, ProviderEvent
from recaudo.tenants.scoped import TenantScope, unscoped

RECONCILE_AFTER = timedelta(minutes=10)
OPEN_EVERY = timedelta(minutes=15)
GIVE_UP_AFTER = timedelta(days=7)
DAILY_FOR = timedelta(days=30)
REFUND_WINDOW = timedelta(days=180)
EVENT_GRACE = timedelta(minutes=30)
BATCH = 200
OPEN_STATUSES = ("pending", "in_process")
MONEY_STATUSES = ("approved", "partially_refunded")

DUE_PAYMENTS = """
SELECT p.id, p.tenant, j.id AS job FROM payment p
LEFT JOIN outbox_job j ON j.tenant = p.tenant AND j.key = 'check:' || p.id
WHERE (j.id IS NULL OR j.status = 'done') AND (
  (p.status IN ('pending', 'in_process') AND p.created_at < {} AND p.created_at > {}
    AND (j.id IS NULL OR j.done_at <= {}))
  OR (p.status IN ('approved', 'partially_refunded') AND p.provider_payment_id IS NOT NULL
    AND p.created_at > {} AND (j.id IS NULL OR j.done_at <= {})
    AND (j.id IS NOT NULL OR p.updated_at <= {}))
  OR (p.status IN ('approved', 'partially_refunded') AND p.provider_payment_id IS NOT NULL
    AND p.created_at > {} AND p.created_at <= {} AND (j.id IS NULL OR j.done_at <= {}))
)
ORDER BY p.id LIMIT {}
"""

STALLED_EVENTS = """
SELECT e.id, e.tenant, j.id AS job FROM provider_event e
LEFT JOIN outbox_job j ON j.tenant = e.tenant AND j.key = 'provider_event:' || e.id
WHERE e.status = 'received' AND e.received_at < {}
  AND (j.id IS NULL OR j.status IN ('failed', 'done'))
ORDER BY e.id LIMIT {}
"""


async def _rearm(scope: TenantScope, job_id: int, from_statuses: list[str], now: datetime) -> bool:
    """Put a finished or dead job back in the queue with a fresh retry window."""
    rows = (
        await scope.update(
            OutboxJob,
            {
                OutboxJob.status: "pending",
                OutboxJob.attempts: 0,
                OutboxJob.available_at: now,
                OutboxJob.last_error: "",
                OutboxJob.done_at: None,
            },
        )
        .where((OutboxJob.id == job_id) & OutboxJob.status.is_in(from_statuses))
        .returning(OutboxJob.id)
    )
    return bool(rows)


async def _add_job(scope: TenantScope, actor: str, payload: dict, key: str, now: datetime) -> bool:
    job = OutboxJob(key=key, actor=actor, payload=payload, status="pending", available_at=now)
    job.created_at = now
    return await scope.add_unless_exists(job) is not None


async def sweep_payments(now: datetime | None = None, limit: int = BATCH) -> int:
    """Queue a provider check for each payment that is due one; returns how many were queued."""
    now = now or datetime.now(UTC)
    day, week = timedelta(days=1), timedelta(days=7)
    rows = await unscoped(Payment).raw(
        DUE_PAYMENTS,
        now - RECONCILE_AFTER,
        now - GIVE_UP_AFTER,
        now - OPEN_EVERY,
        now - DAILY_FOR,
        now - day,
        now - day,
        now - REFUND_WINDOW,
        now - DAILY_FOR,
        now - week,
        limit,
    )
    queued = 0
    for row in rows:
        scope = TenantScope(int(row["tenant"]))
        if row["job"] is None:
            key = f"check:{row['id']}"
            payload = {"payment_id": int(row["id"])}
            queued += await _add_job(scope, "reconcile_payment", payload, key, now)
        else:
            queued += await _rearm(scope, int(row["job"]), ["done"], now)
    return queued


async def sweep_provider_events(now: datetime | None = None, limit: int = BATCH) -> int:
    """Give stalled provider events their job back; returns how many were re-queued."""
    now = now or datetime.now(UTC)
    rows = await unscoped(ProviderEvent).raw(STALLED_EVENTS, now - EVENT_GRACE, limit)
    queued = 0
    for row in rows:
        scope = TenantScope(int(row["tenant"]))
        if row["job"] is None:
            payload = {"event_id": int(row["id"])}
            key = f"provider_event:{row['id']}"
            queued += await _add_job(scope, "process_provider_event", payload, key, now)
        else:
            queued += await _rearm(scope, int(row["job"]), ["failed", "done"], now)
    return queued


async def sweep(now: datetime | None = None) -> int:
    """Everything the scheduler does each minute; returns how many jobs it queued."""
    now = now or datetime.now(UTC)
    return await sweep_payments(now) + await sweep_provider_events(now)


#: Checkouts are marked expired this long after they ended, so the payment sweep asks the provider
#: once more: a payment approved at the last minute whose notification was lost is found.
EXPIRE_GRACE = timedelta(minutes=20)


async def expire_abandoned_checkouts(now: datetime | None = None) -> int:
    """Mark every pending checkout past its expiry (plus :data:`EXPIRE_GRACE`) ``expired``.

    Set-based: one UPDATE over all tenants and one INSERT of their transitions, in one
    transaction. Money that still arrives for one is handled by the ledger (credit, ticket).
    Returns how many checkouts expired.
    """
    now = now or datetime.now(UTC)
    table = unscoped(Payment)
    async with db.transaction():
        rows = (
            await table.update({table.status: "expired", table.updated_at: now})
            .where(expired_where(now - EXPIRE_GRACE))
            .returning(table.id, table.tenant)
        )
        if rows:
            await unscoped(PaymentTransition).insert(
                *[
                    PaymentTransition(
                        tenant=row["tenant"],
                        payment=row["id"],
                        from_status="pending",
                        to_status="expired",
                        source="sweep",
                        detail="checkout expired",
                        created_at=now,
                    )
                    for row in rows
                ]
            )
    return len(rows)


async def deliver_waiting_messages() -> int:
    """Send the messages that waited for a channel, if it can deliver now (every sweep)."""
    from recaudo.core.config import active
    from recaudo.core.messaging.notify import deliver_waiting

    try:
        secret_key = active().secret_key
    except RuntimeError:  # a relay driven by a test without a started app: nothing to send with
        return 0
    return await deliver_waiting(secret_key)


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
