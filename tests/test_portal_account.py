"""Statement, invoices and tenant isolation over HTTP."""

from __future__ import annotations

import re

import pytest

from recaudo.core.tables import Invoice
from tests.portal_support import Env, login, make_shop, open_env


@pytest.fixture
async def env(database: str, host: object) -> Env:
    e = await open_env(database)
    yield e
    await e.client.aclose()


def figure(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]+)<', html)
    assert match, element_id
    return match.group(1)


async def test_statement_shows_balances_ages_and_the_hardship_button(env: Env) -> None:
    await login(env.client, env.shop, env.customer)
    page = await env.client.get(env.shop.prefix + "/estado-de-cuenta")
    assert page.status_code == 200
    assert figure(page.text, "balance-due") == "$1,750.00"
    assert figure(page.text, "overdue") == "$1,500.00"
    assert "40 días de atraso" in page.text and "Al corriente" in page.text
    assert ">No puedo pagar</a>" in page.text
    assert 'name="factura"' in page.text  # checkboxes work without JavaScript


async def test_live_fragment_answers_204_until_something_changes(env: Env) -> None:
    await login(env.client, env.shop, env.customer)
    htmx = {"hx-request": "true"}
    fragment = await env.client.get(env.shop.prefix + "/estado-de-cuenta", headers=htmx)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    version = re.search(r"estado-de-cuenta\?v=(\w+)", fragment.text).group(1)
    same = await env.client.get(env.shop.prefix + f"/estado-de-cuenta?v={version}", headers=htmx)
    assert same.status_code == 204
    invoice_id = env.invoice_ids()[0]
    await env.shop.scope.update(
        Invoice, {Invoice.amount_applied: 100_000, Invoice.status: "paid"}
    ).where(Invoice.id == invoice_id)
    changed = await env.client.get(env.shop.prefix + f"/estado-de-cuenta?v={version}", headers=htmx)
    assert changed.status_code == 200 and "$750.00" in changed.text


async def test_invoice_detail_lines_documents_and_xml(env: Env) -> None:
    invoice_id = env.invoice_ids()[0]
    await env.shop.scope.update(
        Invoice, {Invoice.einvoice_xml: "<cfdi:Comprobante/>", Invoice.einvoice_uuid: "ABC-123"}
    ).where(Invoice.id == invoice_id)
    await login(env.client, env.shop, env.customer)
    base = env.shop.prefix + f"/facturas/{invoice_id}"
    page = await env.client.get(base)
    assert page.status_code == 200 and "Servicio" in page.text and "cfdi.xml" in page.text
    doc = await env.client.get(base + "/documento?descargar=1")
    assert doc.status_code == 200 and "attachment" in doc.headers["content-disposition"]
    xml = await env.client.get(base + "/cfdi.xml")
    assert xml.status_code == 200 and xml.text == "<cfdi:Comprobante/>"
    assert xml.headers["content-type"].startswith("application/xml")
    other = env.invoice_ids()[1]
    assert (
        await env.client.get(env.shop.prefix + f"/facturas/{other}/cfdi.xml")
    ).status_code == 404


async def test_another_customers_or_tenants_ids_are_404(env: Env) -> None:
    other_shop = await make_shop("otra", "CO", "COP")
    foreign = other_shop.invoices[int(other_shop.customers[0].id)][0]
    neighbour = env.invoice_ids(1)[0]  # same tenant, another customer
    await login(env.client, env.shop, env.customer)
    for invoice_id in (foreign, neighbour):
        for suffix in ("", "/documento", "/cfdi.xml", "/aclaracion"):
            response = await env.client.get(env.shop.prefix + f"/facturas/{invoice_id}{suffix}")
            assert response.status_code == 404, (invoice_id, suffix)
    assert (await env.client.get(env.shop.prefix + "/facturas/999999")).status_code == 404
    assert (await env.client.get(env.shop.prefix + "/pagos/999999")).status_code == 404
    assert (await env.client.get(env.shop.prefix + "/pagar?cuota=999999")).status_code == 404
    # Tenant A's session cookie means nothing to tenant B: its pages ask to log in.
    response = await env.client.get(other_shop.prefix + f"/facturas/{foreign}")
    assert response.status_code == 303
    assert response.headers["location"] == (
        f"{other_shop.prefix}/?sesion=expirada&siguiente=%2Ffacturas%2F{foreign}"
    )
    # Foreign invoice ids in a pay selection are simply ignored.
    pay = await env.client.get(env.shop.prefix + f"/pagar?factura={foreign}")
    assert pay.status_code == 400 and str(foreign) not in re.findall(r'value="(\d+)"', pay.text)


async def test_two_tenants_look_like_two_companies(env: Env) -> None:
    other = await make_shop("otra", "CO", "COP")
    mine = await env.client.get(env.shop.prefix + "/")
    theirs = await env.client.get(other.prefix + "/")
    assert env.shop.tenant.name in mine.text and env.shop.tenant.name not in theirs.text
    assert f"{other.prefix}/theme.css" in theirs.text


async def test_colombian_tenant_formats_pesos(database: str, host: object) -> None:
    env = await open_env(database, country="CO", currency="COP")
    try:
        await login(env.client, env.shop, env.customer)
        page = await env.client.get(env.shop.prefix + "/estado-de-cuenta")
        assert "$\xa01.750" in page.text or "$ 1.750" in page.text or "1.750" in page.text
        english = await env.client.get(env.shop.prefix + "/estado-de-cuenta?lang=en")
        assert "Balance due" in english.text and "I can&#39;t pay" in english.text
    finally:
        await env.client.aclose()


async def test_payment_history_lists_payments(env: Env) -> None:
    await login(env.client, env.shop, env.customer)
    page = await env.client.get(env.shop.prefix + "/pagos")
    assert page.status_code == 200 and "Todavía no tienes pagos" in page.text
