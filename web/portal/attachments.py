"""The customer downloads the PDF/XML files attached to one of their invoices (listed on the
invoice's page). Another customer's invoice, or a file of another invoice, is a 404."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Response

from recaudo.core.billing.account import customer_invoice
from recaudo.core.billing.attachments import get_attachment
from recaudo.core.tables import Customer
from recaudo.tenants.scoped import TenantScope
from recaudo.web.attachments import attachment_response
from recaudo.web.portal.common import not_found


@get(
    "/facturas/{invoice_id:int}/adjuntos/{attachment_id:int}",
    name="portal:invoice_attachment",
    operation_id="portal_invoice_attachment",
)
async def invoice_attachment(
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
    invoice_id: FromPath[int],
    attachment_id: FromPath[int],
) -> Response[bytes]:
    invoice = await customer_invoice(tenant_scope, int(customer.id), invoice_id)
    row = await get_attachment(tenant_scope, invoice_id, attachment_id) if invoice else None
    if invoice is None or row is None:
        raise not_found("Archivo no encontrado")
    return attachment_response(invoice, row)


ROUTES = [invoice_attachment]
