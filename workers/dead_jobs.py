"""Jobs that failed for good, or keep failing: shown to staff, fatal to ``recaudo check``.

A job is *dead* when its retry policy gave up (status ``failed``); it is *stuck* when it is still
retrying after a day's worth of attempts (provider events never give up, so this is how a broken
one becomes visible). Staff see their own tenant's (through :class:`TenantScope`); ``recaudo
check`` sees every tenant's. An owner can retry one or all (the job gets a fresh retry window)
or discard them (status ``discarded``: nothing runs or re-arms them again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from recaudo.core.common import audit
from recaudo.core.common.jsonfield import loads
from recaudo.core.platform.jobs import RetryPolicy
from recaudo.core.tables import OutboxJob
from recaudo.tenants.scoped import TenantScope, unscoped

STUCK_AFTER = timedelta(days=1)
#: Attempts that add up to :data:`STUCK_AFTER` with the default backoff (≈ 33).
STUCK_ATTEMPTS: int = RetryPolicy(give_up_after=STUCK_AFTER).max_attempts or 1
LIVE = ("pending", "sent", "running")

#: What each job kind does, in the staff's words (Spanish source strings, translated by pages).
KINDS = {
    "process_provider_event": "Aplicar un aviso del proveedor de pagos",
    "reconcile_payment": "Consultar el estado de un pago con el proveedor",
    "payment_event": "Avisar a los plugins de un cambio en un pago",
    "invoice_event": "Avisar a los plugins de un cambio en una factura",
    "tell_customer": "Avisar al cliente de una decisión",
    "plugin_event": "Avisar a un plugin de un cambio",
}


@dataclass(frozen=True)
class FailedJob:
    id: int
    tenant: int
    actor: str
    what: str
    subject: str  # e.g. "pago 12", "aviso 7"
    dead: bool  # gave up (else: still retrying, stuck)
    attempts: int
    error: str
    created_at: datetime


def _subject(payload: dict[str, Any]) -> str:
    for key, label in (
        ("payment_id", "pago"),
        ("event_id", "aviso"),
        ("invoice_id", "factura"),
        ("id", "registro"),
    ):
        if key in payload:
            return f"{label} {payload[key]}"
    if "plugin" in payload:  # a plugin's event job: the plugin, and what the event was about
        return f"{payload['plugin']} {_subject(payload.get('event') or {})}".strip()
    return ""


def _failing(table: type[OutboxJob]) -> Any:
    return (table.status == "failed") | (
        table.status.is_in(list(LIVE)) & (table.attempts >= STUCK_ATTEMPTS)
    )


def _row(row: dict[str, Any]) -> FailedJob:
    return FailedJob(
        id=int(row["id"]),
        tenant=int(row["tenant"]),
        actor=str(row["actor"]),
        what=KINDS.get(str(row["actor"]), str(row["actor"])),
        subject=_subject(loads(row["payload"], {})),
        dead=row["status"] == "failed",
        attempts=int(row["attempts"]),
        error=str(row["last_error"] or "")[:300],
        created_at=row["created_at"],
    )


COLUMNS = (
    OutboxJob.id,
    OutboxJob.tenant,
    OutboxJob.actor,
    OutboxJob.payload,
    OutboxJob.status,
    OutboxJob.attempts,
    OutboxJob.last_error,
    OutboxJob.created_at,
)


async def tenant_failed_count(scope: TenantScope) -> int:
    """How many of this tenant's jobs are dead or stuck (the inbox notice)."""
    return await scope.count(OutboxJob).where(_failing(OutboxJob))


async def tenant_failed_jobs(scope: TenantScope, limit: int = 50) -> tuple[int, list[FailedJob]]:
    """How many of this tenant's jobs are dead or stuck, and the oldest ``limit`` of them."""
    count = await tenant_failed_count(scope)
    if not count:
        return 0, []
    rows = (
        await scope.select(OutboxJob, *COLUMNS)
        .where(_failing(OutboxJob))
        .order_by(OutboxJob.id)
        .limit(limit)
    )
    return count, [_row(r) for r in rows]


async def all_failed_jobs(limit: int = 50) -> tuple[int, list[FailedJob]]:
    """Every tenant's dead or stuck jobs (platform check)."""
    table = unscoped(OutboxJob)
    count = await table.count().where(_failing(table))
    rows = await table.select(*COLUMNS).where(_failing(table)).order_by(table.id).limit(limit)
    return count, [_row(r) for r in rows]


async def retry(
    scope: TenantScope, actor: str, job_id: int | None = None, now: datetime | None = None
) -> int:
    """Queue this tenant's failing job (or all of them) again now; returns how many."""
    values = {
        OutboxJob.status: "pending",
        OutboxJob.attempts: 0,
        OutboxJob.available_at: now or datetime.now(UTC),
        OutboxJob.last_error: "",
    }
    return await _decide(scope, actor, job_id, "job.retry", values)


async def discard(scope: TenantScope, actor: str, job_id: int | None = None) -> int:
    """Stop this tenant's failing job (or all of them) for good: staff decided it is moot (e.g.
    an old message nobody should get now). Nothing re-arms a discarded job."""
    return await _decide(scope, actor, job_id, "job.discard", {OutboxJob.status: "discarded"})


async def _decide(
    scope: TenantScope, actor: str, job_id: int | None, action: str, values: dict[Any, Any]
) -> int:
    where = _failing(OutboxJob)
    if job_id is not None:
        where = where & (OutboxJob.id == job_id)
    rows = await scope.update(OutboxJob, values).where(where).returning(OutboxJob.id)
    if rows:
        ids = [int(r["id"]) for r in rows]
        await audit.record(scope, actor, action, f"outbox_job:{job_id or 'all'}", ids=ids)
    return len(rows)


def report(echo: Callable[[str], None]) -> int:
    """For ``recaudo check`` (database already configured): print dead or stuck jobs, return
    how many there are (0 when there are none or the database cannot be read)."""
    import asyncio

    try:
        count, jobs = asyncio.run(all_failed_jobs(limit=20))
    except Exception as exc:  # the database line above already reported it
        echo(f"jobs:     not checked ({type(exc).__name__})")
        return 0
    if not count:
        echo("jobs:     ok (none failed)")
        return 0
    echo(f"jobs:     ERROR {count} failed (dead, or failing for over a day)")
    for job in jobs:
        state = "dead" if job.dead else f"retrying, {job.attempts} attempts"
        echo(f"  #{job.id} tenant {job.tenant} {job.actor} {job.subject} ({state}): {job.error}")
    if count > len(jobs):
        echo(f"  … and {count - len(jobs)} more")
    return count
