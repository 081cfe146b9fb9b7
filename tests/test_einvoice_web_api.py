"""E-invoices over the REST API: an ERP lists, reads and downloads the tenant's CFDIs, issues an
invoice's document (201 new, 200 when it has one, the provider's refusal as a 422 that stays
recorded), cancels with SAT's reasons, and captures customers' fiscal data checked by the
tenant's backend. Another tenant's ids are 404 everywhere; a read key cannot issue or cancel."""

from __future__ import annotations

import httpx

from recaudo.core.einvoicing import service
from recaudo.core.tables import AuditEvent, Customer, Invoice
from recaudo.tenants.plugin_config import set_plugin
from tests import api_support
from tests.api_support import ApiWorld
from tests.einvoice_web_fake import PLUGIN

api_world = api_support.api_world
api = api_support.api

URL = "/api/v1/einvoices"
UUID = "5FB2822E-396D-4725-8521-CDC4BDD20CCF"


async def test_list_get_and_download(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    fake = api_world.fiscal
    complement = fake.add(
        a.scope.tenant_id,
        kind="payment",
        type_code="P",
        payment_id=a.payment,
        customer_id=a.customer,
        invoice_ids=(a.invoices[0],),
    )
    failed = fake.add(
        a.scope.tenant_id,
        status="failed",
        fiscal_id="",
        invoice_id=a.invoices[1],
        error="CFDI40147: el RFC del receptor no existe",
        files=(),
    )

    listed = await api.get(URL, headers=a.r)
    assert listed.status_code == 200, listed.text
    ids = [d["id"] for d in listed.json()["data"]]
    assert ids == [failed.id, complement.id, a.einvoice]  # newest first, this tenant only

    one = (await api.get(f"{URL}/{a.einvoice}", headers=a.r)).json()
    assert one["kind"] == "invoice" and one["type"] == "I" and one["status"] == "issued"
    assert one["invoice_id"] == a.invoices[0] and one["customer_id"] == a.customer
    assert one["total"] == {"amount": 100_000, "currency": "MXN"}
    assert (one["series"], one["folio"], one["payment_terms"]) == ("F", "1", "PPD")
    assert len(one["uuid"]) == 36 and one["error"] == ""
    assert one["files"] == {"xml": f"{URL}/{a.einvoice}/xml", "pdf": f"{URL}/{a.einvoice}/pdf"}

    xml = await api.get(one["files"]["xml"], headers=a.r)
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert one["uuid"].encode() in xml.content
    assert xml.headers["x-content-type-options"] == "nosniff"
    assert xml.headers["content-disposition"] == f'attachment; filename="{one["uuid"]}.xml"'
    pdf = await api.get(one["files"]["pdf"], headers=a.r)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"

    # The failed attempt shows the provider's words and has no files.
    bad = (await api.get(f"{URL}/{failed.id}", headers=a.r)).json()
    assert bad["status"] == "failed" and "CFDI40147" in bad["error"] and bad["files"] == {}
    assert (await api.get(f"{URL}/{failed.id}/xml", headers=a.r)).status_code == 404

    # Filters.
    async def only(query: str) -> list[int]:
        r = await api.get(f"{URL}?{query}", headers=a.r)
        assert r.status_code == 200, r.text
        return [d["id"] for d in r.json()["data"]]

    assert await only("kind=payment") == [complement.id]
    assert await only(f"payment_id={a.payment}") == [complement.id]
    assert await only("status=failed") == [failed.id]
    assert await only(f"invoice_id={a.invoices[0]}") == [a.einvoice]
    assert await only(f"customer_id={a.customer}&kind=invoice") == [a.einvoice]
    assert (await api.get(f"{URL}?kind=receipt", headers=a.r)).status_code == 400
    assert (await api.get(f"{URL}?status=lost", headers=a.r)).status_code == 400


async def test_cursor_paging(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    for n in range(4):
        api_world.fiscal.add(a.scope.tenant_id, invoice_id=a.invoices[1], folio=str(n))
    seen: list[int] = []
    url = f"{URL}?limit=2"
    pages = 0
    while url:
        r = (await api.get(url, headers=a.r)).json()
        seen += [d["id"] for d in r["data"]]
        pages += 1
        url = f"{URL}?limit=2&cursor={r['next']}" if r["next"] else ""
    assert pages == 3 and len(seen) == 5 and seen == sorted(seen, reverse=True)
    junk = await api.get(f"{URL}?cursor=nonsense", headers=a.r)
    assert junk.status_code == 400 and junk.json()["errors"][0]["field"] == "cursor"


async def test_another_tenants_documents_are_not_found(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a, b = api_world.a, api_world.b
    theirs = b.einvoice
    for path in (f"{URL}/{theirs}", f"{URL}/{theirs}/xml", f"{URL}/{theirs}/pdf"):
        r = await api.get(path, headers=a.r)
        assert r.status_code == 404, (path, r.text)
    cancel = await api.post(f"{URL}/{theirs}/cancel", json={"reason": "02"}, headers=a.w)
    assert cancel.status_code == 404
    issue = await api.post(f"/api/v1/invoices/{b.invoices[0]}/einvoice", headers=a.w)
    assert issue.status_code == 404
    assert [d["id"] for d in (await api.get(URL, headers=a.r)).json()["data"]] == [a.einvoice]
    # b's document is untouched.
    assert (await api.get(f"{URL}/{theirs}", headers=b.r)).json()["status"] == "issued"


async def test_issue_new_then_existing_with_idempotency(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    url = f"/api/v1/invoices/{a.invoices[1]}/einvoice"
    assert (await api.post(url, headers=a.r)).status_code == 403  # read key

    first = await api.post(url, headers={**a.w, "Idempotency-Key": "cfdi-1"})
    assert first.status_code == 201, first.text
    doc = first.json()
    assert doc["invoice_id"] == a.invoices[1] and doc["status"] == "issued"
    assert doc["total"] == {"amount": 50_000, "currency": "MXN"}
    replay = await api.post(url, headers={**a.w, "Idempotency-Key": "cfdi-1"})
    assert replay.status_code == 201 and replay.json() == doc
    assert replay.headers.get("idempotent-replayed") == "true"

    again = await api.post(url, headers=a.w)
    assert again.status_code == 200 and again.json()["id"] == doc["id"]
    assert api_world.fiscal.issued == 1  # one document, however often asked
    invoice = await a.scope.get(Invoice, a.invoices[1])
    assert invoice is not None and invoice.einvoice_uuid == doc["uuid"]
    assert (await api.post("/api/v1/invoices/999999/einvoice", headers=a.w)).status_code == 404


async def test_refusal_is_422_with_the_providers_message_and_stays_recorded(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    api_world.fiscal.refuse = "CFDI40102: <El certificado> está vencido"
    r = await api.post(f"/api/v1/invoices/{a.invoices[1]}/einvoice", headers=a.w)
    assert r.status_code == 422, r.text
    assert "CFDI40102: <El certificado> está vencido" in r.json()["detail"]
    assert r.headers["content-type"].startswith("application/json")
    failed = await a.scope.objects(AuditEvent).where(AuditEvent.action == "einvoice.failed")
    assert len(failed) == 1 and failed[0].subject == f"invoice:{a.invoices[1]}"
    invoice = await a.scope.get(Invoice, a.invoices[1])
    assert invoice is not None and invoice.einvoice_status == "failed"
    # Next time the provider accepts: a new document, 201.
    ok = await api.post(f"/api/v1/invoices/{a.invoices[1]}/einvoice", headers=a.w)
    assert ok.status_code == 201 and ok.json()["status"] == "issued"


async def test_tenant_without_backend_is_409(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    await set_plugin(a.scope, PLUGIN, enabled=False)
    r = await api.post(f"/api/v1/invoices/{a.invoices[1]}/einvoice", headers=a.w)
    assert r.status_code == 409 and "no está activada" in r.json()["detail"]
    assert (await api.get(URL, headers=a.r)).json() == {"data": [], "next": None}
    assert (await api.get(f"{URL}/{a.einvoice}", headers=a.r)).status_code == 404


async def test_cancel(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    url = f"{URL}/{a.einvoice}/cancel"

    async def bad(body: dict[str, str], field: str) -> None:
        r = await api.post(url, json=body, headers=a.w)
        assert r.status_code == 400, r.text
        assert r.json()["errors"][0]["field"] == field

    await bad({"reason": "05"}, "reason")
    await bad({"reason": "01"}, "replacement")
    await bad({"reason": "01", "replacement": "not-a-uuid"}, "replacement")
    await bad({"reason": "02", "replacement": UUID}, "replacement")
    assert (await api.post(url, json={"reason": "02"}, headers=a.r)).status_code == 403
    assert (await api.get(f"{URL}/{a.einvoice}", headers=a.r)).json()["status"] == "issued"

    r = await api.post(
        url,
        json={"reason": "01", "replacement": UUID.lower()},
        headers={**a.w, "Idempotency-Key": "k"},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "cancelled" and out["cancel_reason"] == "01"
    assert out["replaced_by"] == UUID and out["cancelled_at"]
    events = await a.scope.objects(AuditEvent).where(AuditEvent.action == "einvoice.cancelled")
    assert len(events) == 1


async def test_cancel_refusal_is_422(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    stuck = api_world.fiscal.add(
        a.scope.tenant_id,
        fiscal_id="00000000-0000-0000-0000-000000000001",
        invoice_id=a.invoices[1],
    )
    r = await api.post(f"{URL}/{stuck.id}/cancel", json={"reason": "02"}, headers=a.w)
    assert r.status_code == 422 and "no cancelable" in r.json()["detail"]
    assert (await api.get(f"{URL}/{stuck.id}", headers=a.r)).json()["status"] == "issued"


async def test_customer_fiscal_fields(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    body = {
        "number": "C-FIS",
        "name": "Escuela Kemper Urgate SA de CV",
        "tax_id": "EKU9003173C9",
        "fiscal_name": "  ESCUELA   KEMPER URGATE ",
        "fiscal_regime": "601",
        "fiscal_postal_code": "42501",
        "fiscal_use": "g03",
    }
    r = await api.post("/api/v1/customers", json=body, headers=a.w)
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["fiscal_name"], out["fiscal_regime"], out["fiscal_postal_code"]) == (
        "ESCUELA KEMPER URGATE",
        "601",
        "42501",
    )
    assert out["fiscal_use"] == "G03"
    row = await a.scope.get(Customer, out["id"])
    assert row is not None and row.fiscal_regime == "601" and row.fiscal_use == "G03"
    assert (await api.get(f"/api/v1/customers/{out['id']}", headers=a.r)).json() == out

    # The backend refuses a regime it does not know: 400 naming the field, nothing stored.
    count = await a.scope.count(Customer)
    refused = await api.post(
        "/api/v1/customers", json={**body, "number": "C-X", "fiscal_regime": "999"}, headers=a.w
    )
    assert refused.status_code == 400, refused.text
    err = refused.json()["errors"][0]
    assert err["field"] == "fiscal_regime" and "999" in err["message"]
    assert await a.scope.count(Customer) == count

    # A message without the field's name is placed by what it talks about.
    patch = await api.patch(
        f"/api/v1/customers/{out['id']}", json={"fiscal_postal_code": "4250A"}, headers=a.w
    )
    assert patch.status_code == 400 and patch.json()["errors"][0]["field"] == "fiscal_postal_code"
    row = await a.scope.get(Customer, out["id"])
    assert row is not None and row.fiscal_postal_code == "42501"

    ok = await api.patch(
        f"/api/v1/customers/{out['id']}", json={"fiscal_regime": "612"}, headers=a.w
    )
    assert ok.status_code == 200 and ok.json()["fiscal_regime"] == "612"
    shape = await api.patch(
        f"/api/v1/customers/{out['id']}", json={"fiscal_use": "G 03"}, headers=a.w
    )
    assert shape.status_code == 422 and shape.json()["errors"][0]["field"] == "fiscal_use"
    too_long = await api.patch(
        f"/api/v1/customers/{out['id']}", json={"fiscal_use": "X" * 11}, headers=a.w
    )
    assert too_long.status_code == 400
    other = await api.patch(
        f"/api/v1/customers/{api_world.b.customer}", json={"fiscal_regime": "601"}, headers=a.w
    )
    assert other.status_code == 404


async def test_service_errors_map_to_statuses() -> None:
    from recaudo.web.api.einvoices import refusal

    assert refusal(service.NotConfigured("x")).status_code == 409
    assert refusal(service.DocumentNotFound("x")).status_code == 404
    assert refusal(service.EInvoicingError("PAC dice no")).detail == "PAC dice no"


async def test_other_changes_are_not_refused_for_old_fiscal_data(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    """Fiscal data stored before the backend knew better does not block a new e-mail; touching
    the fiscal identity is checked."""
    a = api_world.a
    await a.scope.update(Customer, {Customer.fiscal_regime: "999"}).where(Customer.id == a.customer)
    url = f"/api/v1/customers/{a.customer}"
    ok = await api.patch(url, json={"email": "nuevo@alfa.example"}, headers=a.w)
    assert ok.status_code == 200, ok.text
    refused = await api.patch(url, json={"fiscal_use": "G01"}, headers=a.w)
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "fiscal_regime"
