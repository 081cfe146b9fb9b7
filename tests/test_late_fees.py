"""Late fees against hand-computed figures: rate, grace, monthly periods, cap, minimum,
rounding down, never on earlier fees, once per period even when two run at once; waiver;
excluded invoices; the customer sees each charge with its reason; settings and routes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import pytest

from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.collections.late_fees import (
    add_months,
    charge_late_fees,
    fee_amount,
    period_starts,
    reason_text,
    waive_charge,
)
from recaudo.core.collections.promises import create_promise
from recaudo.core.common.jsonfield import loads
from recaudo.core.payments.ledger import record_staff_payment
from recaudo.core.tables import AuditEvent, Invoice, InvoiceCharge
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant
from tests.portal_support import login as portal_login
from tests.portal_support import open_env
from tests.test_staff_http import World, post, signed_in
from tests.test_staff_http import world as world

DUE = date(2026, 1, 10)
POLICY = {
    "late_fee_enabled": True,
    "late_fee_rate_bp": 200,  # 2 % a month
    "late_fee_grace_days": 5,
    "late_fee_cap_bp": 1000,  # 10 % of the original total
    "late_fee_min_amount": 0,
}


async def _set_policy(tenant_id: int, **changes: Any) -> None:
    tenant = await Tenant.objects().where(Tenant.id == tenant_id).first()
    assert tenant is not None
    tenant.policy = {**POLICY, **changes}
    await tenant.save().run()


async def _shop(**policy: Any) -> tuple[TenantScope, int]:
    tenant = await make_tenant("recargos-" + uuid.uuid4().hex[:6])
    await _set_policy(int(tenant.id), **policy)
    scope = TenantScope(int(tenant.id))
    customer = await create_customer(scope, NewCustomer("C-1", "Cliente Uno"), "MX")
    return scope, int(customer.id)


async def _invoice(scope: TenantScope, customer: int, number: str, amount: int) -> int:
    invoice = await create_invoice(
        scope,
        NewInvoice(customer, number, date(2025, 12, 10), DUE, "MXN", (NewLine("S", 1, amount),)),
    )
    return int(invoice.id)


async def _total(scope: TenantScope, invoice_id: int) -> int:
    row = await scope.get(Invoice, invoice_id)
    assert row is not None
    return int(row.total)


async def _fees(scope: TenantScope, invoice_id: int) -> list[tuple[str, int, int]]:
    rows = await (
        scope.objects(InvoiceCharge)
        .where(InvoiceCharge.invoice == invoice_id)
        .order_by(InvoiceCharge.id)
    )
    return [(str(r.period), int(r.amount), int(r.days_late)) for r in rows]


def test_arithmetic_by_hand() -> None:
    # 2 % of 1,000.00 MXN; 1.5 % of 333.33 is 4.999950 → 4.99 (rounded down, never up).
    assert fee_amount(100_000, 200, 10_000, 0) == 2_000
    assert fee_amount(33_333, 150, 10_000, 0) == 499
    assert fee_amount(33_333, 150, 10_000, 500) == 0, "under the minimum: not charged"
    assert fee_amount(100_000, 200, 700, 0) == 700, "cut to what is left under the cap"
    assert fee_amount(100_000, 200, 0, 0) == 0
    assert fee_amount(-5, 200, 10_000, 0) == 0
    # Periods: the day after due + grace, then each calendar month (31 Jan + 1 month = 28 Feb).
    assert period_starts(DUE, 5, date(2026, 1, 15)) == []
    assert period_starts(DUE, 5, date(2026, 3, 16)) == [
        date(2026, 1, 16),
        date(2026, 2, 16),
        date(2026, 3, 16),
    ]
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert reason_text(200, 15) == "Recargo por atraso: 2 % mensual, 15 días de atraso"
    assert reason_text(150, 6, "en") == "Late fee: 1.5% a month, 6 days late"


async def test_grace_periods_no_compounding_cap_and_idempotence(database: str) -> None:
    scope, customer = await _shop()
    invoice = await _invoice(scope, customer, "F-1", 100_000)

    assert await charge_late_fees(scope, date(2026, 1, 15)) == 0, "still in grace"
    assert await charge_late_fees(scope, date(2026, 1, 16)) == 1
    assert await charge_late_fees(scope, date(2026, 1, 16)) == 0, "same period: once"
    assert await _fees(scope, invoice) == [("1", 2_000, 6)]
    assert await _total(scope, invoice) == 102_000

    # The second month: 2 % of the principal, not of 1,020.00 (no interest on the fee).
    assert await charge_late_fees(scope, date(2026, 2, 16)) == 1
    assert await _total(scope, invoice) == 104_000
    # Half paid: the payment counts against the principal first; the next fee is on 500.00.
    await record_staff_payment(
        scope,
        customer_id=customer,
        currency="MXN",
        amount=50_000,
        method="banktransfer",
        reference="r1",
        invoice_ids=[invoice],
    )
    assert await charge_late_fees(scope, date(2026, 3, 16)) == 1
    assert await _fees(scope, invoice) == [("1", 2_000, 6), ("2", 2_000, 37), ("3", 1_000, 65)]
    # Catching up many months at once stops at the cap: 10 % of 1,000.00 in all.
    await charge_late_fees(scope, date(2027, 6, 1))
    fees = await _fees(scope, invoice)
    assert sum(f[1] for f in fees) == 10_000
    assert [f[1] for f in fees] == [2_000, 2_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000]
    assert await _total(scope, invoice) == 110_000
    row = await scope.get(Invoice, invoice)
    assert row is not None and row.status == "partially_paid" and row.balance == 60_000
    assert await scope.count(AuditEvent).where(AuditEvent.action == "invoice.late_fee") == 8


async def test_minimum_disabled_and_excluded_invoices(database: str) -> None:
    scope, customer = await _shop(late_fee_rate_bp=150, late_fee_min_amount=500)
    small = await _invoice(scope, customer, "F-1", 33_333)  # 4.99 a month: under the minimum
    ok = await _invoice(scope, customer, "F-2", 40_000)  # 6.00
    disputed = await _invoice(scope, customer, "F-3", 40_000)
    planned = await _invoice(scope, customer, "F-4", 40_000)
    paid = await _invoice(scope, customer, "F-5", 40_000)
    await scope.update(Invoice, {Invoice.disputed: True}).where(Invoice.id == disputed)
    await scope.update(Invoice, {Invoice.plan_id: 1}).where(Invoice.id == planned)
    await record_staff_payment(
        scope,
        customer_id=customer,
        currency="MXN",
        amount=40_000,
        method="banktransfer",
        reference="r",
        invoice_ids=[paid],
    )
    assert await charge_late_fees(scope, date(2026, 1, 20)) == 1
    assert await _fees(scope, ok) == [("1", 600, 6)]
    for other in (small, disputed, planned, paid):
        assert await _fees(scope, other) == []
    # Only the invoices asked for (the dunning engine's stage action).
    assert await charge_late_fees(scope, date(2026, 2, 20), invoice_ids=[small]) == 0
    assert await _fees(scope, ok) == [("1", 600, 6)]
    await _set_policy(scope.tenant_id, late_fee_enabled=False)
    assert await charge_late_fees(scope, date(2026, 5, 20)) == 0


async def test_a_pending_promise_shields_until_its_date_then_fees_catch_up(database: str) -> None:
    scope, customer = await _shop(late_fee_rate_bp=150)
    promised = await _invoice(scope, customer, "F-1", 40_000)
    await create_promise(
        scope,
        customer,
        [promised],
        date(2026, 2, 28),
        40_000,
        "MXN",
        source="staff",
        actor="staff:1",
    )
    assert await charge_late_fees(scope, date(2026, 2, 20)) == 0
    assert await _fees(scope, promised) == []
    # The date passed unpaid: the promise no longer shields, the missed periods are charged.
    assert await charge_late_fees(scope, date(2026, 3, 1)) == 2
    assert [period for period, _amount, _days in await _fees(scope, promised)] == ["1", "2"]


async def test_two_runs_at_once_charge_each_period_once(database: str) -> None:
    scope, customer = await _shop()
    ids = [await _invoice(scope, customer, f"F-{n}", 100_000) for n in range(3)]
    added = await asyncio.gather(
        charge_late_fees(scope, date(2026, 2, 16)), charge_late_fees(scope, date(2026, 2, 16))
    )
    assert sum(added) == 6
    for invoice in ids:
        assert await _fees(scope, invoice) == [("1", 2_000, 6), ("2", 2_000, 37)]
        assert await _total(scope, invoice) == 104_000


async def test_waiving_gives_the_amount_back_once(database: str) -> None:
    from recaudo.core.billing.errors import RecordConflict

    scope, customer = await _shop()
    invoice = await _invoice(scope, customer, "F-1", 100_000)
    await charge_late_fees(scope, date(2026, 2, 16))
    first = await scope.objects(InvoiceCharge).order_by(InvoiceCharge.id).first()
    await waive_charge(scope, int(first.id), "staff:9")
    assert await _total(scope, invoice) == 102_000
    with pytest.raises(RecordConflict):
        await waive_charge(scope, int(first.id), "staff:9")
    assert await charge_late_fees(scope, date(2026, 2, 16)) == 0, "a waived period stays waived"
    assert await _total(scope, invoice) == 102_000
    event = (
        await scope.objects(AuditEvent)
        .where(AuditEvent.action == "invoice.late_fee_waived")
        .first()
    )
    assert event is not None and event.actor == "staff:9"


async def test_the_customer_sees_the_charge_and_its_reason(database: str) -> None:
    env = await open_env(database)
    async with env.client:
        shop = env.shop
        await _set_policy(int(shop.tenant.id))
        invoice = env.invoice_ids()[0]  # 40 days overdue
        assert await charge_late_fees(shop.scope, date.today(), invoice_ids=[invoice]) >= 1
        await portal_login(env.client, shop, env.customer)
        page = await env.client.get(f"{shop.prefix}/facturas/{invoice}")
        assert page.status_code == 200
        assert "Recargo por atraso: 2 % mensual, 6 días de atraso" in page.text
        assert "$20.00" in page.text
        statement = await env.client.get(f"{shop.prefix}/estado-de-cuenta")
        assert 'id="charges"' in statement.text and "6 días de atraso" in statement.text


async def test_waive_route_owner_only_other_tenant_404(world: World) -> None:
    a, b = world.a, world.b
    for side in (a, b):
        await _set_policy(side.scope.tenant_id)
        await charge_late_fees(side.scope, date.today(), invoice_ids=[side.invoices[1]])
    charge = await a.scope.objects(InvoiceCharge).first()
    other = await b.scope.objects(InvoiceCharge).first()
    assert charge is not None and other is not None
    before = await _total(a.scope, a.invoices[1])
    async with signed_in(world, a, "collector") as c:
        response = await post(c, a, f"{a.staff}/cargos/{charge.id}/condonar")
        assert response.status_code == 403
    async with signed_in(world, a, "owner") as c:
        page = await c.get(f"{a.staff}/facturas/{a.invoices[1]}")
        assert f'id="recargo-{charge.id}"' in page.text
        response = await post(c, a, f"{a.staff}/cargos/{other.id}/condonar")
        assert response.status_code == 404
        assert await _total(b.scope, b.invoices[1]) == 50_000 + int(other.amount)
        response = await post(c, a, f"{a.staff}/cargos/{charge.id}/condonar")
        assert response.status_code == 303
        again = await post(c, a, f"{a.staff}/cargos/{charge.id}/condonar")
        assert again.status_code == 409
    assert await _total(a.scope, a.invoices[1]) == before - int(charge.amount)


async def test_settings_page_saves_and_refuses_bad_input(world: World) -> None:
    a = world.a
    url = f"{a.staff}/ajustes/recargos"
    good = {"enabled": "1", "rate": "1.5", "grace_days": "10", "cap": "20", "min_amount": "50.00"}
    async with signed_in(world, a, "collector") as c:
        assert (await c.get(url)).status_code == 403
    async with signed_in(world, a, "owner") as c:
        page = await c.get(url)
        assert page.status_code == 200 and 'id="late-fee-form"' in page.text
        for key, value in (("rate", "abc"), ("grace_days", "-1"), ("cap", "101"), ("rate", "0")):
            response = await post(c, a, url, {**good, key: value})
            assert response.status_code == 400, (key, value)
            tenant = await Tenant.objects().where(Tenant.id == a.scope.tenant_id).first()
            assert tenant is not None
            assert "late_fee_rate_bp" not in loads(tenant.policy, {}), (key, value)
        response = await post(c, a, url, good)
        assert response.status_code == 303
    tenant = await Tenant.objects().where(Tenant.id == a.scope.tenant_id).first()
    assert tenant is not None
    policy = loads(tenant.policy, {})
    assert policy["late_fee_enabled"] is True and policy["late_fee_rate_bp"] == 150
    assert policy["late_fee_cap_bp"] == 2000 and policy["late_fee_min_amount"] == 5_000
