"""The REST API's resources: customers, invoices (single and bulk), payments and plans, with
cursor pagination, filters and money as integer minor units."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from recaudo.core.tables import AuditEvent, Customer, Invoice
from tests import api_support
from tests.api_support import ApiWorld, invoice_body

api_world = api_support.api_world  # two tenants with data and keys
api = api_support.api  # an HTTP client to the whole app


async def test_create_get_update_and_list_customers(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    r = await api.post(
        "/api/v1/customers",
        json={"number": "C-77", "name": "Ferretería Ñandú", "email": "PAGOS@Nandu.mx"},
        headers=a.w,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["number"] == "C-77" and created["email"] == "pagos@nandu.mx"
    assert created["tax_country"] == "MX"  # the tenant's country by default
    cid = created["id"]
    assert (await api.get(f"/api/v1/customers/{cid}", headers=a.r)).json() == created

    r = await api.patch(f"/api/v1/customers/{cid}", json={"phone": "+52 55 1234 5678"}, headers=a.w)
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "+525512345678" and r.json()["name"] == "Ferretería Ñandú"
    r = await api.patch(f"/api/v1/customers/{cid}", json={"email": "no es correo"}, headers=a.w)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "email"
    assert (await a.scope.get(Customer, cid)).email == "pagos@nandu.mx"  # type: ignore[union-attr]

    r = await api.get("/api/v1/customers", params={"number": "C-77"}, headers=a.r)
    assert [c["id"] for c in r.json()["data"]] == [cid] and r.json()["next"] is None
    actions = {e.action for e in await a.scope.objects(AuditEvent)}
    assert {"customer.created", "customer.updated"} <= actions


async def test_customer_errors_name_the_field(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    r = await api.post("/api/v1/customers", json={"number": "C-1", "name": "Otra"}, headers=a.w)
    assert r.status_code == 409
    assert r.json()["errors"] == [
        {"field": "number", "message": "'C-1': already used by another customer"}
    ]
    r = await api.post(
        "/api/v1/customers", json={"number": "C-9", "name": "X", "tax_id": "NOPE"}, headers=a.w
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "tax_id"
    r = await api.post("/api/v1/customers", json={"name": "Sin número"}, headers=a.w)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "number"
    assert await a.scope.count(Customer) == 1


async def test_create_an_invoice_in_minor_units(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    body = invoice_body(a.customer, "F-100", tax=19_752, external_id="ERP-100")
    r = await api.post("/api/v1/invoices", json=body, headers=a.w)
    assert r.status_code == 201, r.text
    inv = r.json()
    assert inv["subtotal"] == 123_450 and inv["tax"] == 19_752 and inv["total"] == 143_202
    assert inv["balance"] == 143_202 and inv["amount_paid"] == 0
    assert inv["currency"] == "MXN" and inv["status"] == "open"
    # by default an invoice is issued on the tenant's today (Mexico City), not the machine's
    assert inv["issue_date"] == datetime.now(ZoneInfo("America/Mexico_City")).date().isoformat()
    assert inv["lines"] == [
        {"description": "Renta", "quantity": 2, "unit_amount": 61_725, "amount": 123_450}
    ]
    assert (await api.get(f"/api/v1/invoices/{inv['id']}", headers=a.r)).json() == inv


async def test_invoice_errors(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a, b = api_world.a, api_world.b
    cases = [
        (invoice_body(b.customer, "X-1"), 422, "customer_id"),  # another tenant's customer
        (invoice_body(a.customer, "F-1"), 409, "number"),
        (invoice_body(a.customer, "X-2", currency="XXZ"), 422, "currency"),
        (invoice_body(a.customer, "X-3", issue_date="2099-01-01"), 422, "due_date"),
        (invoice_body(a.customer, "X-4", lines=[]), 400, "lines"),
        (
            invoice_body(a.customer, "X-5", lines=[{"description": "a", "unit_amount": -1}]),
            400,
            "lines[0].unit_amount",
        ),
        (
            invoice_body(a.customer, "X-6", lines=[{"description": "a", "unit_amount": 1.5}]),
            400,
            "lines[0].unit_amount",
        ),
        (invoice_body(a.customer, "X-7", due_date="mañana"), 400, "due_date"),
        (
            invoice_body(
                a.customer,
                "X-8",
                lines=[{"description": "a", "unit_amount": 10**15, "quantity": 1000}],
            ),
            422,
            "total",
        ),
    ]
    before = await a.scope.count(Invoice)
    for body, status, field in cases:
        r = await api.post("/api/v1/invoices", json=body, headers=a.w)
        assert r.status_code == status, (body, r.text)
        assert r.json()["status_code"] == status
        assert field in [e["field"] for e in r.json()["errors"]], (body, r.text)
    assert await a.scope.count(Invoice) == before


async def test_bulk_create_is_all_or_nothing(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    good = [invoice_body(a.customer, f"B-{i}") for i in range(5)]
    bad = [*good[:3], invoice_body(a.customer, "B-3", due_date="2000-01-01"), good[4]]
    before = await a.scope.count(Invoice)
    r = await api.post("/api/v1/invoices/bulk", json={"invoices": bad}, headers=a.w)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["invoices[3].due_date"]
    dup = [*good[:2], invoice_body(a.customer, "F-2")]
    r = await api.post("/api/v1/invoices/bulk", json={"invoices": dup}, headers=a.w)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "invoices[2].number"
    assert await a.scope.count(Invoice) == before

    r = await api.post("/api/v1/invoices/bulk", json={"invoices": good}, headers=a.w)
    assert r.status_code == 201, r.text
    assert [i["number"] for i in r.json()["data"]] == [f"B-{i}" for i in range(5)]
    assert await a.scope.count(Invoice) == before + 5

    too_many = {"invoices": [invoice_body(a.customer, f"M-{i}") for i in range(1001)]}
    r = await api.post("/api/v1/invoices/bulk", json=too_many, headers=a.w)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "invoices"


async def test_cursor_pagination_walks_every_invoice_once(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    body = {"invoices": [invoice_body(a.customer, f"P-{i}") for i in range(7)]}
    assert (await api.post("/api/v1/invoices/bulk", json=body, headers=a.w)).status_code == 201
    seen: list[int] = []
    url, params = "/api/v1/invoices", {"limit": "2"}
    pages = 0
    while True:
        page = (await api.get(url, params=params, headers=a.r)).json()
        assert len(page["data"]) <= 2
        seen += [i["id"] for i in page["data"]]
        pages += 1
        if page["next"] is None:
            break
        params = {"limit": "2", "cursor": page["next"]}
    assert pages == 5 and len(seen) == 9 == len(set(seen))
    assert seen == sorted(seen, reverse=True)  # newest first
    assert len((await api.get(url, headers=a.r)).json()["data"]) == 9  # default limit 50
    for bad in ({"limit": "0"}, {"limit": "501"}, {"cursor": "nope"}, {"limit": "x"}):
        r = await api.get(url, params=bad, headers=a.r)
        assert r.status_code == 400, bad
        assert r.json()["errors"][0]["field"] in bad


async def test_invoice_filters(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    today = date.today()

    async def numbers(**params: str) -> list[str]:
        r = await api.get("/api/v1/invoices", params=params, headers=a.r)
        assert r.status_code == 200, r.text
        return sorted(i["number"] for i in r.json()["data"])

    assert await numbers(status="open") == ["F-1", "F-2"]
    assert await numbers(status="paid") == []
    assert await numbers(customer_id=str(a.customer)) == ["F-1", "F-2"]
    assert await numbers(customer_id=str(api_world.b.customer)) == []
    assert await numbers(external_id="ERP-F-2") == ["F-2"]
    assert await numbers(due_to=today.isoformat()) == ["F-1"]
    assert await numbers(due_from=today.isoformat()) == ["F-2"]
    assert await numbers(issued_from=(today - timedelta(days=40)).isoformat()) == ["F-1", "F-2"]
    assert await numbers(issued_to=(today - timedelta(days=41)).isoformat()) == []
    r = await api.get("/api/v1/invoices", params={"status": "bogus"}, headers=a.r)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "status"


async def test_payments_and_plans(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    page = (await api.get("/api/v1/payments", headers=a.r)).json()
    assert [(p["id"], p["amount"], p["currency"]) for p in page["data"]] == [
        (a.payment, 10_000, "MXN")
    ]
    r = await api.get(f"/api/v1/payments/{a.payment}", headers=a.r)
    assert r.json()["status"] == "confirmed"
    assert (await api.get("/api/v1/payments", params={"status": "failed"}, headers=a.r)).json()[
        "data"
    ] == []
    plans = (await api.get("/api/v1/plans", headers=a.r)).json()["data"]
    assert len(plans) == 1 and plans[0]["invoice_ids"] == [a.invoices[1]]
    plan = (await api.get(f"/api/v1/plans/{a.plan}", headers=a.r)).json()
    assert [i["amount"] for i in plan["installments"]] == [25_000, 25_000]
