"""The outbox relay: hands committed jobs to the broker and re-sends the ones that got lost.

It only relays: periodic work belongs to the scheduler (:mod:`recaudo.workers.scheduler`).

A job is ``pending`` until the relay marks it ``sent`` (conditionally, so several relays can run);
a job ``sent`` or ``running`` for longer than :data:`STALE_AFTER` is assumed lost (broker message
dropped, worker crashed) and goes back to ``pending``.

When the broker refuses a job the pass stops at once (the job goes back to ``pending``) and
:func:`relay_forever` backs off exponentially up to :data:`MAX_BACKOFF_S`, logging one line per
step instead of one per job per pass, and says so once when the broker answers again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from recaudo.core.tables import OutboxJob
from recaudo.tenants.scoped import unscoped
from recaudo.workers.backoff import Backoff

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=5)
BATCH = 100
MAX_BACKOFF_S = 60.0

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class BrokerUnavailable(Exception):
    """The broker refused a job; the relay should wait before trying again."""


async def requeue_stale(stale_after: timedelta = STALE_AFTER, now: datetime | None = None) -> int:
    table = unscoped(OutboxJob)
    cutoff = (now or _utcnow()) - stale_after
    rows = (
        await table.update({table.status: "pending"})
        .where(table.status.is_in(["sent", "running"]) & (table.sent_at < cutoff))
        .returning(table.id)
    )
    if rows:
        log.warning("re-queued %d outbox jobs that were sent but never finished", len(rows))
    return len(rows)


#: ``send(job_id, job_name)`` hands one job to the broker (the name picks the actor and queue).
Send = Callable[[int, str], None]


async def relay_once(
    send: Send,
    stale_after: timedelta = STALE_AFTER,
    now: datetime | None = None,
) -> int:
    """Send every due pending job once; returns how many were sent.

    Raises :class:`BrokerUnavailable` at the first job the broker refuses (that job, and the
    rest, stay ``pending``).
    """
    now = now or _utcnow()
    await requeue_stale(stale_after, now)
    table = unscoped(OutboxJob)
    due = (
        await table.select(table.id, table.actor)
        .where((table.status == "pending") & (table.available_at <= now))
        .order_by(table.id)
        .limit(BATCH)
    )
    sent = 0
    for row in due:
        claimed = (
            await table.update({table.status: "sent", table.sent_at: now})
            .where((table.id == row["id"]) & (table.status == "pending"))
            .returning(table.id)
        )
        if not claimed:
            continue  # another relay took it
        try:
            send(int(row["id"]), str(row["actor"]))
        except Exception as exc:
            await table.update({table.status: "pending"}).where(table.id == row["id"])
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        sent += 1
    return sent


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


async def relay_forever(
    send: Send,
    interval: float = 0.5,
    stop: asyncio.Event | None = None,
    *,
    clock: Clock = _utcnow,
    sleep: Callable[[asyncio.Event, float], Awaitable[None]] = _wait,
) -> None:
    """Relay until ``stop`` is set; ``clock`` and ``sleep`` are injectable for tests."""
    stop = stop or asyncio.Event()
    backoff = Backoff(first=max(interval, 1.0), cap=MAX_BACKOFF_S)
    while not stop.is_set():
        wait = interval
        try:
            await relay_once(send, now=clock())
            if backoff.succeed():
                log.warning("outbox relay: working again; resumed sending jobs")
        except BrokerUnavailable as exc:
            wait = backoff.fail()
            log.error("outbox relay: broker unreachable (%s); next try in %.0f s", exc, wait)
        except Exception as exc:
            wait = backoff.fail()
            log.error(
                "outbox relay pass failed (%s: %s); next try in %.0f s",
                type(exc).__name__,
                exc,
                wait,
                exc_info=backoff.failures == 1,
            )
        await sleep(stop, wait)
