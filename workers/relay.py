"""The outbox relay: hands committed jobs to the broker and re-sends the ones that got lost.

A job is ``pending`` until the relay marks it ``sent`` (conditionally, so several relays can run);
a job ``sent`` or ``running`` for longer than :data:`STALE_AFTER` is assumed lost (broker message
dropped, worker crashed) and goes back to ``pending``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from recaudo.core.tables import OutboxJob
from recaudo.tenants.scoped import unscoped

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=5)
BATCH = 100


async def requeue_stale(stale_after: timedelta = STALE_AFTER) -> int:
    table = unscoped(OutboxJob)
    cutoff = datetime.now(UTC) - stale_after
    rows = (
        await table.update({table.status: "pending"})
        .where(table.status.is_in(["sent", "running"]) & (table.sent_at < cutoff))
        .returning(table.id)
    )
    if rows:
        log.warning("re-queued %d outbox jobs that were sent but never finished", len(rows))
    return len(rows)


async def relay_once(send: Callable[[int], None], stale_after: timedelta = STALE_AFTER) -> int:
    """Send every due pending job once; returns how many were sent."""
    await requeue_stale(stale_after)
    table = unscoped(OutboxJob)
    due = (
        await table.select(table.id)
        .where((table.status == "pending") & (table.available_at <= datetime.now(UTC)))
        .order_by(table.id)
        .limit(BATCH)
    )
    sent = 0
    for row in due:
        claimed = (
            await table.update({table.status: "sent", table.sent_at: datetime.now(UTC)})
            .where((table.id == row["id"]) & (table.status == "pending"))
            .returning(table.id)
        )
        if not claimed:
            continue  # another relay took it
        try:
            send(int(row["id"]))
        except Exception:
            log.exception("broker refused outbox job %s; it will be re-sent", row["id"])
            await table.update({table.status: "pending"}).where(table.id == row["id"])
            continue
        sent += 1
    return sent


SWEEP_EVERY = timedelta(minutes=1)
COMPACT_EVERY = timedelta(hours=1)


async def relay_forever(
    send: Callable[[int], None], interval: float = 0.5, stop: asyncio.Event | None = None
) -> None:
    from recaudo.workers.scheduler import compact_account_changes, sweep_pending_payments

    stop = stop or asyncio.Event()
    next_sweep = next_compaction = datetime.now(UTC)
    while not stop.is_set():
        try:
            if datetime.now(UTC) >= next_sweep:
                next_sweep = datetime.now(UTC) + SWEEP_EVERY
                await sweep_pending_payments()
            if datetime.now(UTC) >= next_compaction:
                next_compaction = datetime.now(UTC) + COMPACT_EVERY
                await compact_account_changes()
            await relay_once(send)
        except Exception:
            log.exception("outbox relay pass failed; retrying")
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
