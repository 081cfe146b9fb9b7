"""Promises to pay: kept on time, broken, partial; reminders paused then resumed; staff told
once; the "No puedo pagar" promise is tracked; staff record and cancel promises; the customer
sees theirs; other tenants' ids are 404; bad input is a 400 that changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from recaudo.core import config
from recaudo.core.access.staff import create_staff
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.collections.plans import PlanPolicy, record_promise
from recaudo.core.collections.promises import (
    check_promises,
    create_promise,
    promised_invoice_ids,
)
from recaudo.core.config import Settings
from recaudo.core.payments.ledger import record_staff_payment
from recaudo.core.platform.host import PluginHost
from recaudo.core.tables import (
    AuditEvent,
    HardshipRequest,
    Invoice,
    NotificationLog,
    OutboxJob,
    PaymentPromise,
    PromiseInvoice,
)
from recaudo.tenants.models import Tenant
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope
from tests.conftest import drain_jobs, make_tenant
from tests.portal_support import login as portal_login
from tests.portal_support import open_env
from tests.test_staff_http import World, post, signed_in
from tests.test_staff_http import world as world

TZ = "America/Mexico_City"


@pytest.fixture
def active_settings(settings: Settings) -> Iterator[Settings]:
    previous = config._active
    config.activate(settings)
    yield settings
    config._active = previous


def _today() -> date:
    return datetime.now(ZoneInfo(TZ)).date()


def _at(day: date, hour: int = 12) -> datetime:
    """Noon of ``day`` on the tenant's calendar."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(TZ))


async def _shop() -> tuple[TenantScope, int, list[int]]:
    tenant = await make_tenant("tienda-" + datetime.now(UTC).strftime("%H%M%S%f"))
    scope = TenantScope(int(tenant.id))
    customer = await create_customer(scope, NewCustomer("C-1", "Cliente Uno"), "MX")
    ids = []
    for number, amount in (("F-1", 100_000), ("F-2", 50_000)):
        invoice = await create_invoice(
            scope,
            NewInvoice(
                int(customer.id),
                number,
                _today() - timedelta(days=30),
                _today() - timedelta(days=5),
                "MXN",
                (NewLine("Servicio", 1, amount),),
            ),
        )
        ids.append(int(invoice.id))
    return scope, int(customer.id), ids


async def _pay(scope: TenantScope, customer: int, amount: int, invoice_ids: list[int]) -> None:
    await record_staff_payment(
        scope,
        customer_id=customer,
        currency="MXN",
        amount=amount,
        method="banktransfer",
        reference=f"ref-{amount}",
        invoice_ids=invoice_ids,
    )


async def _promise(scope: TenantScope, customer: int, ids: list[int], days: int, amount: int):  # type: ignore[no-untyped-def]
    return await create_promise(
        scope,
        customer,
        ids,
        _today() + timedelta(days=days),
        amount,
        "MXN",
        source="staff",
        actor="staff:1",
    )


async def _status(scope: TenantScope, promise_id: int) -> str:
    row = await scope.get(PaymentPromise, promise_id)
    assert row is not None
    return str(row.status)


async def test_kept_on_time_broken_when_late_and_partial_is_broken(database: str) -> None:
    scope, customer, ids = await _shop()
    kept = await _promise(scope, customer, ids[:1], 3, 100_000)
    late = await _promise(scope, customer, ids[1:], 3, 50_000)

    # Before the date, nothing paid: both wait; reminders skip both invoices.
    assert await check_promises(scope, TZ, _at(_today())) == {"kept": 0, "broken": 0}
    assert await promised_invoice_ids(scope, _today()) == set(ids)

    await _pay(scope, customer, 100_000, ids[:1])
    assert await check_promises(scope, TZ, _at(_today() + timedelta(days=1))) == {
        "kept": 1,
        "broken": 0,
    }
    assert await _status(scope, int(kept.id)) == "kept"
    # On the promised date itself the other one is still pending (the date is inclusive).
    await check_promises(scope, TZ, _at(_today() + timedelta(days=3), 23))
    assert await _status(scope, int(late.id)) == "pending"
    assert await promised_invoice_ids(scope, _today() + timedelta(days=3)) == {ids[1]}

    # The day after: broken, and reminders resume for its invoice.
    result = await check_promises(scope, TZ, _at(_today() + timedelta(days=4), 0))
    assert result == {"kept": 0, "broken": 1}
    assert await _status(scope, int(late.id)) == "broken"
    assert await promised_invoice_ids(scope, _today() + timedelta(days=4)) == set()
    assert await promised_invoice_ids(scope, _today()) == set(), "broken shields nothing"
    row = await scope.get(PaymentPromise, int(late.id))
    assert row is not None and row.resolved_at is not None and row.staff_told

    # Paying after the date does not turn a broken promise into a kept one; each once.
    await _pay(scope, customer, 50_000, ids[1:])
    assert await check_promises(scope, TZ, _at(_today() + timedelta(days=5))) == {
        "kept": 0,
        "broken": 0,
    }
    assert await _status(scope, int(late.id)) == "broken"


async def test_a_partial_payment_by_the_date_is_still_broken(database: str) -> None:
    scope, customer, ids = await _shop()
    promise = await _promise(scope, customer, ids, 2, 150_000)
    await _pay(scope, customer, 60_000, ids[:1])
    assert await check_promises(scope, TZ, _at(_today() + timedelta(days=2))) == {
        "kept": 0,
        "broken": 0,
    }
    assert await check_promises(scope, TZ, _at(_today() + timedelta(days=3))) == {
        "kept": 0,
        "broken": 1,
    }
    assert await _status(scope, int(promise.id)) == "broken"


async def test_staff_are_told_of_a_broken_promise_once(
    database: str, host: PluginHost, active_settings: Settings
) -> None:
    from recaudo.workers.promises import promises_check

    scope, customer, ids = await _shop()
    await set_plugin(scope, "email", enabled=True)
    for role in ("owner", "collector", "viewer"):
        await create_staff(scope, f"{role}@tienda.example", "x" * 12, role)
    promise = await _promise(scope, customer, ids, 1, 150_000)
    later = _at(_today() + timedelta(days=3)).isoformat()
    await promises_check(None, {"now": later})
    await promises_check(None, {"now": later})
    assert await scope.count(OutboxJob).where(OutboxJob.actor == "promise_broken_notice") == 1
    await drain_jobs()
    await drain_jobs()
    mails = await scope.objects(NotificationLog).where(
        NotificationLog.kind == "staff_promise_broken"
    )
    assert sorted(m.recipient for m in mails) == [
        "collector@tienda.example",
        "owner@tienda.example",
    ]
    assert all("Cliente Uno" in m.subject and "$1,500.00" in m.body_text for m in mails)
    assert await _status(scope, int(promise.id)) == "broken"


async def test_no_puedo_pagar_creates_a_tracked_promise(database: str) -> None:
    scope, customer, ids = await _shop()
    await scope.update(Invoice, {Invoice.disputed: True}).where(Invoice.id == ids[1])
    promise = await record_promise(
        scope,
        customer,
        _today(),
        PlanPolicy(),
        reason="lost_income",
        promise_date=_today() + timedelta(days=7),
        message="Me pagan el viernes",
    )
    assert promise.source == "hardship" and promise.amount == 100_000
    links = await scope.select(PromiseInvoice, PromiseInvoice.invoice).where(
        PromiseInvoice.promise == promise.id
    )
    assert [int(r["invoice"]) for r in links] == [ids[0]], "a disputed invoice is not promised"
    hardship = await scope.get(HardshipRequest, int(promise.source_id))
    assert hardship is not None and hardship.outcome == "promise"


async def test_nothing_owed_no_promise_and_nothing_written(database: str) -> None:
    from recaudo.core.collections.plans import PlanError

    scope, customer, ids = await _shop()
    await _pay(scope, customer, 150_000, ids)
    with pytest.raises(PlanError):
        await record_promise(
            scope,
            customer,
            _today(),
            PlanPolicy(),
            reason="other",
            promise_date=_today() + timedelta(days=2),
        )
    assert await scope.count(HardshipRequest) == 0
    assert await scope.count(PaymentPromise) == 0


# --- web ----------------------------------------------------------------------------------------


async def test_staff_record_and_cancel_a_promise_other_tenant_404_bad_input_400(
    world: World,
) -> None:
    a, b = world.a, world.b
    day = (date.today() + timedelta(days=5)).isoformat()
    async with signed_in(world, a, "collector") as c:
        page = await c.get(f"{a.staff}/clientes/{a.customer}")
        assert 'id="new-promise"' in page.text
        bad = [
            {"fecha": day},  # no invoice
            {"fecha": "mañana", "factura": str(a.invoices[1])},
            {"fecha": "2000-01-01", "factura": str(a.invoices[1])},
            {"fecha": day, "factura": str(b.invoices[1])},  # another tenant's invoice
            {"fecha": day, "factura": str(a.invoices[1]), "monto": "9,999,999.00"},
            {"fecha": day, "factura": str(a.invoices[1]), "monto": "abc"},
        ]
        for data in bad:
            response = await post(c, a, f"{a.staff}/clientes/{a.customer}/promesas", data)
            assert response.status_code == 400, (data, response.status_code)
        assert await a.scope.count(PaymentPromise) == 0
        assert await b.scope.count(PaymentPromise) == 0
        other = await post(c, a, f"{a.staff}/clientes/{b.customer}/promesas", {"fecha": day})
        assert other.status_code == 404

        made = await post(
            c,
            a,
            f"{a.staff}/clientes/{a.customer}/promesas",
            {"fecha": day, "factura": str(a.invoices[1]), "monto": "300.00", "nota": "<b>ok</b>"},
        )
        assert made.status_code == 303
        (promise,) = await a.scope.objects(PaymentPromise)
        assert promise.amount == 30_000 and promise.source == "staff"
        page = await c.get(f"{a.staff}/clientes/{a.customer}")
        assert f'data-promise="{promise.id}"' in page.text
        assert "<b>ok</b>" not in page.text and "&lt;b&gt;ok&lt;/b&gt;" in page.text

    async with signed_in(world, b, "owner") as c:
        response = await post(c, b, f"{b.staff}/promesas/{promise.id}/cancelar")
        assert response.status_code == 404
    assert await _status(a.scope, int(promise.id)) == "pending"

    async with signed_in(world, a, "viewer") as c:
        response = await post(c, a, f"{a.staff}/promesas/{promise.id}/cancelar")
        assert response.status_code == 403
    async with signed_in(world, a, "collector") as c:
        response = await post(c, a, f"{a.staff}/promesas/{promise.id}/cancelar")
        assert response.status_code == 303
        again = await post(c, a, f"{a.staff}/promesas/{promise.id}/cancelar")
        assert again.status_code == 409
    assert await _status(a.scope, int(promise.id)) == "cancelled"
    assert await a.scope.count(AuditEvent).where(AuditEvent.action == "promise.cancelled") == 1


async def test_the_customer_sees_their_promise_with_date_and_status(database: str) -> None:
    env = await open_env(database)
    async with env.client:
        shop = env.shop
        tenant = await Tenant.objects().where(Tenant.id == shop.tenant.id).first()
        assert tenant is not None
        await portal_login(env.client, shop, env.customer)
        ids = env.invoice_ids()
        promise = await create_promise(
            shop.scope,
            int(env.customer.id),
            ids[:1],
            _today() + timedelta(days=4),
            100_000,
            "MXN",
            source="staff",
            actor="staff:1",
        )
        page = await env.client.get(shop.prefix + "/estado-de-cuenta")
        assert page.status_code == 200
        assert f'data-promise="{promise.id}"' in page.text and "Pendiente" in page.text
        await check_promises(shop.scope, str(tenant.timezone), _at(_today() + timedelta(days=6)))
        page = await env.client.get(shop.prefix + "/estado-de-cuenta")
        assert "Incumplida" in page.text


async def test_the_migration_moves_open_hardship_promises_once(database: str) -> None:
    """The data step of migration 0023_1, run again over a promise made the old way."""
    import importlib

    from recaudo.core import db

    step = importlib.import_module("recaudo.core.migrations.recaudo_0023_1_promise_data")
    scope, customer, ids = await _shop()
    await scope.update(Invoice, {Invoice.disputed: True}).where(Invoice.id == ids[1])
    old = HardshipRequest(
        customer=customer,
        reason="illness",
        outcome="promise",
        promise_date=_today() + timedelta(days=3),
        status="open",
        message="Pago el lunes",
    )
    await scope.add(old)
    for _ in range(2):
        for statement in step.STATEMENTS[1:]:
            await db.engine().run_ddl(statement)
    (promise,) = await scope.objects(PaymentPromise)
    assert (promise.source, int(promise.source_id or 0)) == ("hardship", int(old.id))
    assert promise.amount == 100_000 and promise.currency == "MXN" and promise.status == "pending"
    assert promise.promised_date == _today() + timedelta(days=3) and promise.note == "Pago el lunes"
    links = await scope.select(PromiseInvoice, PromiseInvoice.invoice)
    assert [int(r["invoice"]) for r in links] == [ids[0]]
