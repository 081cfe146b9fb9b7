"""E-invoicing in the back office over HTTP: the invoice's CFDI panel (issue, the PAC's refusal
shown escaped, cancel with SAT's reasons, downloads), the payment's complement, the
"Facturación" list (failed first) and its menu entry, roles, the customer form's fiscal fields,
and another tenant's ids. The host service runs for real against an in-memory backend."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from recaudo.core.access.staff import create_staff
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.platform.host import PluginHost
from recaudo.core.tables import AuditEvent, Customer, Invoice, Payment
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant
from tests.einvoice_web_fake import WebFakeBackend, enable, install, mxn

PASSWORD = "clave-de-prueba-123"
HTML = {"accept": "text/html"}
UUID = "5FB2822E-396D-4725-8521-CDC4BDD20CCF"


class World:
    def __init__(self, slug: str, scope: TenantScope, customer: int, invoice: int) -> None:
        self.slug, self.scope, self.customer, self.invoice = slug, scope, customer, invoice
        self.staff = f"/t/{slug}/staff"


async def side(slug: str, fiscal: bool) -> World:
    tenant = await make_tenant(slug)
    scope = TenantScope(int(tenant.id))
    customer = await create_customer(
        scope, NewCustomer("C-1", "Ana <b>López</b> & Hijos", tax_id="EKU9003173C9"), "MX"
    )
    invoice = await create_invoice(
        scope,
        NewInvoice(
            int(customer.id),
            "F-100",
            date(2026, 11, 1),
            date(2026, 12, 31),
            "MXN",
            (NewLine("Tornillos", 10, 11_600),),
        ),
    )
    for role in ("owner", "collector", "viewer"):
        await create_staff(scope, f"{role}@{slug}.example", PASSWORD, role)
    if fiscal:
        await enable(scope)
    return World(slug, scope, int(customer.id), int(invoice.id))


@pytest.fixture
def fake(host: PluginHost) -> WebFakeBackend:
    return install(host)


@pytest.fixture
async def ferre(database: str, fake: WebFakeBackend) -> World:
    return await side("ferre", fiscal=True)


@pytest.fixture
async def otra(database: str, fake: WebFakeBackend) -> World:
    return await side("otra", fiscal=True)


async def login(client: httpx.AsyncClient, role: str, slug: str = "ferre") -> str:
    await client.get(f"/t/{slug}/staff/login")
    token = str(client.cookies["csrftoken"])
    r = await client.post(
        f"/t/{slug}/staff/login",
        data={"_csrf_token": token, "email": f"{role}@{slug}.example", "password": PASSWORD},
        headers=HTML,
    )
    assert r.status_code == 303, r.text
    return token


def panel(html: str) -> str:
    assert 'id="cfdi"' in html, "no CFDI panel"
    return html.split('id="cfdi"', 1)[1].split("</section>", 1)[0]


async def test_issue_from_the_invoice_page_then_download_and_cancel(
    ferre: World, fake: WebFakeBackend, client: httpx.AsyncClient
) -> None:
    token = await login(client, "collector")
    page_url = f"{ferre.staff}/facturas/{ferre.invoice}"
    page = await client.get(page_url, headers=HTML)
    assert page.status_code == 200
    box = panel(page.text)
    assert "Factura electrónica (CFDI)" in page.text and "todavía no tiene CFDI" in box
    assert 'id="issue-cfdi"' in box

    # Without the CSRF token nothing is issued.
    forged = await client.post(f"{ferre.staff}/facturas/{ferre.invoice}/cfdi", headers=HTML)
    assert forged.status_code == 403 and fake.issued == 0

    r = await client.post(
        f"{ferre.staff}/facturas/{ferre.invoice}/cfdi", data={"_csrf_token": token}, headers=HTML
    )
    assert r.status_code == 303 and r.headers["location"].endswith(
        f"/facturas/{ferre.invoice}#cfdi"
    )
    doc = (await fake.documents(_ctx(ferre), invoice_id=ferre.invoice))[0]
    box = panel((await client.get(page_url, headers=HTML)).text)
    assert doc.fiscal_id in box and "F-1001" in box and "Emitido" in box
    assert 'id="issue-cfdi"' not in box  # issued: no second button
    assert f'href="{ferre.staff}/facturacion/{doc.id}/xml"' in box
    assert 'name="motivo"' in box and "02 · Comprobante emitido con errores sin relación" in box

    xml = await client.get(f"{ferre.staff}/facturacion/{doc.id}/xml")
    assert xml.status_code == 200 and doc.fiscal_id.encode() in xml.content
    assert xml.headers["x-content-type-options"] == "nosniff"
    assert xml.headers["content-disposition"].startswith("attachment;")
    pdf = await client.get(f"{ferre.staff}/facturacion/{doc.id}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"

    # Reason 01 without the substitute's UUID, or a reason SAT does not have: 400, nothing done.
    cancel = f"{ferre.staff}/facturacion/{doc.id}/cancelar"
    for form in ({"motivo": "01"}, {"motivo": "07"}, {"motivo": "01", "sustituto": "x"}):
        bad = await client.post(cancel, data={"_csrf_token": token, **form}, headers=HTML)
        assert bad.status_code == 400, form
    assert "UUID" in bad.text
    assert (await fake.document(_ctx(ferre), doc.id)).status == "issued"  # type: ignore[union-attr]

    done = await client.post(
        cancel, data={"_csrf_token": token, "motivo": "01", "sustituto": UUID}, headers=HTML
    )
    assert done.status_code == 303 and done.headers["location"].endswith("#cfdi")
    box = panel((await client.get(page_url, headers=HTML)).text)
    assert "Cancelado" in box and "motivo 01" in box and UUID in box
    assert 'id="issue-cfdi"' in box  # cancelled: it may be issued again (a substitute)
    assert await ferre.scope.count(AuditEvent).where(AuditEvent.action == "einvoice.cancelled") == 1


def _ctx(world: World):  # type: ignore[no-untyped-def]
    """The fake backend's view of one tenant (it only reads ``ctx.tenant.id``)."""

    class Tenant:
        id = world.scope.tenant_id

    class Ctx:
        tenant = Tenant

    return Ctx


async def test_refusal_shows_the_pacs_message_escaped(
    ferre: World, fake: WebFakeBackend, client: httpx.AsyncClient
) -> None:
    token = await login(client, "owner")
    fake.refuse = "CFDI40147: el RFC <script>alert(1)</script> no existe"
    r = await client.post(
        f"{ferre.staff}/facturas/{ferre.invoice}/cfdi", data={"_csrf_token": token}, headers=HTML
    )
    assert r.status_code == 422
    assert "CFDI40147" in r.text and "<script>alert(1)" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    invoice = await ferre.scope.get(Invoice, ferre.invoice)
    assert invoice is not None and invoice.einvoice_status == "failed"
    page = await client.get(f"{ferre.staff}/facturas/{ferre.invoice}", headers=HTML)
    box = panel(page.text)
    assert "Con error" in box and "&lt;script&gt;" in box and "<script>alert" not in box
    assert 'id="issue-cfdi"' in box  # staff can try again
    # Customer text is escaped on the page too.
    assert "Ana &lt;b&gt;López&lt;/b&gt; &amp; Hijos" in page.text


async def test_roles_viewer_looks_but_does_not_act(
    ferre: World, fake: WebFakeBackend, client: httpx.AsyncClient
) -> None:
    doc = fake.add(ferre.scope.tenant_id, invoice_id=ferre.invoice, customer_id=ferre.customer)
    token = await login(client, "viewer")
    page = await client.get(f"{ferre.staff}/facturas/{ferre.invoice}", headers=HTML)
    box = panel(page.text)
    assert doc.fiscal_id in box and 'name="motivo"' not in box
    assert (await client.get(f"{ferre.staff}/facturacion/{doc.id}/xml")).status_code == 200
    r = await client.post(
        f"{ferre.staff}/facturacion/{doc.id}/cancelar",
        data={"_csrf_token": token, "motivo": "02"},
        headers=HTML,
    )
    assert r.status_code == 403
    r = await client.post(
        f"{ferre.staff}/facturas/{ferre.invoice}/cfdi", data={"_csrf_token": token}, headers=HTML
    )
    assert r.status_code == 403 and fake.issued == 0


async def test_list_page_failed_first_filters_and_menu(
    ferre: World, fake: WebFakeBackend, client: httpx.AsyncClient
) -> None:
    t = ferre.scope.tenant_id
    failed = fake.add(
        t, status="failed", fiscal_id="", invoice_id=ferre.invoice, error="RFC <inválido>", files=()
    )
    issued = fake.add(t, invoice_id=ferre.invoice, customer_id=ferre.customer, total=mxn(116_000))
    complement = fake.add(
        t, kind="payment", type_code="P", payment_id=77, customer_id=ferre.customer
    )
    await login(client, "collector")
    url = f"{ferre.staff}/facturacion"
    page = await client.get(url, headers=HTML)
    assert page.status_code == 200
    assert f'href="{url}"' in page.text  # the menu entry
    text = page.text
    assert text.index(f'id="doc-{failed.id}"') < text.index(f'id="doc-{complement.id}"')
    assert "RFC &lt;inválido&gt;" in text and "$1,160.00" in text
    assert f"/facturas/{ferre.invoice}#cfdi" in text and "/pagos/77#cfdi" in text
    assert ">Factura F-100</a>" in text  # the invoice by its number
    assert text.count(f'id="doc-{failed.id}"') == 1  # not listed twice

    only = (await client.get(url + "?tipo=payment", headers=HTML)).text
    assert f'id="doc-{complement.id}"' in only and f'id="doc-{issued.id}"' not in only
    assert f'id="doc-{failed.id}"' not in only
    st = (await client.get(url + "?estado=issued", headers=HTML)).text
    assert f'id="doc-{issued.id}"' in st and f'id="doc-{failed.id}"' not in st
    assert (await client.get(url + "?estado=<x>", headers=HTML)).status_code == 200


async def test_menu_and_panel_absent_without_a_backend(
    database: str, fake: WebFakeBackend, client: httpx.AsyncClient
) -> None:
    plain = await side("sinfac", fiscal=False)
    token = await login(client, "owner", "sinfac")
    page = await client.get(f"{plain.staff}/facturas/{plain.invoice}", headers=HTML)
    assert page.status_code == 200 and 'id="cfdi"' not in page.text
    assert "/facturacion" not in page.text
    listing = await client.get(f"{plain.staff}/facturacion", headers=HTML)
    assert listing.status_code == 200 and 'id="no-backend"' in listing.text
    r = await client.post(
        f"{plain.staff}/facturas/{plain.invoice}/cfdi", data={"_csrf_token": token}, headers=HTML
    )
    assert r.status_code == 409 and "no está activada" in r.text
    form = await client.get(f"{plain.staff}/clientes/{plain.customer}/editar", headers=HTML)
    assert 'id="fiscal"' not in form.text


async def test_payment_page_shows_its_complement(
    ferre: World, fake: WebFakeBackend, client: httpx.AsyncClient
) -> None:
    payment = Payment(
        customer=ferre.customer,
        method="manual",
        status="confirmed",
        currency="MXN",
        amount=50_000,
        idempotency_key="p-1",
        requested_invoices=[],
        checkout={},
    )
    await ferre.scope.add(payment)
    doc = fake.add(
        ferre.scope.tenant_id,
        kind="payment",
        type_code="P",
        payment_id=int(payment.id),
        customer_id=ferre.customer,
        series="P",
        folio="7",
    )
    await login(client, "viewer")
    page = await client.get(f"{ferre.staff}/pagos/{payment.id}", headers=HTML)
    assert page.status_code == 200
    box = panel(page.text)
    assert "Complemento de pago (CFDI)" in page.text and "P-7" in box and doc.fiscal_id in box
    assert f"/facturacion/{doc.id}/pdf" in box


async def test_another_tenants_ids_are_not_found(
    ferre: World, otra: World, fake: WebFakeBackend, client: httpx.AsyncClient
) -> None:
    theirs = fake.add(otra.scope.tenant_id, invoice_id=otra.invoice, customer_id=otra.customer)
    token = await login(client, "owner")
    for path in (f"/facturacion/{theirs.id}/xml", f"/facturacion/{theirs.id}/pdf"):
        assert (await client.get(ferre.staff + path, headers=HTML)).status_code == 404, path
    for path, form in (
        (f"/facturacion/{theirs.id}/cancelar", {"motivo": "02"}),
        (f"/facturacion/{theirs.id}/actualizar", {}),
        (f"/facturas/{otra.invoice}/cfdi", {}),
    ):
        r = await client.post(ferre.staff + path, data={"_csrf_token": token, **form}, headers=HTML)
        assert r.status_code == 404, path
    assert (await fake.document(_ctx(otra), theirs.id)).status == "issued"  # type: ignore[union-attr]
    assert fake.issued == 0
    listing = await client.get(f"{ferre.staff}/facturacion", headers=HTML)
    assert f'id="doc-{theirs.id}"' not in listing.text


async def test_refresh_a_pending_cancellation(
    ferre: World, fake: WebFakeBackend, client: httpx.AsyncClient
) -> None:
    doc = fake.add(ferre.scope.tenant_id, invoice_id=ferre.invoice, status="cancel_pending")
    token = await login(client, "collector")
    box = panel((await client.get(f"{ferre.staff}/facturas/{ferre.invoice}", headers=HTML)).text)
    assert "Cancelación en espera" in box and "Consultar estado en el SAT" in box
    r = await client.post(
        f"{ferre.staff}/facturacion/{doc.id}/actualizar", data={"_csrf_token": token}, headers=HTML
    )
    assert r.status_code == 303
    box = panel((await client.get(f"{ferre.staff}/facturas/{ferre.invoice}", headers=HTML)).text)
    assert "Cancelado" in box and "Consultar estado" not in box


async def test_customer_form_fiscal_fields(
    ferre: World, fake: WebFakeBackend, client: httpx.AsyncClient
) -> None:
    token = await login(client, "collector")
    edit = f"{ferre.staff}/clientes/{ferre.customer}/editar"
    form = await client.get(edit, headers=HTML)
    assert 'id="fiscal"' in form.text and 'name="fiscal_regime"' in form.text
    base = {
        "_csrf_token": token,
        "number": "C-1",
        "name": "Ana López",
        "tax_country": "MX",
        "tax_id": "EKU9003173C9",
        "preferred_channel": "email",
        "fiscal_name": "ANA LOPEZ",
        "fiscal_postal_code": "42501",
        "fiscal_use": "g03",
    }
    bad = await client.post(edit, data={**base, "fiscal_regime": "999"}, headers=HTML)
    assert bad.status_code == 400
    assert 'id="f-fiscal_regime" name="fiscal_regime"' in bad.text
    field = bad.text.split('id="f-fiscal_regime"', 1)[1].split(">", 1)[0]
    assert 'aria-invalid="true"' in field
    assert "Régimen fiscal" in bad.text and "999 no existe" in bad.text
    row = await ferre.scope.get(Customer, ferre.customer)
    assert row is not None and row.fiscal_regime == "" and row.name.startswith("Ana <b>")

    escaped = await client.post(
        edit, data={**base, "fiscal_regime": "601", "fiscal_postal_code": "4250A"}, headers=HTML
    )
    assert escaped.status_code == 400 and "&lt;b&gt;sin letras&lt;/b&gt;" in escaped.text
    field = escaped.text.split('id="f-fiscal_postal_code"', 1)[1].split(">", 1)[0]
    assert 'aria-invalid="true"' in field

    ok = await client.post(edit, data={**base, "fiscal_regime": "601"}, headers=HTML)
    assert ok.status_code == 303
    row = await ferre.scope.get(Customer, ferre.customer)
    assert row is not None
    assert (row.fiscal_name, row.fiscal_regime, row.fiscal_postal_code, row.fiscal_use) == (
        "ANA LOPEZ",
        "601",
        "42501",
        "G03",
    )
    detail = await client.get(f"{ferre.staff}/clientes/{ferre.customer}", headers=HTML)
    assert 'id="fiscal-data"' in detail.text and "G03" in detail.text

    new = await client.post(
        f"{ferre.staff}/clientes/nuevo",
        data={**base, "number": "C-2", "fiscal_regime": "998"},
        headers=HTML,
    )
    assert new.status_code == 400 and "998 no existe" in new.text
    assert await ferre.scope.count(Customer) == 1


async def test_panel_in_english(
    ferre: World, fake: WebFakeBackend, client: httpx.AsyncClient
) -> None:
    fake.add(
        ferre.scope.tenant_id, invoice_id=ferre.invoice, status="failed", error="RFC", files=()
    )
    await login(client, "owner")
    page = await client.get(f"{ferre.staff}/facturas/{ferre.invoice}?lang=en", headers=HTML)
    box = panel(page.text)
    assert "Electronic invoice (CFDI)" in page.text and "Issue CFDI" in box
    assert "Failed" in box and "The provider (PAC) answered:" in box
    assert ">E-invoicing</a>" in page.text


async def test_refusal_before_the_provider_is_shown_on_the_panel(
    ferre: World, fake: WebFakeBackend, client: httpx.AsyncClient
) -> None:
    """Fiscal data the backend refuses stops issuing before the PAC: no document, but the panel
    still says why (from the audit), escaped."""
    await ferre.scope.update(Customer, {Customer.fiscal_postal_code: "<i>X</i>"}).where(
        Customer.id == ferre.customer
    )
    token = await login(client, "collector")
    r = await client.post(
        f"{ferre.staff}/facturas/{ferre.invoice}/cfdi", data={"_csrf_token": token}, headers=HTML
    )
    assert r.status_code == 422 and "5 dígitos" in r.text
    assert fake.issued == 0 and not fake.docs
    box = panel((await client.get(f"{ferre.staff}/facturas/{ferre.invoice}", headers=HTML)).text)
    failure = box.split('id="cfdi-failure"', 1)[1].split("</p>", 1)[0]
    assert "5 dígitos &lt;b&gt;sin letras&lt;/b&gt;" in failure and "<b>" not in failure
