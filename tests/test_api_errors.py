"""Hostile and malformed input to the API: always a JSON 4xx naming the field, never a 500,
and nothing changes."""

from __future__ import annotations

import httpx

from recaudo.core.tables import Customer, IdempotencyRecord, Invoice
from tests import api_support
from tests.api_support import ApiWorld, invoice_body

api_world = api_support.api_world  # two tenants with data and keys
api = api_support.api  # an HTTP client to the whole app


async def test_malformed_bodies_are_4xx_and_change_nothing(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    good = invoice_body(a.customer, "H-1")
    json_headers = {**a.w, "content-type": "application/json"}
    raw_cases: list[tuple[str, bytes, int, str]] = [
        ("/api/v1/customers", b"{bad json", 400, "body"),
        ("/api/v1/customers", b"", 400, "body"),
        ("/api/v1/customers", b"[]", 400, "body"),
        ("/api/v1/customers", b'{"number": 5, "name": "x"}', 400, "number"),
        ("/api/v1/customers", b'{"number": "x", "name": "y", "admin": true}', 400, "body"),
        ("/api/v1/customers", b'{"number": "x\\u0000", "name": "y"}', 400, "number"),
        ("/api/v1/customers", b'{"number": "x\\ud800", "name": "y"}', 400, "body"),
        ("/api/v1/customers", b"\xff\xfe not utf-8", 400, "body"),
        ("/api/v1/customers", b'{"number": "' + b"9" * 70 + b'", "name": "y"}', 400, "number"),
        ("/api/v1/invoices", b"[" * 50_000 + b"]" * 50_000, 400, "body"),
        ("/api/v1/invoices", b'{"a":' * 20_000 + b"1" + b"}" * 20_000, 400, "body"),
        (
            "/api/v1/invoices/bulk",
            b'{"invoices": "' + b"x" * (3 * 1024 * 1024) + b'"}',
            413,
            "body",
        ),
    ]
    for path, body, status, field in raw_cases:
        r = await api.post(path, content=body, headers=json_headers)
        assert r.status_code == status, (path, body[:60], r.text[:300])
        data = r.json()
        assert data["status_code"] == status and data["detail"]
        assert field in [e["field"] for e in data["errors"]], (body[:60], data)

    typed_cases = [
        ({**good, "customer_id": 2**31}, "customer_id"),
        ({**good, "customer_id": 10**30}, "customer_id"),
        ({**good, "tax": -1}, "tax"),
        ({**good, "tax": 1e20}, "tax"),
        ({**good, "currency": "mxn"}, "currency"),
        ({**good, "due_date": "2026-02-30"}, "due_date"),
        ({**good, "lines": [{"description": "", "unit_amount": 1}]}, "lines[0].description"),
        (
            {**good, "lines": [{"description": "a", "unit_amount": 1, "quantity": 0}]},
            "lines[0].quantity",
        ),
        ({**good, "lines": "muchas"}, "lines"),
        ({**good, "number": None}, "number"),
        ({**good, "description": "👍" * 501}, "description"),
    ]
    for body, field in typed_cases:
        r = await api.post("/api/v1/invoices", json=body, headers=a.w)
        assert r.status_code == 400, (body, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (body, r.text)

    assert await a.scope.count(Invoice) == 2 and await a.scope.count(Customer) == 1
    assert await a.scope.count(IdempotencyRecord) == 0


async def test_odd_but_valid_unicode_is_kept(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    name = "Ñandú 👩🏽‍💻 \u202e عربى ‏"
    r = await api.post("/api/v1/customers", json={"number": "U-1", "name": name}, headers=a.w)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == " ".join(name.split()) or r.json()["name"] == name.strip()


async def test_unknown_routes_and_methods_are_json(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    r = await api.get("/api/v1/nada", headers=a.r)
    assert r.status_code == 404 and r.json()["status_code"] == 404
    r = await api.delete(f"/api/v1/invoices/{a.invoices[0]}", headers=a.w)
    assert r.status_code == 405 and r.json()["status_code"] == 405
    assert await a.scope.count(Invoice) == 2
    r = await api.get("/api/v1/invoices", params={"due_from": "ayer"}, headers=a.r)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "due_from"
    r = await api.get("/api/v1/invoices", params={"customer_id": "uno"}, headers=a.r)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "customer_id"
