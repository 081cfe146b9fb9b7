"""Changes through the API with the back office's services: manual payments, voids and credit
notes (idempotent, audited with the key as actor, another tenant's ids 404)."""

from __future__ import annotations

import httpx

from recaudo.core.tables import AuditEvent, CreditNote, Invoice, Payment
from tests import api_support
from tests.api_support import ApiWorld

api_world = api_support.api_world  # two tenants with data and keys
api = api_support.api  # an HTTP client to the whole app


async def test_record_a_manual_payment(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a, b = api_world.a, api_world.b
    body = {
        "customer_id": a.customer,
        "amount": 30_000,
        "method": "transfer",
        "reference": "SPEI-0042",
        "invoice_ids": [a.invoices[1]],
    }
    headers = {**a.w, "Idempotency-Key": "pago-42"}
    r = await api.post("/api/v1/payments", json=body, headers=headers)
    assert r.status_code == 201, r.text
    paid = r.json()
    assert paid["amount"] == 30_000 and paid["currency"] == "MXN" and paid["method"] == "transfer"
    again = await api.post("/api/v1/payments", json=body, headers=headers)
    assert again.content == r.content
    invoice = (await api.get(f"/api/v1/invoices/{a.invoices[1]}", headers=a.r)).json()
    assert invoice["balance"] == 20_000 and invoice["status"] == "partially_paid"
    assert await a.scope.count(Payment) == 2  # the seeded one and this one
    events = await a.scope.objects(AuditEvent).where(AuditEvent.action == "payment.manual")
    assert [str(e.actor).startswith("apikey:") for e in events] == [True]

    bad = [
        ({**body, "method": "bitcoin"}, 400, "method"),
        ({**body, "amount": 0}, 400, "amount"),
        ({**body, "reference": "X-1", "customer_id": b.customer}, 422, "customer_id"),
        ({**body, "reference": "X-2", "invoice_ids": [b.invoices[0]]}, 422, "invoice_ids"),
    ]
    for data, status, field in bad:
        r = await api.post("/api/v1/payments", json=data, headers=a.w)
        assert r.status_code == status, (data, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (data, r.text)
    r = await api.post("/api/v1/payments", json=body, headers=a.r)
    assert r.status_code == 403
    assert await a.scope.count(Payment) == 2


async def test_void_and_credit_note(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a, b = api_world.a, api_world.b
    inv0, inv1 = a.invoices
    url = f"/api/v1/invoices/{inv1}/credit_notes"
    r = await api.post(url, json={"amount": 5_000, "reason": "Descuento"}, headers=a.w)
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == 5_000 and r.json()["invoice_id"] == inv1
    invoice = (await api.get(f"/api/v1/invoices/{inv1}", headers=a.r)).json()
    assert invoice["total"] == 45_000 and invoice["balance"] == 45_000
    r = await api.post(url, json={"amount": 10**6, "reason": "Demasiado"}, headers=a.w)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "amount"
    assert await a.scope.count(CreditNote) == 1

    r = await api.post(f"/api/v1/invoices/{inv0}/void", json={"reason": "Duplicada"}, headers=b.w)
    assert r.status_code == 404
    r = await api.post(f"/api/v1/invoices/{inv0}/void", json={"reason": "Duplicada"}, headers=a.w)
    assert r.status_code == 200 and r.json()["status"] == "void" and r.json()["balance"] == 0
    r = await api.post(f"/api/v1/invoices/{inv0}/void", json={"reason": "Otra vez"}, headers=a.w)
    assert r.status_code == 409 and "void" in r.json()["detail"]
    r = await api.post(f"/api/v1/invoices/{inv0}/void", json={"reason": "  "}, headers=a.w)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    voided = await a.scope.get(Invoice, inv0)
    assert voided is not None and voided.status == "void"
    assert (await b.scope.get(Invoice, b.invoices[0])).status == "open"  # type: ignore[union-attr]
