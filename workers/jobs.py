"""The job registry and running one outbox job: claim, run the handler, mark done or retry.

Every kind of job is a :class:`~recaudo.core.platform.jobs.Job`: core modules list theirs in a
``JOBS`` list next to the handlers (:data:`CORE_MODULES`), plugins return theirs from the
``recaudo_jobs`` hook and are named ``"<plugin>.<job>"``. A plugin's job runs only for a tenant
that enabled the plugin, with ``await plugin_context(tenant_id, plugin)`` as its first argument;
a core job gets the tenant's :class:`TenantScope`.

A job row is claimed with a conditional update, so two deliveries of the same broker message (or
a re-sent one) run the handler once at a time; handlers are still written to be idempotent
because a crash between the handler's commit and ``done`` re-runs it.

This module is the one retry mechanism: a run that raises or outlives the job's ``time_limit``
is a failed attempt, and the job's :class:`RetryPolicy` says when to try again (exponential
backoff up to a cap, for days) or that it is dead (``failed``: staff see it and ``recaudo
check`` fails until someone retries it, ``workers/dead_jobs.py``). Dramatiq never retries.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from recaudo.core.common.jsonfield import loads
from recaudo.core.platform.host import get_host
from recaudo.core.platform.jobs import Job, RetryPolicy
from recaudo.core.tables import OutboxJob
from recaudo.tenants.plugin_config import enabled_plugins
from recaudo.tenants.scoped import TenantScope, unscoped
from recaudo.workers.plugin_context import plugin_context

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_POLICY", "Job", "RetryPolicy", "all_jobs", "find", "register", "run_job"]

DEFAULT_POLICY = RetryPolicy()

#: Modules whose ``JOBS`` list declares core job kinds.
CORE_MODULES = (
    "recaudo.workers.handlers",
    "recaudo.workers.customer_news",
    "recaudo.workers.events",
    "recaudo.workers.scheduler",
    "recaudo.workers.recurring",
    "recaudo.workers.webhooks",
    "recaudo.workers.import_runs",
    "recaudo.workers.autopay",
    "recaudo.workers.promises",
    "recaudo.workers.dunning",
    "recaudo.workers.reconciliation",
    "recaudo.workers.customer_messages",
    "recaudo.workers.einvoicing",
)

#: The id of the outbox job being run (handlers use it to key the jobs they fan out).
CURRENT_JOB: ContextVar[int | None] = ContextVar("recaudo_current_job", default=None)

_core: dict[str, Job] | None = None
_registered: dict[str, Job] = {}


@dataclass(frozen=True)
class Found:
    job: Job
    plugin: str | None  # the plugin that declared it; None for core


def register(job: Job) -> Job:
    """Register a job kind outside the core modules and plugins (tests and embedders)."""
    _registered[job.name] = job
    return job


def core_jobs() -> dict[str, Job]:
    """Core job kinds by name (imported once), plus those given to :func:`register`."""
    global _core
    if _core is None:
        found: dict[str, Job] = {}
        for module_name in CORE_MODULES:
            for job in getattr(importlib.import_module(module_name), "JOBS", ()):
                found[job.name] = job
        _core = found
    return {**_core, **_registered}


def qualified(plugin: str, name: str) -> str:
    """A plugin's job or schedule name, prefixed with the plugin's (once)."""
    return name if name.startswith(plugin + ".") else f"{plugin}.{name}"


def plugin_jobs() -> dict[str, Found]:
    """Every installed plugin's job kinds by qualified name."""
    found: dict[str, Found] = {}
    for plugin, job in get_host().provided("recaudo_jobs"):
        if not isinstance(job, Job):
            log.error("plugin %s: recaudo_jobs returned %r, not a Job", plugin, job)
            continue
        name = qualified(plugin, job.name)
        found[name] = Found(replace(job, name=name), plugin)
    return found


def all_jobs() -> dict[str, Job]:
    """Every job kind, core and plugin, by name (the broker declares one actor each)."""
    return {**{n: f.job for n, f in plugin_jobs().items()}, **core_jobs()}


def find(name: str) -> Found | None:
    job = core_jobs().get(name)
    if job is not None:
        return Found(job, None)
    if "." in name:
        return plugin_jobs().get(name)
    return None


def policy_for(actor: str) -> RetryPolicy:
    found = find(actor)
    return found.job.retry if found else DEFAULT_POLICY


def backoff(attempts: int) -> timedelta:
    """The default policy's wait after ``attempts`` failures (kept for callers and tests)."""
    return DEFAULT_POLICY.delay(attempts)


async def _run_handler(found: Found, tenant_id: int, payload: dict[str, Any]) -> bool:
    """Run the handler within its time limit; ``False`` when a plugin job is not for this tenant."""
    ctx: Any = TenantScope(tenant_id)
    if found.plugin is not None:
        if found.plugin not in await enabled_plugins(ctx):
            return False
        ctx = await plugin_context(tenant_id, found.plugin)
    limit = found.job.time_limit.total_seconds()
    try:
        await asyncio.wait_for(found.job.handler(ctx, payload), timeout=limit)
    except TimeoutError as exc:
        raise TimeoutError(f"{found.job.name} took longer than its limit of {limit:g} s") from exc
    return True


async def run_job(job_id: int, now: datetime | None = None) -> str:
    """Run one outbox job; returns its resulting status: done, pending, failed or skipped.

    ``now`` is the clock (tests pass a simulated one); it stamps the claim, the retry time and
    the finish.
    """
    table = unscoped(OutboxJob)
    started = now or datetime.now(UTC)
    claimed = (
        await table.update(
            {table.status: "running", table.sent_at: started, table.attempts: table.attempts + 1}
        )
        .where((table.id == job_id) & (table.status.is_in(["pending", "sent"])))
        .returning(table.id, table.tenant, table.actor, table.payload, table.attempts)
    )
    if not claimed:
        return "skipped"
    row = claimed[0]
    found = find(row["actor"])
    payload = loads(row["payload"], {})
    token = CURRENT_JOB.set(job_id)
    note = ""
    try:
        if found is None:
            raise LookupError(f"no handler registered for {row['actor']!r}")
        if not await _run_handler(found, int(row["tenant"]), payload):
            note = f"not run: plugin {found.plugin} is not enabled for this tenant"
    except Exception as exc:
        attempts = int(row["attempts"])
        policy = found.job.retry if found else DEFAULT_POLICY
        limit = policy.max_attempts
        final = limit is not None and attempts >= limit
        # One line per failure, traceback only on the first: an outage of days must not flood
        # the log with identical stacks.
        log.log(
            logging.ERROR if final or attempts == 1 else logging.WARNING,
            "outbox job %s (%s) failed, attempt %s%s: %s",
            job_id,
            row["actor"],
            attempts,
            "; giving up" if final else "",
            exc,
            exc_info=attempts == 1,
        )
        await table.update(
            {
                table.status: "failed" if final else "pending",
                table.available_at: (now or datetime.now(UTC)) + policy.delay(attempts),
                table.last_error: f"{type(exc).__name__}: {exc}"[:2000],
            }
        ).where(table.id == job_id)
        return "failed" if final else "pending"
    finally:
        CURRENT_JOB.reset(token)
    await table.update(
        {table.status: "done", table.done_at: now or datetime.now(UTC), table.last_error: note}
    ).where(table.id == job_id)
    return "done"
