"""Proofs of payment: look at the file, confirm (records the payment) or reject with a reason.

The file is customer-provided, so it is only ever served as an attachment, typed and named by its
own first bytes (``comprobante-<id>.pdf``; anything unrecognised is ``application/octet-stream``),
never by the customer's file name, and with ``nosniff``.
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from recaudo.core import inbox
from recaudo.core.claims import download_as
from recaudo.core.tables import StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.routes.staff_common import form_data, staff_base, staff_page


@get("/proofs/{proof_id:int}", name="staff:proof", operation_id="staff_proof")
async def proof_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    proof_id: FromPath[int],
) -> Template:
    row = await inbox.proof(tenant_scope, proof_id)
    customer = await inbox.chat_customer(tenant_scope, int(row.customer))
    return await staff_page(
        request,
        "staff/proof.html",
        tenant,
        staff,
        proof=row,
        customer=customer,
        invoices=await inbox.proof_invoices(tenant_scope, row),
        size=len(row.content or b""),
    )


@get("/proofs/{proof_id:int}/file", name="staff:proof_file", operation_id="staff_proof_file")
async def proof_file(
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    proof_id: FromPath[int],
) -> Response[bytes]:
    row = await inbox.proof(tenant_scope, proof_id)
    content = bytes(row.content or b"")
    kind, name = download_as(proof_id, content)
    return Response(
        content,
        media_type=kind,
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "x-content-type-options": "nosniff",
            "cache-control": "private, no-store",
        },
    )


@post(
    "/proofs/{proof_id:int}/confirm", name="staff:proof_confirm", operation_id="staff_proof_confirm"
)
async def proof_confirm(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    proof_id: FromPath[int],
) -> Redirect:
    await inbox.confirm_proof(tenant_scope, acting_staff, proof_id)
    return Redirect(f"{staff_base(request)}/proofs/{proof_id}", status_code=303)


@post("/proofs/{proof_id:int}/reject", name="staff:proof_reject", operation_id="staff_proof_reject")
async def proof_reject(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    proof_id: FromPath[int],
) -> Redirect:
    form = await form_data(request)
    await inbox.reject_proof(tenant_scope, acting_staff, proof_id, form.get("reason"))
    return Redirect(f"{staff_base(request)}/proofs/{proof_id}", status_code=303)


ROUTES = [proof_page, proof_file, proof_confirm, proof_reject]
