"""The customer's CFDIs in the portal: the invoice shows its XML/PDF links, the payments page
shows each payment's complement beside it, the old ``cfdi.xml`` address serves the stamped XML
through the service, and a customer downloads only their own documents (another customer's or
another tenant's id, or a failed attempt, is a 404)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from recaudo.core.platform.host import PluginHost
from recaudo.core.tables import Invoice, Payment
from recaudo.tenants.scoped import TenantScope
from tests.einvoice_web_fake import WebFakeBackend, enable, install
from tests.portal_support import Env, login, make_shop, open_env


@pytest.fixture
def fake(host: PluginHost) -> WebFakeBackend:
    return install(host)


@pytest.fixture
async def env(database: str, fake: WebFakeBackend) -> AsyncIterator[Env]:
    e = await open_env(database)
    await enable(e.shop.scope)
    yield e
    await e.client.aclose()


async def _payment(scope: TenantScope, customer: int, key: str) -> int:
    payment = Payment(
        customer=customer,
        method="banktransfer",
        status="approved",
        currency="MXN",
        amount=50_000,
        idempotency_key=key,
        requested_invoices=[],
        checkout={},
    )
    await scope.add(payment)
    return int(payment.id)


async def test_invoice_links_and_downloads(env: Env, fake: WebFakeBackend) -> None:
    shop, me = env.shop, env.customer
    invoice = env.invoice_ids()[0]
    t = shop.scope.tenant_id
    doc = fake.add(t, invoice_id=invoice, customer_id=int(me.id), series="F", folio="9")
    await login(env.client, shop, me)
    page = await env.client.get(f"{shop.prefix}/facturas/{invoice}")
    assert page.status_code == 200
    assert f'href="{shop.prefix}/cfdi/{doc.id}/xml"' in page.text
    assert f'href="{shop.prefix}/cfdi/{doc.id}/pdf"' in page.text and doc.fiscal_id in page.text

    xml = await env.client.get(f"{shop.prefix}/cfdi/{doc.id}/xml")
    assert xml.status_code == 200 and doc.fiscal_id.encode() in xml.content
    assert xml.headers["x-content-type-options"] == "nosniff"
    assert xml.headers["content-disposition"] == f'attachment; filename="{doc.fiscal_id}.xml"'
    pdf = await env.client.get(f"{shop.prefix}/cfdi/{doc.id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # The address the portal always had serves the stamped document now.
    old = await env.client.get(f"{shop.prefix}/facturas/{invoice}/cfdi.xml")
    assert old.status_code == 200 and old.content == xml.content

    # An invoice without a document: no links, and its cfdi.xml is a 404.
    other = env.invoice_ids()[1]
    plain = await env.client.get(f"{shop.prefix}/facturas/{other}")
    assert "/cfdi/" not in plain.text
    assert (await env.client.get(f"{shop.prefix}/facturas/{other}/cfdi.xml")).status_code == 404


async def test_payments_page_shows_the_complement(env: Env, fake: WebFakeBackend) -> None:
    shop, me = env.shop, env.customer
    paid = await _payment(shop.scope, int(me.id), "p-1")
    bare = await _payment(shop.scope, int(me.id), "p-2")
    t = shop.scope.tenant_id
    doc = fake.add(t, kind="payment", type_code="P", payment_id=paid, customer_id=int(me.id))
    failed = fake.add(
        t,
        kind="payment",
        type_code="P",
        payment_id=bare,
        customer_id=int(me.id),
        status="failed",
        fiscal_id="",
        files=(),
    )
    await login(env.client, shop, me)
    page = await env.client.get(f"{shop.prefix}/pagos")
    assert page.status_code == 200
    row = page.text.split(f'href="{shop.prefix}/pagos/{paid}"', 1)[1].split("</tr>", 1)[0]
    assert "Complemento de pago (CFDI)" in row and f"/cfdi/{doc.id}/xml" in row
    other_row = page.text.split(f'href="{shop.prefix}/pagos/{bare}"', 1)[1].split("</tr>", 1)[0]
    assert "Complemento" not in other_row
    assert (await env.client.get(f"{shop.prefix}/cfdi/{doc.id}/pdf")).status_code == 200
    assert (await env.client.get(f"{shop.prefix}/cfdi/{failed.id}/xml")).status_code == 404


async def test_only_own_documents(env: Env, fake: WebFakeBackend, database: str) -> None:
    shop, me, luis = env.shop, env.customer, env.shop.customers[1]
    t = shop.scope.tenant_id
    mine = fake.add(t, invoice_id=env.invoice_ids()[0], customer_id=int(me.id))
    his = fake.add(t, invoice_id=env.invoice_ids(1)[0], customer_id=int(luis.id))
    his_payment = await _payment(shop.scope, int(luis.id), "p-luis")
    # A document without customer_id is matched through its payment.
    his_complement = fake.add(t, kind="payment", type_code="P", payment_id=his_payment)
    elsewhere = await make_shop("otra")
    await enable(elsewhere.scope)
    foreign = fake.add(
        elsewhere.scope.tenant_id,
        invoice_id=elsewhere.invoices[int(elsewhere.customers[0].id)][0],
        customer_id=int(elsewhere.customers[0].id),
    )
    await login(env.client, shop, me)
    assert (await env.client.get(f"{shop.prefix}/cfdi/{mine.id}/xml")).status_code == 200
    for doc in (his, his_complement, foreign):
        for fmt in ("xml", "pdf"):
            r = await env.client.get(f"{shop.prefix}/cfdi/{doc.id}/{fmt}")
            assert r.status_code == 404, (doc.id, fmt)
    assert (await env.client.get(f"{shop.prefix}/cfdi/999999/xml")).status_code == 404
    his_invoice = env.invoice_ids(1)[0]
    r = await env.client.get(f"{shop.prefix}/facturas/{his_invoice}/cfdi.xml")
    assert r.status_code == 404
    page = await env.client.get(f"{shop.prefix}/pagos")
    assert f"/cfdi/{his_complement.id}/" not in page.text


async def test_a_cancelled_cfdi_is_not_the_invoices_any_more(
    env: Env, fake: WebFakeBackend
) -> None:
    shop, me = env.shop, env.customer
    invoice = env.invoice_ids()[0]
    fake.add(shop.scope.tenant_id, invoice_id=invoice, customer_id=int(me.id), status="cancelled")
    await shop.scope.update(
        Invoice,
        {Invoice.einvoice_xml: "<cfdi:Comprobante/>", Invoice.einvoice_status: "cancelled"},
    ).where(Invoice.id == invoice)
    await login(env.client, shop, me)
    page = await env.client.get(f"{shop.prefix}/facturas/{invoice}")
    assert 'id="cfdi"' not in page.text and "cfdi.xml" not in page.text
    assert (await env.client.get(f"{shop.prefix}/facturas/{invoice}/cfdi.xml")).status_code == 404
