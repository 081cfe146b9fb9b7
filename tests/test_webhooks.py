"""Webhook endpoints: verified, stored with their job in one transaction, applied exactly once.

Runs the real app in-process: the sandbox gateway end to end, and Mercado Pago against the local
fake server (signatures made the way Mercado Pago makes them).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date, timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.common.money import Money
from recaudo.core.config import Settings
from recaudo.core.payments import ledger
from recaudo.core.payments.method import Checkout
from recaudo.core.payments.registry import all_methods
from recaudo.core.platform.context import context_for
from recaudo.core.tables import Invoice, OutboxJob, Payment, ProviderEvent
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info
from tests.clock_support import drain_at
from tests.conftest import csrf_of, drain_jobs, make_tenant
from tests.fakes.mercadopago import DEFAULT_TOKEN, FakeMercadoPago

MP_SECRET = "whsec-test-0123456789"


@pytest.fixture
def fake_mp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMercadoPago]:
    with FakeMercadoPago() as server:
        monkeypatch.setenv("RECAUDO_MERCADOPAGO_API_BASE", server.url)
        yield server


async def _tenant_with_invoices(
    settings: Settings,
    slug: str,
    currency: str = "MXN",
    country: str = "MX",
    amounts: tuple[int, ...] = (150_000, 99_990),
):
    tenant = await make_tenant(slug, country, currency, test=True)  # the sandbox needs one
    scope = TenantScope(int(tenant.id))
    for plugin in ("sandbox", "branding"):
        await set_plugin(scope, plugin, enabled=True, secret_key=settings.secret_key)
    await set_plugin(
        scope,
        "mercadopago",
        enabled=True,
        settings={"access_token": DEFAULT_TOKEN, "webhook_secret": MP_SECRET},
        secret_key=settings.secret_key,
    )
    customer = await create_customer(
        scope, NewCustomer("C-1", "Cliente Uno", email="uno@example.com"), country
    )
    invoices = []
    for i, amount in enumerate(amounts):
        invoices.append(
            await create_invoice(
                scope,
                NewInvoice(
                    int(customer.id),
                    f"F-{i}",
                    date.today() - timedelta(days=40 - i),
                    date.today() - timedelta(days=10 - i),
                    currency,
                    (NewLine("Servicio", 1, amount),),
                ),
            )
        )
    return tenant, scope, customer, invoices


async def _checkout(
    settings: Settings, tenant, scope: TenantScope, customer, invoices, method_name: str, key: str
):
    payment = await ledger.create_payment(
        scope,
        customer_id=int(customer.id),
        method=method_name,
        currency=tenant.currency,
        idempotency_key=key,
        invoice_ids=[int(i.id) for i in invoices],
    )
    plugin, method = all_methods()[method_name]
    checkout = Checkout(
        payment_id=int(payment.id),
        idempotency_key=key,
        amount=Money(payment.currency, int(payment.amount)),
        description="Pago de facturas",
        customer_name=customer.name,
        customer_email=customer.email,
        return_url=f"{settings.base_url}/t/{tenant.slug}/pagos/{payment.id}",
        notification_url=f"{settings.base_url}/hooks/{method_name}/{tenant.slug}",
        customer_id=int(customer.id),
    )
    ctx = await context_for(tenant_info(tenant), plugin)
    return payment, await method.start_checkout(ctx, checkout)


async def test_sandbox_flow_end_to_end(client: httpx.AsyncClient, settings: Settings) -> None:
    tenant, scope, customer, invoices = await _tenant_with_invoices(settings, "acme")
    payment, result = await _checkout(settings, tenant, scope, customer, invoices, "sandbox", "k-1")
    assert result.kind == "redirect"
    page = await client.get(result.redirect_url)
    assert page.status_code == 200
    assert "$2,499.90" in page.text  # 1,500.00 + 999.90, formatted for es-MX
    # Nothing is paid before the provider says so.
    assert (await scope.get(Payment, payment.id)).status == "pending"

    decided = await client.post(
        result.redirect_url, data={"decision": "approve", "_csrf_token": csrf_of(client)}
    )
    assert decided.status_code == 303
    assert urlsplit(decided.headers["location"]).path == f"/t/acme/pagos/{payment.id}"
    assert await scope.count(ProviderEvent) == 1
    assert await drain_jobs()
    paid = await scope.get(Payment, payment.id)
    assert paid.status == "approved"
    for invoice in invoices:
        row = await scope.get(Invoice, invoice.id)
        assert row.status == "paid" and row.amount_applied == row.total


async def test_forged_and_stale_sandbox_webhooks_are_rejected(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    from recaudo.plugins.sandbox import sign

    _, scope, *_ = await _tenant_with_invoices(settings, "acme")
    body = json.dumps({"id": "sbx_x", "event_id": "e1", "status": "approved"}).encode()
    url = "/hooks/sandbox/acme"
    import time

    forged = await client.post(
        url, content=body, headers={"x-sandbox-signature": f"t={int(time.time())},v1={'0' * 64}"}
    )
    unsigned = await client.post(url, content=body)
    stale = await client.post(
        url, content=body, headers={"x-sandbox-signature": sign(body, int(time.time()) - 3600)}
    )
    assert (forged.status_code, unsigned.status_code, stale.status_code) == (401, 401, 401)
    assert "rejected" in forged.json()["detail"]
    assert await scope.count(ProviderEvent) == 0
    assert await scope.count(OutboxJob).where(OutboxJob.actor == "process_provider_event") == 0


async def test_unknown_endpoints_are_404(client: httpx.AsyncClient, settings: Settings) -> None:
    await _tenant_with_invoices(settings, "acme")
    assert (await client.post("/hooks/nope/acme", content=b"{}")).status_code == 404
    assert (await client.post("/hooks/sandbox/no-such-tenant", content=b"{}")).status_code == 404


async def test_mercadopago_forged_unsigned_and_stale_get_401(
    client: httpx.AsyncClient, settings: Settings, fake_mp: FakeMercadoPago
) -> None:
    _, scope, *_ = await _tenant_with_invoices(settings, "acme")
    for note in (fake_mp.forged_webhook("123"), fake_mp.stale_webhook("123", MP_SECRET)):
        response = await client.post(
            "/hooks/mercadopago/acme", params=note.query, content=note.body, headers=note.headers
        )
        assert response.status_code == 401
    unsigned = await client.post(
        "/hooks/mercadopago/acme?data.id=123&type=payment",
        content=b'{"type":"payment","data":{"id":"123"}}',
    )
    assert unsigned.status_code == 401
    assert await scope.count(ProviderEvent) == 0


@pytest.mark.slow
async def test_mercadopago_preference_to_approved_payment_applied_once(
    client: httpx.AsyncClient, settings: Settings, fake_mp: FakeMercadoPago
) -> None:
    tenant, scope, customer, invoices = await _tenant_with_invoices(settings, "acme")
    payment, result = await _checkout(
        settings, tenant, scope, customer, invoices, "mercadopago", "k-mp"
    )
    assert result.kind == "redirect" and fake_mp.preferences
    paid = fake_mp.pay_preference(fake_mp.last_preference_id, status="approved")
    note = fake_mp.signed_webhook(paid["id"], MP_SECRET)

    async def deliver() -> int:
        r = await client.post(
            "/hooks/mercadopago/acme", params=note.query, content=note.body, headers=note.headers
        )
        return r.status_code

    # The same notification, delivered five times at once: 200 each, stored and applied once.
    assert await asyncio.gather(*[deliver() for _ in range(5)]) == [200] * 5
    assert await scope.count(ProviderEvent) == 1
    assert not fake_mp.requests_to("GET", f"/v1/payments/{paid['id']}"), (
        "endpoint must not call the provider"
    )
    await drain_jobs()
    row = await scope.get(Payment, payment.id)
    assert row.status == "approved" and row.provider_payment_id == str(paid["id"])
    applied = [int((await scope.get(Invoice, i.id)).amount_applied) for i in invoices]
    assert applied == [150_000, 99_990]
    # A later redelivery of the same event changes nothing.
    assert await deliver() == 200
    await drain_jobs()
    assert [int((await scope.get(Invoice, i.id)).amount_applied) for i in invoices] == applied


async def test_a_lost_notification_is_recovered_by_the_sweep(
    client: httpx.AsyncClient, settings: Settings, fake_mp: FakeMercadoPago
) -> None:
    from datetime import UTC, datetime

    from recaudo.workers.scheduler import RECONCILE_AFTER, sweep_payments

    tenant, scope, customer, invoices = await _tenant_with_invoices(settings, "acme")
    payment, _ = await _checkout(
        settings, tenant, scope, customer, invoices, "mercadopago", "k-lost"
    )
    fake_mp.pay_preference(fake_mp.last_preference_id, status="approved")  # webhook never arrives
    assert await sweep_payments() == 0, "too early: the notification may still come"
    later = datetime.now(UTC) + RECONCILE_AFTER + timedelta(minutes=1)
    assert await sweep_payments(later) == 1
    assert await sweep_payments(later) == 0, "one check per payment at a time"
    await drain_at(later)
    assert (await scope.get(Payment, payment.id)).status == "approved"
    assert [(await scope.get(Invoice, i.id)).status for i in invoices] == ["paid", "paid"]


async def test_staff_refund_reopens_what_it_covered(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    from recaudo.core.payments.refunds import refund_payment

    tenant, scope, customer, invoices = await _tenant_with_invoices(settings, "acme")
    payment, result = await _checkout(settings, tenant, scope, customer, invoices, "sandbox", "k-r")
    await client.get(result.redirect_url)
    await client.post(
        result.redirect_url, data={"decision": "approve", "_csrf_token": csrf_of(client)}
    )
    await drain_jobs()
    with pytest.raises(ledger.PaymentError, match="at most"):
        await refund_payment(scope, payment.id, 10**9, idempotency_key="r0", actor="staff:1")
    refunded = await refund_payment(
        scope, payment.id, 99_990, idempotency_key="r1", actor="staff:1"
    )
    assert refunded.status == "partially_refunded" and refunded.amount_refunded == 99_990
    statuses = [(await scope.get(Invoice, i.id)).status for i in invoices]
    # Allocations are reversed newest first: the second invoice (99,990) reopens entirely.
    assert sorted(statuses) == ["open", "paid"]


async def test_a_provider_the_tenant_did_not_enable_answers_401(
    client: httpx.AsyncClient, settings: Settings, fake_mp: FakeMercadoPago
) -> None:
    tenant = await make_tenant("sin-mp")
    note = fake_mp.signed_webhook("123", MP_SECRET)
    response = await client.post(
        "/hooks/mercadopago/sin-mp", params=note.query, content=note.body, headers=note.headers
    )
    assert response.status_code == 401
    assert await TenantScope(int(tenant.id)).count(ProviderEvent) == 0
