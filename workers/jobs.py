"""Running outbox jobs: claim, run the handler, mark done or schedule a retry.

Handlers are plain async functions registered by name. A job row is claimed with a conditional
update, so two deliveries of the same broker message (or a re-sent one) run the handler once at
a time; handlers are still written to be idempotent because a crash between the handler's commit
and ``done`` re-runs it.

Each job kind has a :class:`RetryPolicy`. Failures back off exponentially up to a cap (1 h) and
keep retrying for days, so a provider or SMTP outage of hours delays work instead of losing it.
Provider events never give up: a refund Mercado Pago reported must reach the ledger however long
its API is down. A job that does give up is ``failed`` ("dead"): staff see it in their inbox and
``recaudo check`` fails until someone retries it (``workers/dead_jobs.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from recaudo.core.common.jsonfield import loads
from recaudo.core.tables import OutboxJob
from recaudo.tenants.scoped import TenantScope, unscoped

log = logging.getLogger(__name__)

Handler = Callable[[TenantScope, dict[str, Any]], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff from ``first`` doubling up to ``cap``; gives up once the waits add up
    to ``give_up_after`` (``None``: never). Counted in attempts, so time the worker was down does
    not use up the window: "at least this long" holds whatever the clock did."""

    first: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(hours=1)
    give_up_after: timedelta | None = timedelta(days=3)

    def delay(self, attempts: int) -> timedelta:
        """Wait before the next try after ``attempts`` failed ones."""
        exponent = min(max(0, attempts - 1), 30)
        return min(self.cap, self.first * 2**exponent)

    @property
    def max_attempts(self) -> int | None:
        """Attempts after which the job is dead: the first whose waits reach ``give_up_after``."""
        if self.give_up_after is None:
            return None
        waited, attempts = timedelta(0), 0
        while waited < self.give_up_after:
            attempts += 1
            waited += self.delay(attempts)
        return attempts


DEFAULT_POLICY = RetryPolicy()
POLICIES: dict[str, RetryPolicy] = {}


def job(name: str, retry: RetryPolicy = DEFAULT_POLICY) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the handler for outbox jobs whose actor is ``name``."""

    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        POLICIES[name] = retry
        return fn

    return register


def policy_for(actor: str) -> RetryPolicy:
    return POLICIES.get(actor, DEFAULT_POLICY)


def backoff(attempts: int) -> timedelta:
    """The default policy's wait after ``attempts`` failures (kept for callers and tests)."""
    return DEFAULT_POLICY.delay(attempts)


def load_handlers() -> None:
    """Import the built-in handlers so they register (idempotent)."""
    from recaudo.workers import customer_news, handlers  # noqa: F401


async def run_job(job_id: int, now: datetime | None = None) -> str:
    """Run one outbox job; returns its resulting status: done, pending, failed or skipped.

    ``now`` is the clock (tests pass a simulated one); it stamps the claim, the retry time and
    the finish.
    """
    load_handlers()
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
    handler = HANDLERS.get(row["actor"])
    payload = loads(row["payload"], {})
    try:
        if handler is None:
            raise LookupError(f"no handler registered for {row['actor']!r}")
        await handler(TenantScope(int(row["tenant"])), payload)
    except Exception as exc:
        attempts = int(row["attempts"])
        policy = policy_for(row["actor"])
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
    await table.update({table.status: "done", table.done_at: now or datetime.now(UTC)}).where(
        table.id == job_id
    )
    return "done"
