"""Statement, invoice detail and documents, payment history.

``GET /estado-de-cuenta`` serves the whole page, or only the live part when htmx polls it
(``HX-Request``), so the balance changes on screen after a payment is confirmed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Response, Template
from markupsafe import Markup

from recaudo.core.billing.account import (
    AccountView,
    account_stamp,
    account_view,
    customer_invoice,
    invoice_lines,
    invoice_payments,
    payment_history,
)
from recaudo.core.billing.attachments import list_attachments
from recaudo.core.billing.credit_notes import customer_credit_notes, invoice_credit_notes
from recaudo.core.billing.invoices import age_bucket
from recaudo.core.collections.late_fees import charge_views, customer_charges, invoice_charges
from recaudo.core.collections.promises import customer_promises
from recaudo.core.common.local_cache import LocalCache
from recaudo.core.payments import expiry
from recaudo.core.tables import Customer
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.portal.common import is_htmx, not_found, tenant_today
from recaudo.web.portal.einvoices import download, payment_documents
from recaudo.web.portal.einvoices import invoice_document as einvoice_of
from recaudo.web.portal.pay import can_pay_online
from recaudo.web.sessions import request_stamp
from recaudo.web.templating import render, render_fragment, request_language
from recaudo.web.tenancy import tenant_prefix

NOTICES = (
    "pago",
    "plan",
    "promesa",
    "revision",
    "disputa",
    "comprobante",
    "preferencias",
    "ticket",
)


def view_version(view: AccountView) -> str:
    """A short fingerprint of what the live part shows; polling swaps only when it changes."""
    st = view.statement
    state = (
        st.balance_due,
        st.overdue,
        st.credit,
        st.next_due_date,
        [(i.id, i.balance, i.status, i.disputed, i.in_plan) for i in view.invoices],
        [(p.id, p.status) for p in view.pending_payments],
        [(p.id, [(i.id, i.amount_paid) for i in p.installments]) for p in view.plans],
    )
    return hashlib.sha256(repr(state).encode()).hexdigest()[:16]


# Rendered live parts of statements, under everything they depend on. The account stamp changes
# with every committed write to the customer's invoices, payments, credit or plans (database
# triggers), so an entry is never stale; the rest of the key is what the page is rendered for.
# An entry also carries when the first checkout it shows stops being live (expiry needs no write).
_live_parts: LocalCache[tuple[object, ...], tuple[str, Markup, datetime | None]] = LocalCache(
    "statement live parts", max_entries=1_000
)


async def live_statement(
    request: Request, tenant: Tenant, scope: TenantScope, customer: Customer
) -> tuple[str, Markup]:
    """``(version, html)`` of the statement's live part: cached, or built and cached.

    A statement is read far more often than it changes (htmx polls it every few seconds while
    the customer waits for a payment), so a read costs one indexed query when nothing changed.
    """
    today = tenant_today(tenant)
    stamp = request_stamp(request, int(customer.id))
    if stamp is None:
        stamp = await account_stamp(scope, int(customer.id))
    key = (
        scope.tenant_id,
        int(customer.id),
        stamp,
        today,
        request_language(request, tenant.locale),
        tenant_prefix(request, tenant),
        tenant.locale,
        tenant.timezone,
        tenant.currency,
    )
    now = expiry.now()
    cached = _live_parts.get(key)
    if cached is not None and (cached[2] is None or now < cached[2]):
        return cached[0], cached[1]
    view = await account_view(scope, int(customer.id), today, now)
    version = view_version(view)
    html = await render_fragment(
        request, "portal/_statement_live.html", tenant, view=view, today=today, version=version
    )
    _live_parts.put(key, (version, html, view.valid_until))
    return version, html


@get("/estado-de-cuenta", name="portal:statement", operation_id="portal_statement")
async def statement(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template | Response[str]:
    version, live = await live_statement(request, tenant, tenant_scope, customer)
    if is_htmx(request):
        if request.query_params.get("v") == version:
            return Response("", status_code=204)  # nothing changed: htmx keeps the page as it is
        # The redrawn part is not a live region (it would be read out whole): a short notice goes
        # into the page's stable one instead.
        news = await render_fragment(request, "portal/_statement_news.html", tenant)
        return Response(live + news, media_type="text/html")
    notice = request.query_params.get("aviso")
    return await render(
        request,
        "portal/statement.html",
        tenant,
        customer=customer,
        live=live,
        notice=notice if notice in NOTICES else None,
        can_pay_online=await can_pay_online(tenant_scope, tenant),
        credit_notes=await customer_credit_notes(tenant_scope, int(customer.id), limit=10),
        charges=charge_views(
            await customer_charges(tenant_scope, int(customer.id), limit=10),
            request_language(request, tenant.locale),
        ),
        promises=[
            p
            for p in await customer_promises(
                tenant_scope, int(customer.id), str(tenant.timezone), limit=5
            )
            if p.status != "cancelled"
        ],
    )


async def _invoice(scope: TenantScope, customer: Customer, invoice_id: int):  # type: ignore[no-untyped-def]
    invoice = await customer_invoice(scope, int(customer.id), invoice_id)
    if invoice is None:
        raise not_found("Factura no encontrada")
    return invoice


@get("/facturas/{invoice_id:int}", name="portal:invoice", operation_id="portal_invoice")
async def invoice_detail(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
    invoice_id: FromPath[int],
) -> Template:
    invoice = await _invoice(tenant_scope, customer, invoice_id)
    today = tenant_today(tenant)
    return await render(
        request,
        "portal/invoice.html",
        tenant,
        customer=customer,
        invoice=invoice,
        today=today,
        bucket=age_bucket(invoice.due_date, today),
        lines=await invoice_lines(tenant_scope, int(invoice.id)),
        applied=await invoice_payments(tenant_scope, int(invoice.id)),
        attachments=await list_attachments(tenant_scope, int(invoice.id)),
        einvoice=await einvoice_of(tenant_scope, int(invoice.id)),
        credit_notes=await invoice_credit_notes(tenant_scope, int(invoice.id)),
        charges=[
            c
            for c in charge_views(
                await invoice_charges(tenant_scope, int(invoice.id)),
                request_language(request, tenant.locale),
                str(invoice.number),
            )
            if not c.waived
        ],
    )


@get(
    "/facturas/{invoice_id:int}/documento",
    name="portal:invoice_document",
    operation_id="portal_invoice_document",
)
async def invoice_document(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
    invoice_id: FromPath[int],
) -> Template:
    """A printable invoice (the browser's "Save as PDF" makes the PDF; no PDF library here)."""
    invoice = await _invoice(tenant_scope, customer, invoice_id)
    response = await render(
        request,
        "portal/invoice_document.html",
        tenant,
        customer=customer,
        invoice=invoice,
        lines=await invoice_lines(tenant_scope, int(invoice.id)),
    )
    if request.query_params.get("descargar"):
        name = "".join(c for c in invoice.number if c.isalnum() or c in "-_") or "factura"
        response.headers["content-disposition"] = f'attachment; filename="{name}.html"'
    return response


@get(
    "/facturas/{invoice_id:int}/cfdi.xml",
    name="portal:invoice_xml",
    operation_id="portal_invoice_xml",
)
async def invoice_xml(
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
    invoice_id: FromPath[int],
) -> Response[bytes]:
    """The invoice's CFDI as stamped, from the e-invoicing service; an invoice documented
    before the tenant had a backend (only the cached copy on the invoice) still serves that."""
    invoice = await _invoice(tenant_scope, customer, invoice_id)
    doc = await einvoice_of(tenant_scope, int(invoice.id))
    if doc is not None:
        return await download(tenant_scope, doc, "xml")
    if not invoice.einvoice_xml or invoice.einvoice_status in ("cancelled", "failed"):
        raise not_found("Esta factura no tiene comprobante electrónico")
    name = "".join(c for c in (invoice.einvoice_uuid or invoice.number) if c.isalnum() or c in "-_")
    return Response(
        str(invoice.einvoice_xml).encode(),
        media_type="application/xml",
        headers={
            "content-disposition": f'attachment; filename="{name or "cfdi"}.xml"',
            "x-content-type-options": "nosniff",
        },
    )


@get("/pagos", name="portal:payments", operation_id="portal_payments")
async def payments(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template:
    return await render(
        request,
        "portal/payments.html",
        tenant,
        customer=customer,
        payments=await payment_history(tenant_scope, int(customer.id)),
        complements=await payment_documents(tenant_scope, int(customer.id)),
    )


ROUTES = [statement, invoice_detail, invoice_document, invoice_xml, payments]
