"""While the broker is unreachable the relay backs off and logs once per step, then resumes.

Issue 8 item 7: during a Redis outage the worker logged ~37 errors a second (one per pending job
per relay pass, every half second). Time is simulated: ``relay_forever`` takes a clock and a
sleep function, so ten minutes of outage run instantly.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import UTC, datetime, timedelta

import pytest

from recaudo.core.common import outbox
from recaudo.core.tables import OutboxJob
from recaudo.tenants.scoped import TenantScope
from recaudo.workers.backoff import OncePerStep
from recaudo.workers.broker import CONSUMER_LOGGER, CONSUMER_OUTAGE_LINES
from recaudo.workers.relay import MAX_BACKOFF_S, BrokerUnavailable, relay_forever, relay_once
from tests.conftest import make_tenant

JOBS = 30
OUTAGE = timedelta(minutes=10)


class FlakyBroker:
    """Refuses every message, as a client does when Redis is down, until ``up`` is set."""

    def __init__(self) -> None:
        self.up = False
        self.refused = 0
        self.sent: list[int] = []

    def send(self, job_id: int, _job: str = "") -> None:
        if not self.up:
            self.refused += 1
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.sent.append(job_id)


class SimulatedTime:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def scope(database: str) -> TenantScope:
    scope = TenantScope(int((await make_tenant("acme")).id))
    for n in range(JOBS):
        await outbox.enqueue(scope, "test_record_outage", {"n": n}, key=f"job-{n}")
    return scope


async def test_relay_logs_once_per_backoff_step_and_resumes(
    scope: TenantScope, caplog: pytest.LogCaptureFixture
) -> None:
    broker, clock = FlakyBroker(), SimulatedTime()
    back_at = clock.now + OUTAGE
    stop = asyncio.Event()
    waits: list[float] = []

    async def sleep(_stop: asyncio.Event, seconds: float) -> None:
        waits.append(seconds)
        clock.now += timedelta(seconds=seconds)
        if clock.now >= back_at:
            broker.up = True
        if len(broker.sent) == JOBS or len(waits) > 10_000:
            stop.set()

    caplog.set_level(logging.INFO, logger="recaudo.workers.relay")
    await relay_forever(broker.send, interval=0.5, stop=stop, clock=clock, sleep=sleep)

    lines = [r for r in caplog.records if r.name == "recaudo.workers.relay"]
    down = [r for r in lines if "broker unreachable" in r.getMessage()]
    # 1, 2, 4 … 32 s, then every 60 s: about 15 lines in ten minutes, not 36,000.
    assert 8 <= len(down) <= 16, len(down)
    assert broker.refused == len(down), "one refused message per step, not one per job"
    assert max(waits) == MAX_BACKOFF_S
    assert waits[:3] == [1.0, 2.0, 4.0]
    assert [r.getMessage() for r in lines if "working again" in r.getMessage()] != []
    assert len([r for r in lines if "working again" in r.getMessage()]) == 1
    assert sorted(broker.sent) == sorted(
        int(r["id"]) for r in await scope.select(OutboxJob, OutboxJob.id)
    ), "every job was sent once the broker came back"
    assert await scope.count(OutboxJob).where(OutboxJob.status == "sent") == JOBS


async def test_a_real_redis_client_on_a_closed_port_stops_the_pass(scope: TenantScope) -> None:
    from recaudo.workers.broker import Runtime

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runtime = Runtime(f"redis://127.0.0.1:{port}/0")
    attempts: list[int] = []

    def send(job_id: int, job: str) -> None:
        attempts.append(job_id)
        runtime.send(job_id, job)

    try:
        with pytest.raises(BrokerUnavailable, match="onnect"):
            await relay_once(send)
    finally:
        runtime.broker.close()
    assert len(attempts) == 1, "the pass stops at the first refusal"
    assert await scope.count(OutboxJob).where(OutboxJob.status == "pending") == JOBS


def test_dramatiq_consumer_outage_lines_pass_once_per_step() -> None:
    now = [0.0]
    quiet = OncePerStep(CONSUMER_OUTAGE_LINES, first=3.0, cap=60.0, clock=lambda: now[0])
    logger = logging.getLogger(CONSUMER_LOGGER)

    def emit(message: str) -> bool:
        return quiet.filter(
            logger.makeRecord(logger.name, logging.CRITICAL, "", 0, message, (), None)
        )

    passed = 0
    while now[0] < 600:  # dramatiq retries every 3 s and logs two lines each time
        passed += emit("Consumer encountered a connection error: %s")
        passed += emit("Restarting consumer in %0.2f seconds.")
        now[0] += 3
    assert 8 <= passed <= 16, passed  # instead of 400
    assert emit("Consumer is paused."), "other lines are untouched"
    now[0] += 3600  # a new outage an hour later is reported at once
    assert emit("Consumer encountered a connection error: %s")


def test_the_worker_quiets_its_own_consumers() -> None:
    from recaudo.core.platform.jobs import QUEUES
    from recaudo.workers.broker import Runtime, queue_name

    runtime = Runtime("embedded")
    runtime.start_worker(threads=1)
    try:
        consumers = runtime.worker.consumers  # type: ignore[union-attr]
        # Every queue and its delay queue.
        assert set(consumers) == {n for q in QUEUES for n in (queue_name(q), queue_name(q) + ".DQ")}
        for consumer in consumers.values():
            assert any(isinstance(f, OncePerStep) for f in consumer.logger.filters), consumer
    finally:
        runtime.worker.stop(1000)  # type: ignore[union-attr]
        runtime.broker.close()
