"""``Idempotency-Key`` on the API's POSTs, with Stripe's semantics, also under concurrency
(on SQLite and, when configured, PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from recaudo.core.tables import Customer, IdempotencyRecord, Invoice
from tests import api_support
from tests.api_support import ApiWorld, invoice_body

api_world = api_support.api_world  # two tenants with data and keys
api = api_support.api  # an HTTP client to the whole app


async def test_same_key_same_body_replays_byte_for_byte(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    body = invoice_body(a.customer, "I-1")
    headers = {**a.w, "Idempotency-Key": "pedido-123"}
    first = await api.post("/api/v1/invoices", json=body, headers=headers)
    again = await api.post("/api/v1/invoices", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await a.scope.count(Invoice) == 3  # two seeded, one created

    other = await api.post(
        "/api/v1/invoices", json={**body, "description": "otra"}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    # The same key on another route is another request too.
    r = await api.post("/api/v1/customers", json={"number": "C-2", "name": "Dos"}, headers=headers)
    assert r.status_code == 422 and await a.scope.count(Customer) == 1
    assert await a.scope.count(Invoice) == 3


async def test_keys_belong_to_their_tenant(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a, b = api_world.a, api_world.b
    key = {"Idempotency-Key": "compartida"}
    ra = await api.post(
        "/api/v1/customers", json={"number": "N-1", "name": "A"}, headers={**a.w, **key}
    )
    rb = await api.post(
        "/api/v1/customers", json={"number": "N-1", "name": "A"}, headers={**b.w, **key}
    )
    assert ra.status_code == rb.status_code == 201
    assert ra.json()["id"] != rb.json()["id"]


async def test_a_refused_request_is_stored_and_replayed(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    headers = {**a.w, "Idempotency-Key": "dup-number"}
    body = invoice_body(a.customer, "F-1")  # number already used
    first = await api.post("/api/v1/invoices", json=body, headers=headers)
    assert first.status_code == 409
    # Even once the number is free, the key answers what it answered the first time.
    await a.scope.update(Invoice, {Invoice.number: "F-1-old"}).where(Invoice.number == "F-1")
    again = await api.post("/api/v1/invoices", json=body, headers=headers)
    assert again.status_code == 409 and again.content == first.content
    records = await a.scope.objects(IdempotencyRecord)
    assert [(r.state, r.response_status) for r in records] == [("done", 409)]


async def test_a_bulk_refused_midway_changes_nothing_and_replays(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    items = [invoice_body(a.customer, f"Q-{i}") for i in range(3)]
    items.append(invoice_body(a.customer, "F-2"))  # found taken only while inserting
    headers = {**a.w, "Idempotency-Key": "bulk-1"}
    first = await api.post("/api/v1/invoices/bulk", json={"invoices": items}, headers=headers)
    assert first.status_code == 409, first.text
    assert first.json()["errors"][0]["field"] == "invoices[3].number"
    assert await a.scope.count(Invoice) == 2
    again = await api.post("/api/v1/invoices/bulk", json={"invoices": items}, headers=headers)
    assert again.content == first.content and await a.scope.count(Invoice) == 2


async def test_records_expire_after_a_day(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    headers = {**a.w, "Idempotency-Key": "vieja"}
    body = {"number": "E-1", "name": "Uno"}
    assert (await api.post("/api/v1/customers", json=body, headers=headers)).status_code == 201
    old = datetime.now(UTC) - timedelta(hours=25)
    await a.scope.update(IdempotencyRecord, {IdempotencyRecord.created_at: old})
    # Expired: the key is free again, so this is a new request (and its number is taken).
    r = await api.post("/api/v1/customers", json={**body, "name": "Otro"}, headers=headers)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "number"


async def test_bad_keys_are_refused(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    body = {"number": "K-1", "name": "Uno"}
    for key in ("", "x" * 256):
        r = await api.post("/api/v1/customers", json=body, headers={**a.w, "Idempotency-Key": key})
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await a.scope.count(Customer) == 1


async def test_concurrent_requests_with_one_key_execute_once(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    body = invoice_body(a.customer, "C-1")
    headers = {**a.w, "Idempotency-Key": "carrera"}
    responses = await asyncio.gather(
        *[api.post("/api/v1/invoices", json=body, headers=headers) for _ in range(12)]
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, [r.text for r in responses]
    created = [r for r in responses if r.status_code == 201]
    assert created and len({r.content for r in created}) == 1
    assert await a.scope.count(Invoice).where(Invoice.number == "C-1") == 1
    assert await a.scope.count(IdempotencyRecord) == 1
