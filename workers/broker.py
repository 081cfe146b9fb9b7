"""The dramatiq broker chosen by ``RECAUDO_BROKER_URL``, with one actor per job kind.

Each job kind (:class:`~recaudo.core.platform.jobs.Job`) is an actor named after it on its queue
(``recaudo.payments``, ``recaudo.messages``, ``recaudo.events``, ``recaudo.default``…); a worker
consumes all queues or the ones it is given (``recaudo worker --queues messages,events``).

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

from recaudo.core.platform.jobs import QUEUES
from recaudo.workers import jobs
from recaudo.workers.backoff import OncePerStep

log = logging.getLogger(__name__)

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

#: Every dramatiq queue is named ``recaudo.<queue>``, so Recaudo can share a broker.
QUEUE_PREFIX = "recaudo."
#: The actor for a job whose kind this process does not know (an uninstalled plugin's): the
#: job runs, fails with "no handler" and retries per the default policy, as before.
FALLBACK_ACTOR = "run_outbox_job"
#: How long dramatiq lets an actor run beyond the job's own time limit (which ``run_job``
#: enforces, counting a failed attempt), before giving up waiting on it.
GRACE_S = 30


def queue_name(queue: str) -> str:
    return QUEUE_PREFIX + queue


def parse_queues(text: str | None) -> tuple[str, ...] | None:
    """``"messages,events"`` -> the queues to consume; ``None``/empty: all of them.

    Raises ``ValueError`` naming an unknown queue.
    """
    if not text:
        return None
    wanted = tuple(dict.fromkeys(q.strip() for q in text.split(",") if q.strip()))
    unknown = [q for q in wanted if q not in QUEUES]
    if unknown:
        raise ValueError(f"unknown queue(s) {', '.join(unknown)}; known: {', '.join(QUEUES)}")
    return wanted or None


class Runtime:
    """A broker with one actor per job kind (on the job's queue), optionally a worker consuming
    some or all queues, the relay and the scheduler.

    Dramatiq runs actors in worker threads; the job coroutines themselves run on the process's
    main event loop, which owns the database connection pool (asyncpg pools belong to one loop).
    Dramatiq's retries are off (``max_retries=0``): the outbox row holds the attempts and
    :func:`recaudo.workers.jobs.run_job` applies the job's retry policy.
    """

    def __init__(self, url: str, queues: tuple[str, ...] | None = None) -> None:
        self.url = url
        self.queues = queues or QUEUES
        self.broker = make_broker(url)
        dramatiq.set_broker(self.broker)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.actors: dict[str, Any] = {}
        for queue in QUEUES:  # even one no job uses yet: ``--queues einvoicing`` still listens
            self.broker.declare_queue(queue_name(queue))
        for job in jobs.all_jobs().values():
            self._declare(job.name, job.queue, job.time_limit.total_seconds())
        self._declare(FALLBACK_ACTOR, "default", JOB_TIMEOUT_S)
        self.worker: dramatiq.Worker | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()

    def _declare(self, name: str, queue: str, limit_s: float) -> None:
        wait_s = limit_s + GRACE_S

        def run_outbox_job(job_id: int) -> None:
            if self.loop is None or not self.loop.is_running():
                asyncio.run(jobs.run_job(job_id))
                return
            future = asyncio.run_coroutine_threadsafe(jobs.run_job(job_id), self.loop)
            future.result(timeout=wait_s)

        self.actors[name] = dramatiq.actor(
            broker=self.broker,
            actor_name=name,
            queue_name=queue_name(queue),
            max_retries=0,
            time_limit=int((wait_s + GRACE_S) * 1000),
        )(run_outbox_job)

    def send(self, job_id: int, job: str = FALLBACK_ACTOR) -> None:
        """Hand outbox job ``job_id`` (of kind ``job``) to its actor's queue."""
        actor = self.actors.get(job)
        if actor is None:  # a kind declared after start-up (a plugin loaded late)
            found = jobs.find(job)
            if found is not None:
                self._declare(job, found.job.queue, found.job.time_limit.total_seconds())
            actor = self.actors.get(job, self.actors[FALLBACK_ACTOR])
        actor.send(job_id)

    def start_worker(self, threads: int = 2) -> None:
        """Consume this runtime's queues (all, unless it was given some)."""
        try:
            self.loop = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None
        consumed = {queue_name(q) for q in self.queues}
        self.worker = dramatiq.Worker(
            self.broker, queues=consumed, worker_threads=threads, worker_timeout=200
        )
        quiet_consumer_outages(tuple(sorted(consumed)))
        self.worker.start()

    def start_relay(self, interval: float = 0.5) -> None:
        from recaudo.workers.relay import relay_forever

        self._tasks.append(asyncio.create_task(relay_forever(self.send, interval, self._stop)))

    def start_scheduler(self, interval: float = 1.0) -> None:
        from recaudo.workers.scheduler import schedule_forever

        self._tasks.append(asyncio.create_task(schedule_forever(self._stop, interval)))

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            await task
        self._tasks = []
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


def quiet_consumer_outages(queues: tuple[str, ...]) -> None:
    """Let dramatiq's consumer outage lines through once per backoff step (idempotent)."""
    for queue in (name for q in queues for name in (q, dq_name(q))):
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
