"""The outbox: jobs commit with the change that caused them, survive lost messages, run once."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from recaudo.core import db
from recaudo.core.common import outbox
from recaudo.core.platform.jobs import Job
from recaudo.core.tables import FaqEntry, OutboxJob
from recaudo.tenants.scoped import TenantScope
from recaudo.workers import jobs
from recaudo.workers.relay import relay_once
from tests.conftest import BROKER_URL, make_tenant

calls: list[dict[str, Any]] = []


async def record(scope: TenantScope, payload: dict[str, Any]) -> None:
    if payload.get("fail"):
        raise RuntimeError("boom")
    await asyncio.sleep(payload.get("sleep", 0))
    calls.append({"tenant": scope.tenant_id, **payload})


jobs.register(Job("test_record", record))


def into(ids: list[int]) -> Callable[[int, str], None]:
    """A relay ``send`` that only collects job ids (the broker is the test)."""
    return lambda job_id, _name: ids.append(job_id)


@pytest.fixture
async def scope(database: str) -> TenantScope:
    calls.clear()
    return TenantScope(int((await make_tenant("acme")).id))


async def _status(scope: TenantScope, key: str) -> str:
    row = await scope.objects(OutboxJob).where(OutboxJob.key == key).first()
    return row.status


async def test_job_commits_or_rolls_back_with_the_state_change(scope: TenantScope) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await scope.add(FaqEntry(question="q", answer="a"))
            await outbox.enqueue(scope, "test_record", {"n": 1}, key="k1")
            raise RuntimeError("crash before commit")
    assert await scope.count(FaqEntry) == 0
    assert await scope.count(OutboxJob) == 0
    async with db.transaction():
        await scope.add(FaqEntry(question="q", answer="a"))
        assert await outbox.enqueue(scope, "test_record", {"n": 1}, key="k1")
    assert await scope.count(OutboxJob) == 1
    assert not await outbox.enqueue(scope, "test_record", {"n": 1}, key="k1"), "same key twice"


async def test_relay_and_run_marks_done_and_carries_the_tenant(scope: TenantScope) -> None:
    await outbox.enqueue(scope, "test_record", {"n": 7}, key="k")
    sent: list[int] = []
    assert await relay_once(into(sent)) == 1
    assert await relay_once(into(sent)) == 0, "a sent job is not sent again right away"
    assert await jobs.run_job(sent[0]) == "done"
    assert calls == [{"tenant": scope.tenant_id, "n": 7}]
    assert await jobs.run_job(sent[0]) == "skipped", "a finished job never runs twice"
    assert await _status(scope, "k") == "done"


async def test_a_lost_message_is_resent(scope: TenantScope) -> None:
    await outbox.enqueue(scope, "test_record", {"n": 1}, key="lost")
    lost: list[int] = []
    await relay_once(into(lost))  # the broker drops this message
    assert await _status(scope, "lost") == "sent"
    again: list[int] = []
    await relay_once(into(again), stale_after=timedelta(0))
    assert again == lost
    assert await jobs.run_job(again[0]) == "done"
    assert len(calls) == 1


async def test_failures_back_off_then_give_up(scope: TenantScope) -> None:
    await outbox.enqueue(scope, "test_record", {"fail": True}, key="bad")
    sent: list[int] = []
    await relay_once(into(sent))
    assert await jobs.run_job(sent[0]) == "pending"
    row = await scope.objects(OutboxJob).where(OutboxJob.key == "bad").first()
    assert row.attempts == 1 and "boom" in row.last_error
    assert await relay_once(into(sent)) == 0, "not due until the backoff passes"
    limit = jobs.DEFAULT_POLICY.max_attempts
    assert limit is not None
    await scope.update(OutboxJob, {OutboxJob.attempts: limit - 1}).where(OutboxJob.id == row.id)
    assert await jobs.run_job(row.id) == "failed"


async def test_concurrent_deliveries_run_the_handler_once(scope: TenantScope) -> None:
    await outbox.enqueue(scope, "test_record", {"n": 1, "sleep": 0.05}, key="dup")
    sent: list[int] = []
    await relay_once(into(sent))
    results = await asyncio.gather(*[jobs.run_job(sent[0]) for _ in range(5)])
    assert sorted(results) == ["done"] + ["skipped"] * 4
    assert len(calls) == 1


async def _through_broker(url: str, scope: TenantScope) -> None:
    from recaudo.workers.broker import Runtime

    runtime = Runtime(url)
    if url.startswith("redis"):
        runtime.broker.flush_all()
    runtime.start_worker(threads=1)
    runtime.start_relay(interval=0.05)
    try:
        await outbox.enqueue(scope, "test_record", {"n": 42}, key="via-broker")
        for _ in range(200):
            if await _status(scope, "via-broker") == "done":
                break
            await asyncio.sleep(0.05)
    finally:
        await runtime.stop()
    assert await _status(scope, "via-broker") == "done"
    assert calls == [{"tenant": scope.tenant_id, "n": 42}]


@pytest.mark.slow
async def test_embedded_broker_runs_jobs_in_process(scope: TenantScope) -> None:
    await _through_broker("embedded", scope)


AMQP_URL = os.environ.get("RECAUDO_TEST_AMQP_URL", "")


@pytest.mark.slow
@pytest.mark.broker
@pytest.mark.parametrize(
    "url",
    [
        pytest.param(
            BROKER_URL,
            id="broker",
            marks=pytest.mark.skipif(
                not BROKER_URL, reason="Redis not configured (set RECAUDO_TEST_BROKER_URL)"
            ),
        ),
        pytest.param(
            AMQP_URL,
            id="rabbitmq",
            marks=pytest.mark.skipif(
                not AMQP_URL, reason="RabbitMQ not configured (set RECAUDO_TEST_AMQP_URL)"
            ),
        ),
    ],
)
async def test_real_broker_runs_jobs(scope: TenantScope, url: str) -> None:
    await _through_broker(url, scope)
