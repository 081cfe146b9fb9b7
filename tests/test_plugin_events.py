"""Each plugin hears a domain event from its own job: a failing or hanging plugin is retried on
its own and finally dead-lettered, and never stops or delays another plugin."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest

from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.common.jsonfield import loads
from recaudo.core.hookspecs import hookimpl
from recaudo.core.platform.host import PluginHost
from recaudo.core.platform.values import InvoiceEvent
from recaudo.core.tables import OutboxJob
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope
from recaudo.workers import dead_jobs, jobs, plugin_context
from recaudo.workers.events import PLUGIN_EVENT_POLICY
from tests.clock_support import drain_at
from tests.conftest import drain_jobs, make_tenant


@dataclass(frozen=True)
class StubContext:
    """Stands in for ``PluginContext``: what the hook needs to see is whose context it is."""

    tenant_id: int
    plugin: str


class Good:
    def __init__(self) -> None:
        self.seen: list[tuple[StubContext, str, int]] = []

    @hookimpl
    def recaudo_invoice_event(self, ctx: StubContext, event: InvoiceEvent) -> None:
        self.seen.append((ctx, event.kind, event.invoice_id))


class Failing:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    async def recaudo_invoice_event(self, ctx: StubContext, event: InvoiceEvent) -> None:
        self.calls += 1
        raise ConnectionError("crm.example is down")


class Hanging:
    def __init__(self) -> None:
        self.release = threading.Event()

    @hookimpl
    def recaudo_invoice_event(self, ctx: StubContext, event: InvoiceEvent) -> None:
        self.release.wait(30)  # a plugin stuck on a socket without a timeout


@pytest.fixture
def stub_context(monkeypatch: pytest.MonkeyPatch) -> None:
    async def factory(tenant_id: int, plugin: str) -> StubContext:
        return StubContext(tenant_id, plugin)

    monkeypatch.setattr(plugin_context, "factory", factory)


@pytest.fixture
def short_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plugin event jobs time out after 0.3 s instead of 30 s."""
    job = jobs.core_jobs()["plugin_event"]
    monkeypatch.setitem(
        jobs._registered, "plugin_event", replace(job, time_limit=timedelta(seconds=0.3))
    )


@pytest.fixture
def plugins(host: PluginHost) -> Iterator[tuple[Good, Failing, Hanging]]:
    good, failing, hanging = Good(), Failing(), Hanging()
    host.register(good, name="good", source="test")
    host.register(failing, name="failing", source="test")
    host.register(hanging, name="hanging", source="test")
    yield good, failing, hanging
    hanging.release.set()


async def _invoice(scope: TenantScope) -> int:
    customer = await create_customer(scope, NewCustomer("C1", "Uno"), "MX")
    today = date.today()
    invoice = await create_invoice(
        scope,
        NewInvoice(
            int(customer.id), "F1", today, today + timedelta(days=5), "MXN", (NewLine("x", 1, 500),)
        ),
    )
    return int(invoice.id)


async def _plugin_jobs(scope: TenantScope) -> dict[str, OutboxJob]:
    """This tenant's plugin event jobs by plugin."""
    rows = await scope.objects(OutboxJob).where(OutboxJob.actor == "plugin_event")
    return {str(loads(row.payload, {})["plugin"]): row for row in rows}


async def test_a_failing_and_a_hanging_plugin_never_hold_up_a_good_one(
    database: str,
    plugins: tuple[Good, Failing, Hanging],
    stub_context: None,
    short_limit: None,
) -> None:
    good, failing, _hanging = plugins
    scope = TenantScope(int((await make_tenant("tienda")).id))
    for name in ("good", "failing", "hanging"):
        await set_plugin(scope, name, enabled=True)
    invoice_id = await _invoice(scope)

    results = await drain_jobs()
    assert results.count("done") == 2, results  # the fan-out and the good plugin's job
    assert good.seen == [(StubContext(scope.tenant_id, "good"), "created", invoice_id)]
    assert failing.calls == 1
    by_plugin = await _plugin_jobs(scope)
    assert set(by_plugin) == {"good", "failing", "hanging"}, "one job per enabled plugin"
    assert by_plugin["good"].status == "done"
    assert by_plugin["failing"].status == "pending"
    assert "plugin failing failed in recaudo_invoice_event" in by_plugin["failing"].last_error
    assert by_plugin["hanging"].status == "pending"
    assert "longer than its limit" in by_plugin["hanging"].last_error

    # The fan-out running again (a crash before it was marked done) adds no second job.
    parent = await scope.objects(OutboxJob).where(OutboxJob.actor == "invoice_event").first()
    await scope.update(OutboxJob, {OutboxJob.status: "pending"}).where(OutboxJob.id == parent.id)
    await drain_jobs(max_rounds=1)
    assert len(await _plugin_jobs(scope)) == 3

    # Retried on their own schedule until the policy gives up: then dead, and staff see it.
    limit = PLUGIN_EVENT_POLICY.max_attempts
    assert limit is not None
    now = datetime.now(UTC)
    for _ in range(limit + 2):
        now += PLUGIN_EVENT_POLICY.cap
        await drain_at(now)
    assert failing.calls == limit
    by_plugin = await _plugin_jobs(scope)
    assert by_plugin["failing"].status == "failed" and by_plugin["hanging"].status == "failed"
    assert good.seen == [(StubContext(scope.tenant_id, "good"), "created", invoice_id)], "once"
    count, failed = await dead_jobs.tenant_failed_jobs(scope)
    assert count == 2
    assert {job.subject for job in failed} == {
        f"failing factura {invoice_id}",
        f"hanging factura {invoice_id}",
    }


async def test_only_plugins_the_tenant_enabled_get_a_job(
    database: str, plugins: tuple[Good, Failing, Hanging], stub_context: None
) -> None:
    good, failing, _ = plugins
    scope = TenantScope(int((await make_tenant("tienda")).id))
    await set_plugin(scope, "good", enabled=True)
    await set_plugin(scope, "failing", enabled=False)
    await _invoice(scope)
    assert await drain_jobs() == ["done", "done"]
    assert set(await _plugin_jobs(scope)) == {"good"}
    assert len(good.seen) == 1 and failing.calls == 0
