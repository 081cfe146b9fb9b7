"""Invoice attachments in the back office: ``/staff/facturas/{id}/adjuntos`` lists an invoice's
PDF/XML files and takes uploads (owners and collectors); each file downloads as an attachment,
typed by its own bytes, with ``nosniff``. The invoice page links here (``staff/invoice_attachments
.html`` is this page's own template). Another tenant's ids are 404.
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from recaudo.core.billing.attachments import (
    MAX_ATTACHMENT_BYTES,
    TOO_BIG,
    AttachmentError,
    add_attachment,
    get_attachment,
    list_attachments,
)
from recaudo.core.casework import review as inbox
from recaudo.core.casework.review.common import actor
from recaudo.core.tables import Customer, Invoice, StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.attachments import attachment_response
from recaudo.web.backoffice.common import staff_base, staff_page

NOT_FOUND = "Factura no encontrada."
CHOOSE = "Elige el archivo a adjuntar."
FILE_NOT_FOUND = "Archivo no encontrado."
MAX_UPLOAD_BODY = 16 * 1024 * 1024  # above the file limit, so a too-big file gets the form back


async def _invoice(scope: TenantScope, invoice_id: int) -> Invoice:
    invoice = await scope.get(Invoice, invoice_id)
    if invoice is None:
        raise inbox.NotFound(NOT_FOUND)
    return invoice


async def _page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    staff: StaffUser,
    invoice: Invoice,
    status_code: int = 200,
    error: str = "",
) -> Template:
    return await staff_page(
        request,
        "staff/invoice_attachments.html",
        tenant,
        staff,
        status_code=status_code,
        invoice=invoice,
        customer=await scope.get(Customer, int(invoice.customer)),
        attachments=await list_attachments(scope, int(invoice.id)),
        max_mb=MAX_ATTACHMENT_BYTES // (1024 * 1024),
        error=error,
        error_field="archivo" if error else "",
    )


@get(
    "/facturas/{invoice_id:int}/adjuntos",
    name="staff:invoice_attachments",
    operation_id="staff_invoice_attachments",
)
async def attachments_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    invoice_id: FromPath[int],
) -> Template:
    invoice = await _invoice(tenant_scope, invoice_id)
    return await _page(request, tenant, tenant_scope, staff, invoice)


@post(
    "/facturas/{invoice_id:int}/adjuntos",
    name="staff:invoice_attachment_upload",
    operation_id="staff_invoice_attachment_upload",
    request_max_body_size=MAX_UPLOAD_BODY,
)
async def attachment_upload(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    invoice_id: FromPath[int],
) -> Template | Redirect:
    invoice = await _invoice(tenant_scope, invoice_id)
    form = await request.form()
    upload = form.get("archivo")
    if not isinstance(upload, UploadFile):
        return await _page(
            request,
            tenant,
            tenant_scope,
            acting_staff,
            invoice,
            400,
            "Elige el archivo a adjuntar.",
        )
    content = await upload.read(MAX_ATTACHMENT_BYTES + 1)
    if len(content) > MAX_ATTACHMENT_BYTES:
        return await _page(request, tenant, tenant_scope, acting_staff, invoice, 413, TOO_BIG)
    try:
        await add_attachment(
            tenant_scope, int(invoice.id), upload.filename or "", content, actor(acting_staff)
        )
    except AttachmentError as exc:
        return await _page(
            request, tenant, tenant_scope, acting_staff, invoice, exc.status, str(exc)
        )
    return Redirect(f"{staff_base(request)}/facturas/{invoice.id}/adjuntos", status_code=303)


@get(
    "/facturas/{invoice_id:int}/adjuntos/{attachment_id:int}",
    name="staff:invoice_attachment",
    operation_id="staff_invoice_attachment",
)
async def attachment_download(
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    invoice_id: FromPath[int],
    attachment_id: FromPath[int],
) -> Response[bytes]:
    invoice = await _invoice(tenant_scope, invoice_id)
    row = await get_attachment(tenant_scope, int(invoice.id), attachment_id)
    if row is None:
        raise inbox.NotFound(FILE_NOT_FOUND)
    return attachment_response(invoice, row)


ROUTES = [attachments_page, attachment_upload, attachment_download]
