"""``recaudo worker``: a dramatiq worker, the outbox relay and the scheduler, in one process.

Run as many as you like against a shared Redis or RabbitMQ and database: relays claim jobs with
conditional updates, schedulers claim each schedule slot once, and job handlers are idempotent.
``queues`` limits which queues this worker consumes (all by default); every worker relays and
schedules jobs for all of them.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from recaudo.core import db
from recaudo.core.config import Settings, activate
from recaudo.core.platform import guard
from recaudo.core.platform.host import get_host
from recaudo.workers.broker import Runtime

log = logging.getLogger(__name__)


def run_worker(settings: Settings, threads: int = 4, queues: tuple[str, ...] | None = None) -> None:
    activate(settings)
    db.configure(settings.database_url)
    get_host().results("recaudo_startup", settings=settings)

    async def main() -> None:
        await db.start_pool()
        await guard.try_flush()  # a plugin's failed start-up, for staff to see
        runtime = Runtime(settings.broker_url, queues)
        runtime.start_worker(threads=threads)
        runtime.start_relay()
        runtime.start_scheduler()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info(
            "worker running (%d threads, queues %s) on %s",
            threads,
            ",".join(runtime.queues),
            settings.broker_url.split("@")[-1],
        )
        await stop.wait()
        await runtime.stop()
        await db.close_pool()

    asyncio.run(main())
