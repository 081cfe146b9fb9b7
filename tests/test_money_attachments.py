"""Invoice attachments (PDF/XML from the ERP): type sniffed from the bytes, size cap, stored once,
uploaded by staff, downloaded by staff and by the invoice's own customer only — always as an
attachment with ``nosniff``; another tenant's or customer's ids are 404; viewers cannot upload."""

from __future__ import annotations

import pytest

from recaudo.core.billing import attachments as att
from recaudo.core.billing.attachments import (
    AttachmentError,
    add_attachment,
    get_attachment,
    list_attachments,
    sniff_attachment,
)
from recaudo.core.payments.manual import write_off
from recaudo.core.tables import AuditEvent, InvoiceAttachment
from tests import test_staff_http
from tests.portal_support import login, open_env
from tests.test_staff_http import World, post, signed_in

world = test_staff_http.world

PDF = b"%PDF-1.7\n% factura\n1 0 obj << >> endobj\n%%EOF\n"
XML = '\ufeff  <?xml version="1.0" encoding="UTF-8"?><cfdi:Comprobante Total="1160.00"/>'.encode()
HTML = b"<html><script>alert(1)</script></html>"


def test_types_come_from_the_bytes() -> None:
    assert sniff_attachment(PDF) == "application/pdf"
    assert sniff_attachment(XML) == "application/xml"
    assert sniff_attachment(b"\n<?xml version='1.0'?><a/>") == "application/xml"
    assert sniff_attachment(HTML) is None
    assert sniff_attachment(b"MZ\x90\x00 an exe named factura.pdf") is None
    assert sniff_attachment(b"") is None


async def test_the_service_checks_stores_once_and_scopes(world: World) -> None:
    a, b = world.a, world.b
    inv = a.invoices[0]
    row = await add_attachment(a.scope, inv, "C:\\ERP\\factura F-1.pdf", PDF, "staff:1")
    assert row.filename == "factura F-1.pdf" and row.content_type == "application/pdf"
    assert row.size == len(PDF) and len(row.sha256) == 64
    again = await add_attachment(a.scope, inv, "otra.pdf", PDF, "staff:1")
    assert again.id == row.id  # the same bytes: stored once
    xml = await add_attachment(a.scope, inv, "cfdi.txt", XML, "staff:1")
    assert xml.filename == "cfdi.xml" and xml.content_type == "application/xml"
    for data, status in (
        (HTML, 415),
        (b"", 400),
        (b"%PDF-" + b"0" * att.MAX_ATTACHMENT_BYTES, 413),
    ):
        with pytest.raises(AttachmentError) as info:
            await add_attachment(a.scope, inv, "x.pdf", data, "staff:1")
        assert info.value.status == status and info.value.field == "archivo"
    with pytest.raises(LookupError):
        await add_attachment(a.scope, b.invoices[0], "x.pdf", PDF, "staff:1")
    assert [r["id"] for r in await list_attachments(a.scope, inv)] == [row.id, xml.id]
    assert await get_attachment(a.scope, a.invoices[1], row.id) is None  # another invoice's
    assert await get_attachment(b.scope, inv, row.id) is None  # another tenant
    assert await b.scope.count(InvoiceAttachment) == 0
    events = await a.scope.objects(AuditEvent).where(AuditEvent.action == "invoice.attachment")
    assert len(events) == 2


async def test_staff_upload_and_download(world: World) -> None:
    a, b = world.a, world.b
    inv = a.invoices[0]
    url = f"{a.staff}/facturas/{inv}/adjuntos"
    async with signed_in(world, a, "viewer") as c:
        page = await c.get(url)
        assert page.status_code == 200 and 'id="upload"' not in page.text
        denied = await c.post(
            url,
            files={"archivo": ("f.pdf", PDF, "application/pdf")},
            data={"_csrf_token": c.cookies["csrftoken"]},
            headers={"accept": "text/html"},
        )
        assert denied.status_code == 403
    assert await a.scope.count(InvoiceAttachment) == 0
    async with signed_in(world, a, "collector") as c:
        token = {"_csrf_token": c.cookies["csrftoken"]}
        html = {"accept": "text/html"}
        bad = await c.post(
            url, files={"archivo": ("f.pdf", HTML, "application/pdf")}, data=token, headers=html
        )
        assert bad.status_code == 415 and "archivo-error" in bad.text
        assert "Solo se pueden adjuntar archivos PDF o XML." in bad.text
        empty = await post(c, a, url, {})
        assert empty.status_code == 400 and "archivo-error" in empty.text
        done = await c.post(
            url,
            files={"archivo": ("<img src=x onerror=1>.pdf", PDF, "text/html")},
            data=token,
            headers=html,
        )
        assert done.status_code == 303
        page = await c.get(url)
        assert "<img src=x" not in page.text
        (row,) = await a.scope.objects(InvoiceAttachment)
        file = await c.get(f"{url}/{row.id}")
        assert file.status_code == 200 and file.content == PDF
        assert file.headers["content-type"] == "application/pdf"
        assert file.headers["content-disposition"] == f'attachment; filename="F-1-{row.id}.pdf"'
        assert file.headers["x-content-type-options"] == "nosniff"
        # Another tenant's invoice and file ids, under this tenant's URLs: 404.
        for other in (
            f"{a.staff}/facturas/{b.invoices[0]}/adjuntos",
            f"{url}/{row.id + 1000}",
            f"{a.staff}/facturas/{a.invoices[1]}/adjuntos/{row.id}",
        ):
            assert (await c.get(other, headers=html)).status_code == 404, other
        foreign = await c.post(
            f"{a.staff}/facturas/{b.invoices[0]}/adjuntos",
            files={"archivo": ("f.pdf", PDF, "application/pdf")},
            data=token,
            headers=html,
        )
        assert foreign.status_code == 404
    assert await b.scope.count(InvoiceAttachment) == 0


async def test_the_customer_downloads_only_their_own(database: str) -> None:
    env = await open_env(database)
    shop = env.shop
    mine, theirs = shop.customers
    my_invoice = shop.invoices[int(mine.id)][0]
    their_invoice = shop.invoices[int(theirs.id)][0]
    own = await add_attachment(shop.scope, my_invoice, "factura.pdf", PDF, "staff:1")
    other = await add_attachment(shop.scope, their_invoice, "ajena.xml", XML, "staff:1")
    try:
        await login(env.client, shop, mine)
        page = await env.client.get(f"{shop.prefix}/facturas/{my_invoice}")
        link = f"{shop.prefix}/facturas/{my_invoice}/adjuntos/{own.id}"
        assert link in page.text and "factura.pdf" in page.text
        file = await env.client.get(link)
        assert file.status_code == 200 and file.content == PDF
        assert file.headers["content-disposition"].startswith("attachment;")
        assert file.headers["x-content-type-options"] == "nosniff"
        for url in (
            f"{shop.prefix}/facturas/{their_invoice}/adjuntos/{other.id}",
            f"{shop.prefix}/facturas/{my_invoice}/adjuntos/{other.id}",
        ):
            response = await env.client.get(url)
            assert response.status_code == 404, url
            assert b"Comprobante" not in response.content
        # A write-off shows in the portal: the invoice is closed and leaves the statement.
        written = shop.invoices[int(mine.id)][1]
        await write_off(shop.scope, written, None, "Incobrable", "staff:1")
        closed = await env.client.get(f"{shop.prefix}/facturas/{written}")
        assert closed.status_code == 200 and "Cerrada" in closed.text
        statement = await env.client.get(f"{shop.prefix}/estado-de-cuenta")
        assert f'/facturas/{written}"' not in statement.text
        assert f'/facturas/{my_invoice}"' in statement.text
        anonymous = await (await env.new_client()).get(link)
        assert anonymous.status_code in (302, 303) and anonymous.content != PDF
    finally:
        await env.client.aclose()
