"""``recaudo worker``: a dramatiq worker plus the outbox relay, in one process.

Run as many as you like against a shared Redis or RabbitMQ and database: relays claim jobs with
conditional updates, and job handlers are idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from recaudo.core import db
from recaudo.core.config import Settings, activate
from recaudo.core.platform.host import get_host
from recaudo.workers.broker import Runtime

log = logging.getLogger(__name__)


def run_worker(settings: Settings, threads: int = 4) -> None:
    activate(settings)
    db.configure(settings.database_url)
    get_host().hook.recaudo_startup(settings=settings)

    async def main() -> None:
        await db.start_pool()
        runtime = Runtime(settings.broker_url)
        runtime.start_worker(threads=threads)
        runtime.start_relay()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("worker running (%d threads) on %s", threads, settings.broker_url.split("@")[-1])
        await stop.wait()
        await runtime.stop()
        await db.close_pool()

    asyncio.run(main())
