"""Proofs of payment: look at the file, confirm (records the payment) or reject with a reason.

The file is customer-provided, so the download is always an attachment, typed and named by its
own first bytes (``comprobante-<id>.pdf``; anything unrecognised is ``application/octet-stream``),
never by the customer's file name, and with ``nosniff``. The inline preview on the proof's page
is typed the same way and served only for PDF, PNG and JPEG, with a CSP that lets nothing run
and only this site frame it.
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from recaudo.core.casework import review as inbox
from recaudo.core.casework.claims import download_as
from recaudo.core.common.money import Money
from recaudo.core.common.money_input import input_text
from recaudo.core.tables import Payment, StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.amounts import page_locale, read_amount
from recaudo.web.backoffice.common import form_data, staff_base, staff_page


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
        preview=preview_kind(bytes(row.content or b"")),
        amount_value=input_text(
            Money(str(row.currency), int(row.amount)), page_locale(request, tenant)
        ),
        payment=await tenant_scope.get(Payment, int(row.payment)) if row.payment else None,
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


PREVIEW_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
)
PREVIEWABLE = ("application/pdf", "image/png", "image/jpeg")


def preview_kind(content: bytes) -> str | None:
    """The type to show the file inline as (from its own bytes, like the download), or ``None``."""
    kind, _name = download_as(0, content)
    return kind if kind in PREVIEWABLE else None


@get(
    "/proofs/{proof_id:int}/preview", name="staff:proof_preview", operation_id="staff_proof_preview"
)
async def proof_preview(
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    proof_id: FromPath[int],
) -> Response[bytes]:
    """The file inline, for the ``<iframe>`` (PDF) or ``<img>`` on the proof's page."""
    row = await inbox.proof(tenant_scope, proof_id)
    content = bytes(row.content or b"")
    kind = preview_kind(content)
    if kind is None:
        raise inbox.NotFound("Este archivo no se puede ver aquí: descárgalo.")
    _kind, name = download_as(proof_id, content)
    return Response(
        content,
        media_type=kind,
        headers={
            "content-disposition": f'inline; filename="{name}"',
            "x-content-type-options": "nosniff",
            "cache-control": "private, no-store",
            "content-security-policy": PREVIEW_CSP,
            "x-frame-options": "SAMEORIGIN",
        },
    )


@post(
    "/proofs/{proof_id:int}/confirm", name="staff:proof_confirm", operation_id="staff_proof_confirm"
)
async def proof_confirm(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    proof_id: FromPath[int],
) -> Redirect:
    form = await form_data(request)
    amount = None
    typed = form.get("monto", "").strip()
    if typed:
        row = await inbox.proof(tenant_scope, proof_id)
        money, problem = read_amount(request, tenant, typed, str(row.currency))
        if money is None:
            raise inbox.InboxError(problem)
        amount = money.amount
    await inbox.confirm_proof(tenant_scope, acting_staff, proof_id, amount)
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


ROUTES = [proof_page, proof_file, proof_preview, proof_confirm, proof_reject]
