"""Running outbox jobs: claim, run the handler, mark done or schedule a retry.

Handlers are plain async functions registered by name. A job row is claimed with a conditional
update, so two deliveries of the same broker message (or a re-sent one) run the handler once at
a time; handlers are still written to be idempotent because a crash between the handler's commit
and ``done`` re-runs it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from recaudo.core.jsonfield import loads
from recaudo.core.tables import OutboxJob
from recaudo.tenants.scoped import TenantScope, unscoped

log = logging.getLogger(__name__)

Handler = Callable[[TenantScope, dict[str, Any]], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}
MAX_ATTEMPTS = 8


def job(name: str) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the handler for outbox jobs whose actor is ``name``."""

    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return register


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


def load_handlers() -> None:
    """Import the built-in handlers so they register (idempotent)."""
    from recaudo.workers import customer_news, handlers  # noqa: F401


async def run_job(job_id: int) -> str:
    """Run one outbox job; returns its resulting status: done, pending, failed or skipped."""
    load_handlers()
    table = unscoped(OutboxJob)
    now = datetime.now(UTC)
    claimed = (
        await table.update(
            {table.status: "running", table.sent_at: now, table.attempts: table.attempts + 1}
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
        final = attempts >= MAX_ATTEMPTS
        log.exception("outbox job %s (%s) failed, attempt %s", job_id, row["actor"], attempts)
        await table.update(
            {
                table.status: "failed" if final else "pending",
                table.available_at: datetime.now(UTC) + backoff(attempts),
                table.last_error: f"{type(exc).__name__}: {exc}"[:2000],
            }
        ).where(table.id == job_id)
        return "failed" if final else "pending"
    await table.update({table.status: "done", table.done_at: datetime.now(UTC)}).where(
        table.id == job_id
    )
    return "done"
