"""The scheduler: several worker processes run it, and each schedule slot still fires once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from recaudo.core.hookspecs import hookimpl
from recaudo.core.platform.host import PluginHost
from recaudo.core.platform.jobs import Job, Schedule
from recaudo.core.tables import OutboxJob
from recaudo.tenants.models import ScheduleRun
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope, unscoped
from recaudo.workers import jobs, scheduler
from recaudo.workers.scheduler import Scheduler, slot_of
from tests.conftest import drain_jobs, make_tenant

NOW = datetime(2026, 3, 2, 10, 0, 30, tzinfo=UTC)


class Digest:
    """A plugin that sends each tenant a digest every hour."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_digest(self, ctx: Any, payload: dict[str, Any]) -> None:
        self.sent.append((ctx.tenant.id, payload["slot"]))

    @hookimpl
    def recaudo_jobs(self) -> list[Job]:
        return [Job("send", self.send_digest, queue="messages")]

    @hookimpl
    def recaudo_schedules(self) -> list[Schedule]:
        return [Schedule("hourly", "send", every=timedelta(hours=1))]


@pytest.fixture
def digest(host: PluginHost) -> Digest:
    plugin = Digest()
    host.register(plugin, name="digest", source="test")
    return plugin


@pytest.fixture
def quiet_core(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Core's sweep and housekeeping record their runs instead of sweeping."""
    ran: list[str] = []

    async def record(_ctx: None, payload: dict[str, Any]) -> None:
        ran.append(payload["schedule"])

    for name in ("sweep", "housekeeping", "recurring_invoices", "customer_statements"):
        job = jobs.core_jobs()[name]
        monkeypatch.setitem(jobs._registered, name, Job(name, record, time_limit=job.time_limit))
    return ran


async def _digest_jobs() -> list[tuple[int, str]]:
    table = unscoped(OutboxJob)
    rows = await table.select(table.tenant, table.key).where(table.actor == "digest.send")
    return sorted((int(r["tenant"]), str(r["key"])) for r in rows)


async def test_two_schedulers_racing_fire_each_slot_once(
    database: str, digest: Digest, quiet_core: list[str]
) -> None:
    on, also_on, off = [await make_tenant(slug) for slug in ("uno", "dos", "tres")]
    for tenant, enabled in ((on, True), (also_on, True), (off, False)):
        await set_plugin(TenantScope(int(tenant.id)), "digest", enabled=enabled)
    first, second = Scheduler("worker-1"), Scheduler("worker-2")

    fired = await asyncio.gather(first.tick(NOW), second.tick(NOW))
    assert sorted(fired[0] + fired[1]) == [
        "autopay_charges",
        "customer_statements",
        "digest.hourly",
        "dunning_sweep",
        "housekeeping",
        "late_fees_daily",
        "promises_check",
        "reconcile_rematch",
        "recurring_invoices",
        "sweep",
        "webhooks_hourly",
    ]
    assert sorted(quiet_core) == [
        "customer_statements",
        "housekeeping",
        "recurring_invoices",
        "sweep",
    ], "the inline schedules ran once"
    slot = slot_of(NOW, timedelta(hours=1)).isoformat()
    key = f"schedule:digest.hourly@{slot}"
    assert await _digest_jobs() == [(int(on.id), key), (int(also_on.id), key)], (
        "one job per tenant that enabled the plugin"
    )

    # Later in the same slot, and a restarted process: nothing fires again.
    assert await first.tick(NOW + timedelta(seconds=20)) == []
    assert await Scheduler("worker-3").tick(NOW + timedelta(minutes=10)) == ["sweep"]
    assert len(await _digest_jobs()) == 2

    # The jobs run like any other: the plugin's handler gets its context, once per tenant.
    # Two digests, three dunning sweeps and three rematches of bank lines (per tenant).
    assert await drain_jobs() == ["done"] * 8
    assert sorted(digest.sent) == [(int(on.id), slot), (int(also_on.id), slot)]

    # The next hour is a new slot.
    fired = await asyncio.gather(
        first.tick(NOW + timedelta(hours=1)), second.tick(NOW + timedelta(hours=1))
    )
    assert sorted(fired[0] + fired[1]) == [
        "autopay_charges",
        "customer_statements",
        "digest.hourly",
        "dunning_sweep",
        "housekeeping",
        "promises_check",
        "recurring_invoices",
        "sweep",
        "webhooks_hourly",
    ]
    assert len(await _digest_jobs()) == 4


async def test_many_schedulers_at_once_claim_one_slot(database: str) -> None:
    wins = await asyncio.gather(
        *(scheduler.claim("race", NOW, NOW, f"worker-{n}") for n in range(8))
    )
    assert wins.count(True) == 1
    assert await ScheduleRun.count().where(ScheduleRun.schedule == "race") == 1


async def test_a_failing_inline_schedule_is_logged_and_tried_next_slot(
    database: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    tries: list[str] = []

    async def broken(_ctx: None, payload: dict[str, Any]) -> None:
        tries.append(payload["slot"])
        raise RuntimeError("disk full")

    monkeypatch.setitem(jobs._registered, "sweep", Job("sweep", broken))
    runner = Scheduler()
    assert "sweep" in await runner.tick(NOW)
    assert "sweep" in await runner.tick(NOW + timedelta(minutes=1))
    assert len(tries) == 2
    assert any(
        "schedule sweep" in r.getMessage() and "disk full" in r.getMessage() for r in caplog.records
    )
