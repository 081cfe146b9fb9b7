"""The dramatiq broker chosen by ``RECAUDO_BROKER_URL`` and the one actor that runs outbox jobs.

``embedded`` uses dramatiq's in-memory broker with a worker inside the web process, so ``make run``
needs no Redis; ``redis://`` and ``amqp://`` let several web and worker processes share work.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name

from recaudo.workers import jobs
from recaudo.workers.backoff import OncePerStep

log = logging.getLogger(__name__)

QUEUE = "recaudo"
CONNECT_TIMEOUT_S = 5


def make_broker(url: str) -> dramatiq.Broker:
    broker: dramatiq.Broker
    if url == "embedded":
        broker = StubBroker()
    elif url.startswith(("redis://", "rediss://")):
        import redis
        from dramatiq.brokers.redis import RedisBroker

        # An unreachable host must fail fast: the relay sends from the event loop.
        pool = redis.ConnectionPool.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S)
        broker = RedisBroker(connection_pool=pool)
    elif url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url)
    else:
        raise ValueError(f"unsupported broker URL {url!r}")
    return broker


JOB_TIMEOUT_S = 180


class Runtime:
    """A broker plus its ``run_outbox_job`` actor, and optionally a worker in this process.

    Dramatiq runs actors in worker threads; the job coroutines themselves run on the process's
    main event loop, which owns the database connection pool (asyncpg pools belong to one loop).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.broker = make_broker(url)
        dramatiq.set_broker(self.broker)
        self.loop: asyncio.AbstractEventLoop | None = None

        def run_outbox_job(job_id: int) -> None:
            if self.loop is None or not self.loop.is_running():
                asyncio.run(jobs.run_job(job_id))
                return
            future = asyncio.run_coroutine_threadsafe(jobs.run_job(job_id), self.loop)
            future.result(timeout=JOB_TIMEOUT_S)

        # The outbox retries with backoff itself, so dramatiq must not retry on top of it.
        self.actor: Any = dramatiq.actor(broker=self.broker, queue_name=QUEUE, max_retries=0)(
            run_outbox_job
        )
        self.worker: dramatiq.Worker | None = None
        self._relay_task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def send(self, job_id: int) -> None:
        self.actor.send(job_id)

    def start_worker(self, threads: int = 2) -> None:
        try:
            self.loop = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None
        self.worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=200)
        quiet_consumer_outages()
        self.worker.start()

    def start_relay(self, interval: float = 0.5) -> None:
        from recaudo.workers.relay import relay_forever

        self._stop = asyncio.Event()
        self._relay_task = asyncio.create_task(relay_forever(self.send, interval, self._stop))

    async def stop(self) -> None:
        self._stop.set()
        if self._relay_task is not None:
            await self._relay_task
            self._relay_task = None
        if self.worker is not None:
            # Worker threads may be waiting on jobs scheduled on this loop: stop them from a
            # thread so the loop keeps turning until they finish.
            await asyncio.to_thread(self.worker.stop, 5000)
            self.worker = None
        self.broker.close()


#: dramatiq's consumer threads (one per queue, ``ConsumerThread(<queue>)``) log two lines every
#: 3 s while the broker is unreachable.
CONSUMER_LOGGER = "dramatiq.worker.ConsumerThread"
CONSUMER_OUTAGE_LINES = ("Consumer encountered a connection error", "Restarting consumer")


def quiet_consumer_outages(queues: tuple[str, ...] = (QUEUE, dq_name(QUEUE))) -> None:
    """Let dramatiq's consumer outage lines through once per backoff step (idempotent)."""
    for queue in queues:
        logger = logging.getLogger(f"{CONSUMER_LOGGER}({queue})")
        if not any(isinstance(f, OncePerStep) for f in logger.filters):
            logger.addFilter(OncePerStep(CONSUMER_OUTAGE_LINES, first=3.0, cap=60.0))


def check_broker(url: str) -> None:
    """Raise if the broker cannot be reached (``recaudo check``)."""
    if url == "embedded":
        return
    if url.startswith(("redis://", "rediss://")):
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
        return
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    connection.close()
