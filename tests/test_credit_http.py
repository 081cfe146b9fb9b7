"""The credit page over HTTP: evaluation and reasons shown, decisions by acting staff only (CSRF,
audited, listed with what was seen), bad input a 400 that changes nothing, another tenant's
customer a 404 on every route; the limit warning on the invoice page and in the API."""

from __future__ import annotations

import httpx

from recaudo.core.tables import AuditEvent, CreditDecision, Customer
from tests import api_support
from tests.api_support import ApiWorld, invoice_body
from tests.test_staff_http import World, post, signed_in
from tests.test_staff_http import world as world

api_world = api_support.api_world
api = api_support.api


def credit_url(side: object, customer_id: int) -> str:
    return f"{side.staff}/clientes/{customer_id}/credito"  # type: ignore[attr-defined]


async def test_page_shows_the_evaluation_and_the_customer_page_links_it(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "viewer") as c:
        page = await c.get(credit_url(a, a.customer))
        assert page.status_code == 200, page.text
        # the seeded customer owes two invoices 10 days past due and has an open dispute
        assert 'data-score="' in page.text and 'id="credit-reasons"' in page.text
        assert "Tiene 2 facturas vencidas sin pagar" in page.text
        assert "Tiene 1 disputas abiertas y 0 cerradas (−5 puntos)." in page.text
        assert 'id="credit-form"' not in page.text  # viewers read only
        english = await c.get(credit_url(a, a.customer) + "?lang=en")
        assert "Risk score" in english.text and "past due" in english.text
        customer = await c.get(f"{a.staff}/clientes/{a.customer}")
        assert f'href="{credit_url(a, a.customer)}"' in customer.text


async def test_collector_decides_and_the_history_shows_it(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "collector") as c:
        r = await post(
            c,
            a,
            credit_url(a, a.customer),
            {"decision": "adjusted", "limite": "2,500.00", "plazo": "20", "nota": "Revisado"},
        )
        assert r.status_code == 303, r.text
        page = await c.get(r.headers["location"])
        assert "Decisión guardada." in page.text
        assert 'data-decision="adjusted"' in page.text and "Revisado" in page.text
        assert "$2,500.00" in page.text and "20 días" in page.text
    row = await a.scope.get(Customer, a.customer)
    assert row is not None and (row.credit_limit, row.credit_terms_days) == (250_000, 20)
    assert await a.scope.count(AuditEvent).where(AuditEvent.action == "credit.decided") == 1


async def test_viewer_cannot_decide_and_bad_input_is_a_400(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "viewer") as c:
        r = await post(c, a, credit_url(a, a.customer), {"decision": "refused"})
        assert r.status_code == 403
    async with signed_in(world, a, "owner") as c:
        for form, message in (
            ({"decision": "maybe"}, "Elige aprobar, ajustar, rechazar o dejar en espera."),
            ({"decision": "adjusted", "limite": "abc", "plazo": "10"}, "Escribe"),
            ({"decision": "adjusted", "limite": "100", "plazo": "400"}, "de 0 a 365"),
            ({"decision": "adjusted", "limite": "100", "plazo": "-1"}, "de 0 a 365"),
            ({"decision": "hold", "nota": "x" * 501}, "500 caracteres"),
        ):
            r = await post(c, a, credit_url(a, a.customer), form)
            assert r.status_code == 400, (form, r.status_code)
            assert message in r.text, form
        # without the CSRF token nothing is decided
        r = await c.post(credit_url(a, a.customer), data={"decision": "refused"})
        assert r.status_code == 403
    assert await a.scope.count(CreditDecision) == 0
    row = await a.scope.get(Customer, a.customer)
    assert row is not None and row.credit_limit is None


async def test_other_tenants_customer_is_404_on_every_route(world: World) -> None:
    a, b = world.a, world.b
    async with signed_in(world, a, "owner") as c:
        assert (await c.get(credit_url(a, b.customer))).status_code == 404
        assert (await c.get(credit_url(a, 2**40))).status_code == 404
        r = await post(c, a, credit_url(a, b.customer), {"decision": "refused"})
        assert r.status_code == 404
    assert await b.scope.count(CreditDecision) == 0
    row = await b.scope.get(Customer, b.customer)
    assert row is not None and row.credit_limit is None


async def test_invoice_page_warns_when_the_limit_is_exceeded(world: World) -> None:
    a = world.a
    invoice = f"{a.staff}/facturas/{a.invoices[0]}"
    async with signed_in(world, a, "collector") as c:
        assert 'id="credit-warning"' not in (await c.get(invoice)).text  # no limit yet
        await a.scope.update(Customer, {Customer.credit_limit: 100_000}).where(
            Customer.id == a.customer
        )
        page = await c.get(invoice)  # 1,000.00 + 500.00 open against 1,000.00
        assert 'id="credit-warning"' in page.text
        assert "supera su límite de crédito ($1,000.00) por $500.00" in page.text
        english = await c.get(invoice + "?lang=en")
        assert "exceeds their credit limit" in english.text


async def test_api_create_invoice_returns_the_warning(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    first = await api.post("/api/v1/invoices", json=invoice_body(a.customer, "W-1"), headers=a.w)
    assert first.status_code == 201 and "warnings" not in first.json()
    await a.scope.update(Customer, {Customer.credit_limit: 1}).where(Customer.id == a.customer)
    r = await api.post("/api/v1/invoices", json=invoice_body(a.customer, "W-2"), headers=a.w)
    assert r.status_code == 201, r.text
    (warning,) = r.json()["warnings"]
    assert "supera su límite de crédito" in warning
    listed = await api.get(f"/api/v1/invoices/{r.json()['id']}", headers=a.r)
    assert "warnings" not in listed.json()


async def test_api_bulk_create_warns_from_the_invoice_that_crosses_the_limit(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    open_before = sum(
        i["balance"]
        for i in (await api.get("/api/v1/invoices", headers=a.r)).json()["data"]
        if i["customer_id"] == a.customer and i["status"] != "void"
    )
    # room for exactly one more invoice of 1,234.50: the first fits, the next two go over
    limit = open_before + 123_450
    await a.scope.update(Customer, {Customer.credit_limit: limit}).where(Customer.id == a.customer)
    body = {"invoices": [invoice_body(a.customer, f"B-{n}") for n in (1, 2, 3)]}
    r = await api.post("/api/v1/invoices/bulk", json=body, headers=a.w)
    assert r.status_code == 201, r.text
    first, second, third = r.json()["data"]
    assert "warnings" not in first
    assert "supera su límite de crédito" in second["warnings"][0]
    assert "por $1,234.50" in second["warnings"][0]
    assert "por $2,469.00" in third["warnings"][0]
    # without a limit, no warning
    await a.scope.update(Customer, {Customer.credit_limit: None}).where(Customer.id == a.customer)
    again = await api.post(
        "/api/v1/invoices/bulk", json={"invoices": [invoice_body(a.customer, "B-4")]}, headers=a.w
    )
    assert again.status_code == 201 and "warnings" not in again.json()["data"][0]
