"""Disputing an invoice and uploading a proof of a payment made outside the portal."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.billing.account import customer_invoice
from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.casework.claims import (
    DISPUTE_REASONS,
    MAX_MESSAGE,
    MAX_PROOF_BYTES,
    TOO_BIG,
    ClaimError,
    customer_proofs,
    open_dispute,
    submit_proof,
)
from recaudo.core.tables import Customer, Invoice
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.amounts import read_amount
from recaudo.web.portal.common import form_ids, form_text, not_found, prefix_of
from recaudo.web.templating import render
from recaudo.web.uploads import TOO_LARGE_OPT

MAX_UPLOAD_BODY = 16 * 1024 * 1024
TOO_LARGE_NOTICE = "archivo-grande"


async def _own_invoice(scope: TenantScope, customer: Customer, invoice_id: int) -> Invoice:
    invoice = await customer_invoice(scope, int(customer.id), invoice_id)
    if invoice is None:
        raise not_found("Factura no encontrada")
    return invoice


@get("/facturas/{invoice_id:int}/aclaracion", name="portal:dispute", operation_id="portal_dispute")
async def dispute_form(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
    invoice_id: FromPath[int],
) -> Template:
    invoice = await _own_invoice(tenant_scope, customer, invoice_id)
    return await render(
        request,
        "portal/dispute.html",
        tenant,
        customer=customer,
        invoice=invoice,
        reasons=DISPUTE_REASONS,
        error="",
        form={},
    )


@post(
    "/facturas/{invoice_id:int}/aclaracion",
    name="portal:dispute_submit",
    operation_id="portal_dispute_submit",
)
async def dispute_submit(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
    invoice_id: FromPath[int],
) -> Template | Redirect:
    invoice = await _own_invoice(tenant_scope, customer, invoice_id)
    form = await request.form()
    reason = form_text(form, "motivo", 40)
    message = str(form.get("mensaje") or "")
    try:
        await open_dispute(tenant_scope, int(customer.id), int(invoice.id), reason, message)
    except ClaimError as exc:
        field = "motivo" if reason not in DISPUTE_REASONS else ""
        field = field or ("mensaje" if len(message.strip()) > MAX_MESSAGE else "")
        return await render(
            request,
            "portal/dispute.html",
            tenant,
            status_code=400,
            customer=customer,
            invoice=invoice,
            reasons=DISPUTE_REASONS,
            error=str(exc),
            error_field=field,
            form={"motivo": reason, "mensaje": message[:2000]},
        )
    return Redirect(f"{prefix_of(request, tenant)}/estado-de-cuenta?aviso=disputa", status_code=303)


async def _proof_page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    customer: Customer,
    error: str = "",
    status_code: int = 200,
    field: str = "",
    amount: str = "",
    selected: list[int] | None = None,
) -> Template:
    """The upload form; an ``error`` is shown next to ``field``, and what the customer typed and
    ticked (``amount``, ``selected`` invoices) is kept."""
    invoices = await (
        scope.objects(Invoice)
        .where(Invoice.customer == customer.id, Invoice.status.is_in(list(OPEN_STATUSES)))
        .order_by(Invoice.due_date, Invoice.id)
    )
    return await render(
        request,
        "portal/proof.html",
        tenant,
        status_code=status_code,
        customer=customer,
        invoices=invoices,
        proofs=await customer_proofs(scope, int(customer.id)),
        error=error,
        error_field=field,
        amount=amount,
        selected=selected or [],
        max_mb=MAX_PROOF_BYTES // (1024 * 1024),
        currency=tenant.currency,
    )


@get("/comprobantes", name="portal:proofs", operation_id="portal_proofs")
async def proof_form(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template:
    if request.query_params.get("aviso") == TOO_LARGE_NOTICE:
        return await _proof_page(request, tenant, tenant_scope, customer, TOO_BIG, 200, "archivo")
    return await _proof_page(request, tenant, tenant_scope, customer)


@post(
    "/comprobantes",
    name="portal:proof_submit",
    operation_id="portal_proof_submit",
    # Well above the 5 MB file limit, so a too-big photo still arrives with the typed amount and
    # gets the form back; beyond this, web/uploads.py sends a browser to the form's GET.
    request_max_body_size=MAX_UPLOAD_BODY,
    opt={TOO_LARGE_OPT: f"/comprobantes?aviso={TOO_LARGE_NOTICE}"},
)
async def proof_submit(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template | Redirect:
    form = await request.form()
    upload = form.get("archivo")
    # The proof is in the tenant's currency; the form has no say in it.
    currency = tenant.currency
    amount_text = form_text(form, "monto", 30)
    selected = form_ids(form, "factura")

    async def fail(message: str, status: int = 400, field: str = "") -> Template:
        return await _proof_page(
            request, tenant, tenant_scope, customer, message, status, field, amount_text, selected
        )

    if not isinstance(upload, UploadFile):
        return await fail("Adjunta el archivo del comprobante.", field="archivo")
    content = await upload.read(MAX_PROOF_BYTES + 1)
    if len(content) > MAX_PROOF_BYTES:
        return await fail(TOO_BIG, 413, "archivo")
    typed, problem = read_amount(request, tenant, amount_text, currency)
    if typed is None:
        return await fail(problem, field="monto")
    amount = typed.amount
    try:
        await submit_proof(
            tenant_scope,
            int(customer.id),
            filename=upload.filename or "",
            content=content,
            currency=currency,
            amount=amount,
            invoice_ids=selected,
        )
    except ClaimError as exc:
        return await fail(str(exc), exc.status, exc.field)
    return Redirect(
        f"{prefix_of(request, tenant)}/estado-de-cuenta?aviso=comprobante", status_code=303
    )


ROUTES = [dispute_form, dispute_submit, proof_form, proof_submit]
