"""Documents through the API: an invoice's PDF/XML files uploaded as base64, listed, downloaded as
attachments; idempotent; another tenant's ids 404; a read key cannot upload; bad input is a 4xx
naming the field and stores nothing; the file shows on the back office's attachments page."""

from __future__ import annotations

import base64
import hashlib
import uuid

import httpx

from recaudo.core.access.apikeys import create_api_key
from recaudo.core.billing import attachments as att
from recaudo.core.tables import AuditEvent, InvoiceAttachment
from recaudo.web.api.documents import MAX_DOCUMENT_BODY
from tests import api_support, test_staff_http
from tests.api_support import SEED_PDF, ApiWorld
from tests.test_staff_http import World, signed_in

api_world = api_support.api_world
api = api_support.api
world = test_staff_http.world

PDF = b"%PDF-1.7\n% factura F-1\n1 0 obj << >> endobj\n%%EOF\n"
XML = '\ufeff<?xml version="1.0" encoding="UTF-8"?><cfdi:Comprobante Total="1160.00"/>'.encode()
HTML = b"<html><script>alert(1)</script></html>"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def body(data: bytes, filename: str = "F-1.pdf") -> dict[str, str]:
    return {"filename": filename, "content_base64": b64(data)}


async def test_upload_list_and_download(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    inv = a.invoices[0]
    url = f"/api/v1/invoices/{inv}/documents"
    made = await api.post(url, json=body(PDF, "C:\\ERP\\factura F-1.pdf"), headers=a.w)
    assert made.status_code == 201, made.text
    doc = made.json()
    assert doc["invoice_id"] == inv
    assert doc["filename"] == "factura F-1.pdf"
    assert doc["content_type"] == "application/pdf"
    assert doc["size"] == len(PDF)
    assert doc["download_url"] == f"/api/v1/documents/{doc['id']}"
    assert doc["created_at"]
    assert doc["sha256"] == hashlib.sha256(PDF).hexdigest()
    # An XML named .txt is an XML (the bytes decide); line breaks in the base64 are fine.
    wrapped = "\n".join(b64(XML)[i : i + 20] for i in range(0, len(b64(XML)), 20))
    xml = await api.post(url, json={"filename": "cfdi.txt", "content_base64": wrapped}, headers=a.w)
    assert xml.status_code == 201, xml.text
    assert xml.json()["content_type"] == "application/xml"
    assert xml.json()["filename"] == "cfdi.xml"

    listed = await api.get(url, headers=a.r)  # a read key may list and download
    assert listed.status_code == 200
    page = listed.json()
    assert page["next"] is None
    assert [d["id"] for d in page["data"]] == [a.document, doc["id"], xml.json()["id"]]
    assert page["data"][1] == doc
    assert (await api.get(f"/api/v1/invoices/{a.invoices[1]}/documents", headers=a.r)).json() == {
        "data": [],
        "next": None,
    }

    file = await api.get(doc["download_url"], headers=a.r)
    assert file.status_code == 200
    assert file.content == PDF
    assert file.headers["content-type"] == "application/pdf"
    assert file.headers["content-disposition"] == f'attachment; filename="F-1-{doc["id"]}.pdf"'
    assert file.headers["x-content-type-options"] == "nosniff"
    other = await api.get(xml.json()["download_url"], headers=a.r)
    assert other.content == XML and other.headers["content-type"] == "application/xml"

    # Audited by the service, with the API key as actor.
    events = await a.scope.objects(AuditEvent).where(AuditEvent.action == "invoice.attachment")
    actors = sorted(str(e.actor) for e in events)
    assert actors == ["apikey:1", "apikey:1", "test"] or (
        len(actors) == 3 and sum(x.startswith("apikey:") for x in actors) == 2
    ), actors  # the seeded one and these two, by the API key
    # Without a key: 401.
    assert (await api.get(url)).status_code == 401
    assert (await api.get(doc["download_url"])).status_code == 401


async def test_idempotent_replay(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    url = f"/api/v1/invoices/{a.invoices[1]}/documents"
    key = {**a.w, "Idempotency-Key": str(uuid.uuid4())}
    first = await api.post(url, json=body(PDF), headers=key)
    again = await api.post(url, json=body(PDF), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers.get("idempotent-replayed") == "true"
    other = await api.post(url, json=body(XML, "x.xml"), headers=key)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    rows = await a.scope.objects(InvoiceAttachment).where(
        InvoiceAttachment.invoice == a.invoices[1]
    )
    assert len(rows) == 1
    # The same bytes again without a key: stored once, the first document answered.
    plain = await api.post(url, json=body(PDF, "copia.pdf"), headers=a.w)
    assert plain.status_code == 201 and plain.json()["id"] == first.json()["id"]
    assert (
        await a.scope.count(InvoiceAttachment).where(InvoiceAttachment.invoice == a.invoices[1])
        == 1
    )


async def test_another_tenants_ids_are_404(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a, b = api_world.a, api_world.b
    before = await b.scope.count(InvoiceAttachment)
    for url in (
        f"/api/v1/invoices/{b.invoices[0]}/documents",
        f"/api/v1/documents/{b.document}",
        "/api/v1/documents/0",
        "/api/v1/documents/2147483648",
        f"/api/v1/documents/{max(a.document, b.document) + 1000}",
    ):
        r = await api.get(url, headers=a.r)
        assert r.status_code == 404, (url, r.text)
        assert r.json()["status_code"] == 404
    r = await api.post(f"/api/v1/invoices/{b.invoices[0]}/documents", json=body(PDF), headers=a.w)
    assert r.status_code == 404
    assert await b.scope.count(InvoiceAttachment) == before
    # B's own key sees its own document.
    assert (await api.get(f"/api/v1/documents/{b.document}", headers=b.r)).content == SEED_PDF


async def test_read_key_cannot_upload(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    before = await a.scope.count(InvoiceAttachment)
    r = await api.post(f"/api/v1/invoices/{a.invoices[0]}/documents", json=body(PDF), headers=a.r)
    assert r.status_code == 403
    assert r.json()["errors"][0]["field"] == "Authorization"
    assert await a.scope.count(InvoiceAttachment) == before


GARBAGE: list[tuple[dict[str, object], int, str]] = [
    ({"filename": "x.pdf", "content_base64": "not base64!"}, 400, "content_base64"),
    ({"filename": "x.pdf", "content_base64": "QUJ"}, 400, "content_base64"),
    ({"filename": "x.pdf", "content_base64": "ñañá"}, 400, "content_base64"),
    ({"filename": "x.pdf", "content_base64": ""}, 400, "content_base64"),
    ({"filename": "x.pdf", "content_base64": "   "}, 400, "content_base64"),
    ({"filename": "x.pdf", "content_base64": b64(HTML)}, 415, "content_base64"),
    ({"filename": "x.pdf", "content_base64": b64(b"MZ\x90\x00exe")}, 415, "content_base64"),
    ({"filename": "", "content_base64": b64(PDF)}, 400, "filename"),
    ({"filename": "a\x00.pdf", "content_base64": b64(PDF)}, 400, "filename"),
    ({"filename": "x" * 256, "content_base64": b64(PDF)}, 400, "filename"),
    ({"content_base64": b64(PDF)}, 400, "filename"),
    ({"filename": "x.pdf"}, 400, "content_base64"),
    ({"filename": "x.pdf", "content_base64": 12}, 400, "content_base64"),
    ({"filename": "x.pdf", "content_base64": b64(PDF), "extra": 1}, 400, "body"),
]


async def test_garbage_is_a_4xx_naming_the_field(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    before = await a.scope.count(InvoiceAttachment)
    url = f"/api/v1/invoices/{a.invoices[0]}/documents"
    for payload, status, field in GARBAGE:
        r = await api.post(url, json=payload, headers=a.w)
        assert r.status_code == status, (payload, r.text)
        errors = r.json()["errors"]
        assert errors and field in errors[0]["field"], (payload, errors)
    assert await a.scope.count(InvoiceAttachment) == before


async def test_not_json_and_too_big(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    url = f"/api/v1/invoices/{a.invoices[0]}/documents"
    before = await a.scope.count(InvoiceAttachment)
    r = await api.post(
        url, content=b"%PDF-1.7 raw", headers={**a.w, "content-type": "application/pdf"}
    )
    assert 400 <= r.status_code < 500
    # Lone surrogates (escaped in the JSON): not JSON the API reads, a 400.
    for raw in (
        b'{"filename": "x.pdf", "content_base64": "\\ud800"}',
        b'{"filename": "\\ud800.pdf", "content_base64": "JVBERi0="}',
    ):
        r = await api.post(url, content=raw, headers={**a.w, "content-type": "application/json"})
        assert r.status_code == 400, r.text
        assert r.json()["errors"][0]["field"] in ("body", "filename", "content_base64")
    # Just over 10 MB decoded: 413 naming the field, without storing it.
    big = b"%PDF-" + b"0" * att.MAX_ATTACHMENT_BYTES
    r = await api.post(url, json=body(big), headers=a.w)
    assert r.status_code == 413, r.text[:300]
    assert r.json()["errors"][0]["field"] == "content_base64"
    # A body past the route's own cap: 413 for the body, before anything is read into JSON.
    r = await api.post(
        url,
        content=b'{"filename": "x.pdf", "content_base64": "' + b"A" * MAX_DOCUMENT_BODY + b'"}',
        headers={**a.w, "content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["errors"][0]["field"] == "body"
    assert await a.scope.count(InvoiceAttachment) == before


async def test_a_file_of_almost_10_mb_fits(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    """More than the API's usual 2 MiB: this route takes the base64 of a 10 MB file."""
    a = api_world.a
    data = b"%PDF-1.7\n" + bytes(range(256)) * ((att.MAX_ATTACHMENT_BYTES - 9) // 256)
    assert len(b64(data)) > 2 * 1024 * 1024 * 4
    r = await api.post(f"/api/v1/invoices/{a.invoices[1]}/documents", json=body(data), headers=a.w)
    assert r.status_code == 201, r.text[:300]
    assert r.json()["size"] == len(data)
    file = await api.get(r.json()["download_url"], headers=a.r)
    assert file.content == data
    # Other routes keep the 2 MiB cap.
    r = await api.post(
        "/api/v1/invoices",
        content=b'{"number": "' + b"x" * (3 * 1024 * 1024) + b'"}',
        headers={**a.w, "content-type": "application/json"},
    )
    assert r.status_code == 413


async def test_openapi_documents_them(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    doc = (await api.get("/api/v1/schema/openapi.json")).json()
    paths = doc["paths"]
    upload = paths["/api/v1/invoices/{invoice_id}/documents"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in upload["parameters"])
    assert "base64" in str(doc["components"]["schemas"]["DocumentIn"])
    assert {"413", "415", "422"} <= set(upload["responses"])
    assert "get" in paths["/api/v1/invoices/{invoice_id}/documents"]
    assert "nosniff" in paths["/api/v1/documents/{document_id}"]["get"]["description"]


async def test_the_file_shows_in_the_back_office(world: World) -> None:
    a = world.a
    key = (await create_api_key(a.scope, key_scope="write", actor="test")).plaintext
    inv = a.invoices[0]
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url=api_support.BASE) as c:
        r = await c.post(
            f"/api/v1/invoices/{inv}/documents",
            json=body(PDF, "factura-erp.pdf"),
            headers={"authorization": f"Bearer {key}"},
        )
        assert r.status_code == 201, r.text
    doc = r.json()
    async with signed_in(world, a, "viewer") as c:
        page = await c.get(f"{a.staff}/facturas/{inv}/adjuntos")
        assert page.status_code == 200
        assert "factura-erp.pdf" in page.text
        file = await c.get(f"{a.staff}/facturas/{inv}/adjuntos/{doc['id']}")
        assert file.status_code == 200 and file.content == PDF
