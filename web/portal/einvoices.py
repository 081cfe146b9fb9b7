"""The customer's own electronic invoices (CFDI) in the portal: links and downloads.

Documents live in the e-invoicing backend's tables and are reached through
:mod:`recaudo.core.einvoicing.service`; the portal adds the one rule the service cannot know:
a customer downloads only documents of their own invoices and payments. Any other id (another
customer's, another tenant's, a failed attempt without files) is the same 404.
"""

from __future__ import annotations

from collections import defaultdict

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Response

from recaudo.core.billing.account import customer_invoice, customer_payment
from recaudo.core.einvoicing import service
from recaudo.core.platform.values import EInvoiceDocument
from recaudo.core.tables import Customer
from recaudo.tenants.scoped import TenantScope
from recaudo.web.portal.common import not_found

#: Documents the customer sees and downloads: stamped ones (a cancelled one is still theirs).
SHOWN = ("issued", "cancel_pending", "cancelled")
NO_DOCUMENT = "Comprobante electrónico no encontrado"


async def invoice_document(scope: TenantScope, invoice_id: int) -> EInvoiceDocument | None:
    """The invoice's standing CFDI (issued or awaiting cancellation), newest first."""
    docs = await service.list_documents(scope, invoice_id=invoice_id, kind="invoice", limit=20)
    return next((d for d in docs if d.status in ("issued", "cancel_pending")), None)


async def payment_documents(
    scope: TenantScope, customer_id: int
) -> dict[int, list[EInvoiceDocument]]:
    """The customer's payment complements by payment id (for the payments page)."""
    docs = await service.list_documents(scope, customer_id=customer_id, kind="payment", limit=200)
    out: dict[int, list[EInvoiceDocument]] = defaultdict(list)
    for doc in docs:
        if doc.payment_id is not None and doc.status in SHOWN:
            out[doc.payment_id].append(doc)
    return dict(out)


async def own_document(
    scope: TenantScope, customer: Customer, document_id: int
) -> EInvoiceDocument:
    """The document if it is this customer's and has files; else 404."""
    try:
        doc = await service.get_document(scope, document_id)
    except service.DocumentNotFound:
        raise not_found(NO_DOCUMENT) from None
    if doc.status not in SHOWN:
        raise not_found(NO_DOCUMENT)
    mine = int(customer.id)
    if doc.customer_id is not None:
        owned = doc.customer_id == mine
    elif doc.payment_id is not None:
        owned = await customer_payment(scope, mine, doc.payment_id) is not None
    elif doc.invoice_id is not None:
        owned = await customer_invoice(scope, mine, doc.invoice_id) is not None
    else:
        owned = False
    if not owned:
        raise not_found(NO_DOCUMENT)
    return doc


async def download(scope: TenantScope, doc: EInvoiceDocument, fmt: str) -> Response[bytes]:
    if fmt not in doc.files:
        raise not_found(NO_DOCUMENT)
    try:
        file = await service.document_file(scope, doc.id, fmt)
    except service.EInvoicingError:
        raise not_found(NO_DOCUMENT) from None
    name = "".join(c for c in file.filename if c.isalnum() or c in "-_.") or f"cfdi.{fmt}"
    return Response(
        file.content,
        media_type=file.media_type,
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "x-content-type-options": "nosniff",
        },
    )


@get("/cfdi/{document_id:int}/xml", name="portal:einvoice_xml", operation_id="portal_einvoice_xml")
async def einvoice_xml(
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
    document_id: FromPath[int],
) -> Response[bytes]:
    doc = await own_document(tenant_scope, customer, document_id)
    return await download(tenant_scope, doc, "xml")


@get("/cfdi/{document_id:int}/pdf", name="portal:einvoice_pdf", operation_id="portal_einvoice_pdf")
async def einvoice_pdf(
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
    document_id: FromPath[int],
) -> Response[bytes]:
    doc = await own_document(tenant_scope, customer, document_id)
    return await download(tenant_scope, doc, "pdf")


ROUTES = [einvoice_xml, einvoice_pdf]
