"""Job kinds are dramatiq actors on named queues; a worker can be told which queues to consume;
plugin jobs run only for tenants that enabled the plugin; a time limit is a failed attempt."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from recaudo.core.common import outbox
from recaudo.core.hookspecs import hookimpl
from recaudo.core.platform.host import PluginHost
from recaudo.core.platform.jobs import Job
from recaudo.core.tables import OutboxJob
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope
from recaudo.workers import jobs
from recaudo.workers.broker import Runtime, parse_queues
from tests.conftest import drain_jobs, make_tenant

ran: list[tuple[str, int]] = []


async def note(scope: TenantScope, payload: dict[str, Any]) -> None:
    ran.append((payload["what"], scope.tenant_id))


async def slow(scope: TenantScope, payload: dict[str, Any]) -> None:
    await asyncio.sleep(5)


class Exports:
    """A plugin with one job of its own."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, dict[str, Any]]] = []

    async def export(self, ctx: Any, payload: dict[str, Any]) -> None:
        self.runs.append((ctx.plugin, payload))

    @hookimpl
    def recaudo_jobs(self) -> list[Job]:
        return [Job("export", self.export, queue="default")]


@pytest.fixture
def exports(host: PluginHost) -> Exports:
    plugin = Exports()
    host.register(plugin, name="exports", source="test")
    return plugin


def test_each_job_kind_is_an_actor_on_its_queue_without_dramatiq_retries(
    exports: Exports,
) -> None:
    runtime = Runtime("embedded")
    try:
        queues = {name: actor.queue_name for name, actor in runtime.actors.items()}
        assert queues["process_provider_event"] == "recaudo.payments"
        assert queues["reconcile_payment"] == "recaudo.payments"
        assert queues["tell_customer"] == "recaudo.messages"
        assert queues["reply_ticket"] == "recaudo.messages"
        assert queues["invoice_event"] == queues["plugin_event"] == "recaudo.events"
        assert queues["exports.export"] == "recaudo.default", "plugin jobs are <plugin>.<job>"
        assert all(actor.options["max_retries"] == 0 for actor in runtime.actors.values())
    finally:
        runtime.broker.close()


def test_the_worker_command_refuses_an_unknown_queue() -> None:
    from recaudo.cli import main

    assert parse_queues("messages, events") == ("messages", "events")
    assert parse_queues("") is None
    result = CliRunner().invoke(main, ["worker", "--queues", "messages,mensajes"])
    assert result.exit_code == 2
    assert "unknown queue(s) mensajes" in result.output


async def test_a_worker_consumes_only_its_queues(database: str) -> None:
    ran.clear()
    scope = TenantScope(int((await make_tenant("acme")).id))
    jobs.register(Job("test_on_events", note, queue="events"))
    jobs.register(Job("test_on_messages", note, queue="messages"))
    runtime = Runtime("embedded", queues=("events",))
    runtime.start_worker(threads=1)
    runtime.start_relay(interval=0.05)
    try:
        await outbox.enqueue(scope, "test_on_messages", {"what": "message"}, key="m")
        await outbox.enqueue(scope, "test_on_events", {"what": "event"}, key="e")
        for _ in range(100):
            if ran:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # time enough for the other job too, were it consumed
    finally:
        await runtime.stop()
    assert ran == [("event", scope.tenant_id)]
    status = {
        r["key"]: r["status"]
        for r in await scope.select(OutboxJob, OutboxJob.key, OutboxJob.status)
    }
    assert status == {"e": "done", "m": "sent"}, "the messages job waits for a messages worker"


async def test_a_plugin_job_runs_only_for_tenants_that_enabled_the_plugin(
    database: str, exports: Exports
) -> None:
    on = TenantScope(int((await make_tenant("con")).id))
    off = TenantScope(int((await make_tenant("sin")).id))
    await set_plugin(on, "exports", enabled=True)
    for scope in (on, off):
        await outbox.enqueue(scope, "exports.export", {"month": "2026-03"}, key="export:03")
    assert await drain_jobs() == ["done", "done"]
    assert exports.runs == [("exports", {"month": "2026-03"})]
    skipped = await off.objects(OutboxJob).first()
    assert "exports is not enabled" in skipped.last_error


async def test_a_job_past_its_time_limit_is_a_failed_attempt(database: str) -> None:
    scope = TenantScope(int((await make_tenant("acme")).id))
    jobs.register(Job("test_slow", slow, time_limit=timedelta(seconds=0.2)))
    await outbox.enqueue(scope, "test_slow", {}, key="slow")
    assert await drain_jobs(max_rounds=1) == ["pending"]
    row = await scope.objects(OutboxJob).first()
    assert row.attempts == 1 and "longer than its limit of 0.2 s" in row.last_error
