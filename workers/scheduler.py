"""The scheduler, and the periodic work core declares for it.

**The scheduler** (:class:`Scheduler`, :func:`schedule_forever`) runs in every ``recaudo worker``
(and in the embedded worker of ``recaudo serve``), separate from the outbox relay. Each
:class:`~recaudo.core.platform.jobs.Schedule` (core's :data:`SCHEDULES`, plugins' from the
``recaudo_schedules`` hook) divides time into slots of ``every`` (aligned to the epoch); the first
process to insert ``(schedule, slot)`` into ``schedule_run`` (a unique key, ``ON CONFLICT DO
NOTHING``) fires it, so however many workers run, a slot fires once. A ``per_tenant`` schedule
enqueues one outbox job per tenant (for a plugin: per tenant that enabled it), keyed by schedule
and slot, in the claim's transaction; those jobs retry like any other. A schedule that is not per
tenant runs its handler in the scheduler that claimed the slot, within its time limit; if it
fails, the next slot tries again.

**Core's periodic work** (:data:`SCHEDULES`): ``sweep`` every minute, ``housekeeping`` hourly.

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

Inserts are ``ON CONFLICT DO NOTHING`` and re-arming is a conditional update, so a sweep that
ran twice would still agree with itself. Housekeeping compacts ``account_change`` (the
statement's change log) without changing any account stamp, prunes old rate-limit hits and old
``schedule_run`` rows.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from recaudo.core import db
from recaudo.core.payments.expiry import expired_where
from recaudo.core.platform.host import get_host
from recaudo.core.platform.jobs import Job, Schedule
from recaudo.core.tables import AccountChange, OutboxJob, Payment, PaymentTransition, ProviderEvent
from recaudo.tenants.models import PluginSetting, ScheduleRun, Tenant
from recaudo.tenants.scoped import TenantScope, unscoped
from recaudo.workers.backoff import Backoff

log = logging.getLogger(__name__)

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


# --- core's schedules ---------------------------------------------------------------------------


def _now_of(payload: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(payload["now"])) if "now" in payload else datetime.now(UTC)


async def run_sweep(_ctx: None, payload: dict[str, Any]) -> None:
    """Every minute: provider checks and events, expired checkouts, waiting messages."""
    now = _now_of(payload)
    await sweep(now)
    await expire_abandoned_checkouts(now)
    await deliver_waiting_messages()


#: ``schedule_run`` rows are kept this long (long enough to see what fired, and when).
KEEP_RUNS = timedelta(days=2)


async def run_housekeeping(_ctx: None, payload: dict[str, Any]) -> None:
    """Hourly: fold busy statement change logs, prune rate-limit hits and old schedule slots."""
    from recaudo.core.common import ratelimit

    now = _now_of(payload)
    await compact_account_changes()
    await ratelimit.prune(int(now.timestamp() * 1000))
    await ScheduleRun.delete().where(ScheduleRun.slot < now - KEEP_RUNS)


JOBS = [
    Job("sweep", run_sweep, time_limit=timedelta(minutes=5)),
    Job("housekeeping", run_housekeeping, time_limit=timedelta(minutes=10)),
]
SCHEDULES = [
    Schedule("sweep", "sweep", every=timedelta(minutes=1), per_tenant=False),
    Schedule("housekeeping", "housekeeping", every=timedelta(hours=1), per_tenant=False),
]


# --- the scheduler ------------------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Planned:
    """A schedule with its job resolved, and the plugin that declared it (``None``: core)."""

    schedule: Schedule
    job: Job
    plugin: str | None


def all_schedules() -> list[Planned]:
    """Core's schedules and every installed plugin's, names qualified, jobs resolved."""
    from recaudo.workers import jobs

    planned: list[Planned] = []
    for module_name in jobs.CORE_MODULES:
        for schedule in getattr(importlib.import_module(module_name), "SCHEDULES", ()):
            job = jobs.core_jobs().get(schedule.job)
            if job is None:
                log.error("schedule %s names no job %r", schedule.name, schedule.job)
                continue
            planned.append(Planned(schedule, job, None))
    for plugin, schedule in get_host().provided("recaudo_schedules"):
        if not isinstance(schedule, Schedule):
            log.error("plugin %s: recaudo_schedules returned %r, not a Schedule", plugin, schedule)
            continue
        qualified = replace(
            schedule,
            name=jobs.qualified(plugin, schedule.name),
            job=jobs.qualified(plugin, schedule.job),
        )
        found = jobs.find(qualified.job)
        if found is None:
            log.error("plugin %s: schedule %s names no job %r", plugin, schedule.name, schedule.job)
            continue
        planned.append(Planned(qualified, found.job, plugin))
    return planned


def slot_of(now: datetime, every: timedelta) -> datetime:
    """The start of the slot ``now`` falls in: slots of ``every``, aligned to the epoch."""
    return EPOCH + ((now - EPOCH) // every) * every


async def claim(name: str, slot: datetime, now: datetime, claimed_by: str = "") -> bool:
    """Claim ``(name, slot)``; ``True`` for the one caller whose insert created the row."""
    row = ScheduleRun(
        slot_key=f"{name}@{slot.isoformat()}",
        schedule=name,
        slot=slot,
        claimed_at=now,
        claimed_by=claimed_by[:100],
    )
    inserted = (
        await ScheduleRun.insert(row).on_conflict(action="DO NOTHING").returning(ScheduleRun.id)
    )
    return bool(inserted)


async def _tenants_for(plugin: str | None) -> list[int]:
    if plugin is None:
        rows = await Tenant.select(Tenant.id).where(Tenant.status == "active")
        return [int(r["id"]) for r in rows]
    settings = unscoped(PluginSetting)
    rows = await settings.select(settings.tenant).where(
        (settings.plugin == plugin) & (settings.enabled == True)  # noqa: E712 - Piccolo
    )
    return sorted({int(r["tenant"]) for r in rows})


async def _fire_per_tenant(planned: Planned, slot: datetime, now: datetime) -> int:
    name = planned.schedule.name
    key = f"schedule:{name}@{slot.isoformat()}"
    payload = {"schedule": name, "slot": slot.isoformat()}
    queued = 0
    for tenant_id in await _tenants_for(planned.plugin):
        queued += await _add_job(TenantScope(tenant_id), planned.job.name, payload, key, now)
    return queued


async def _run_inline(planned: Planned, slot: datetime, now: datetime) -> None:
    payload = {"schedule": planned.schedule.name, "slot": slot.isoformat(), "now": now.isoformat()}
    limit = planned.job.time_limit.total_seconds()
    try:
        await asyncio.wait_for(planned.job.handler(None, payload), timeout=limit)
    except Exception as exc:
        log.error(
            "schedule %s (slot %s) failed: %s: %s; the next slot runs it again",
            planned.schedule.name,
            slot.isoformat(),
            type(exc).__name__,
            exc,
            exc_info=not isinstance(exc, TimeoutError),
        )


class Scheduler:
    """Fires each schedule's slots that this process wins. One per worker process."""

    def __init__(self, name: str = "") -> None:
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.seen: dict[str, datetime] = {}  # the last slot tried, per schedule

    async def tick(self, now: datetime | None = None) -> list[str]:
        """Try every schedule whose current slot this process has not tried; returns the names
        of those it fired."""
        now = now or datetime.now(UTC)
        fired: list[str] = []
        for planned in all_schedules():
            name = planned.schedule.name
            slot = slot_of(now, planned.schedule.every)
            if self.seen.get(name) == slot:
                continue
            if planned.schedule.per_tenant:
                async with db.transaction():  # the claim and its jobs commit together
                    won = await claim(name, slot, now, self.name)
                    if won:
                        await _fire_per_tenant(planned, slot, now)
            else:
                won = await claim(name, slot, now, self.name)
                if won:
                    await _run_inline(planned, slot, now)
            self.seen[name] = slot
            if won:
                fired.append(name)
        return fired


Clock = Callable[[], datetime]
TICK_S = 1.0
MAX_BACKOFF_S = 60.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


async def schedule_forever(
    stop: asyncio.Event,
    interval: float = TICK_S,
    *,
    scheduler: Scheduler | None = None,
    clock: Clock = _utcnow,
    sleep: Callable[[asyncio.Event, float], Awaitable[None]] = _wait,
) -> None:
    """Tick until ``stop`` is set, backing off while the database is unreachable."""
    scheduler = scheduler or Scheduler()
    backoff = Backoff(first=max(interval, 1.0), cap=MAX_BACKOFF_S)
    while not stop.is_set():
        wait = interval
        try:
            await scheduler.tick(clock())
            if backoff.succeed():
                log.warning("scheduler: working again")
        except Exception as exc:
            wait = backoff.fail()
            log.error(
                "scheduler pass failed (%s: %s); next try in %.0f s",
                type(exc).__name__,
                exc,
                wait,
                exc_info=backoff.failures == 1,
            )
        await sleep(stop, wait)
