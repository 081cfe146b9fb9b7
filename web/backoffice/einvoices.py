"""Electronic invoices in the back office: the CFDI panel of an invoice and of a payment, the
"Facturación" list, and the staff actions (issue now, cancel with SAT's reason, refresh status,
download XML/PDF).

Thin over :mod:`recaudo.core.einvoicing.service`. Everyone signed in may look and download;
owners and collectors (``acting_staff``) issue, cancel and refresh, as on the bank pages. A
refusal of the provider (the PAC) is shown to staff in its own words: on the error page right
after the action, and afterwards on the panel, where the failed attempt stays recorded.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from recaudo.core.billing.errors import actor_name
from recaudo.core.casework import review as inbox
from recaudo.core.common.jsonfield import loads
from recaudo.core.einvoicing import service
from recaudo.core.platform.values import EInvoiceDocument
from recaudo.core.tables import AuditEvent, Invoice, StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope, as_id
from recaudo.web.backoffice.common import form_data, staff_base, staff_page

NOT_FOUND = "Comprobante electrónico no encontrado."
INVOICE_NOT_FOUND = "Factura no encontrada."
#: SAT's cancellation reasons (catálogo de motivos de cancelación), as staff choose them.
REASONS = (
    ("01", "Comprobante emitido con errores con relación"),
    ("02", "Comprobante emitido con errores sin relación"),
    ("03", "No se llevó a cabo la operación"),
    ("04", "Operación nominativa relacionada en una factura global"),
)
KINDS = (
    ("invoice", "Factura (ingreso)"),
    ("payment", "Complemento de pago"),
    ("credit", "Nota de crédito (egreso)"),
)
STATUSES = (
    ("failed", "Con error"),
    ("pending", "En proceso"),
    ("issued", "Emitido"),
    ("cancel_pending", "Cancelación en espera"),
    ("cancelled", "Cancelado"),
)
#: A document that stands: issuing again would duplicate it.
LIVE = ("issued", "pending", "cancel_pending")
PAGE = 100
_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


def labels() -> dict[str, Any]:
    """What the templates need to word documents (Spanish source strings, translated there)."""
    return {
        "einvoice_reasons": REASONS,
        "einvoice_kinds": dict(KINDS),
        "einvoice_statuses": dict(STATUSES),
    }


async def panel(
    scope: TenantScope, *, invoice_id: int | None = None, payment_id: int | None = None
) -> dict[str, Any]:
    """Context of the CFDI panel: ``einvoicing`` (the backend's name, None: no panel at all)
    and the documents of the invoice or payment, newest first."""
    backend = await service.backend_name(scope)
    if backend is None:
        return {"einvoicing": None, "einvoices": [], "einvoice_live": None}
    docs = await service.list_documents(
        scope, invoice_id=invoice_id, payment_id=payment_id, limit=50
    )
    failure = ""
    if invoice_id is not None:
        docs = [d for d in docs if d.kind != "payment"]
    live = next((d for d in docs if d.kind == "invoice" and d.status in LIVE), None)
    if invoice_id is not None and live is None:
        failure = await _last_failure(scope, invoice_id)
    return {
        "einvoicing": backend,
        "einvoices": docs,
        "einvoice_live": live,
        "einvoice_failure": failure,
        **labels(),
    }


async def _last_failure(scope: TenantScope, invoice_id: int) -> str:
    """Why the last attempt failed, when the invoice is marked so: a refusal before the
    provider was reached (fiscal data, incomplete settings) leaves no document, only this."""
    invoice = await scope.get(Invoice, invoice_id)
    if invoice is None or invoice.einvoice_status != "failed":
        return ""
    event = await (
        scope.objects(AuditEvent)
        .where(
            (AuditEvent.subject == f"invoice:{invoice_id}")
            & (AuditEvent.action == "einvoice.failed")
        )
        .order_by(AuditEvent.id, ascending=False)
        .first()
    )
    data = loads(event.data, {}) if event is not None else {}
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def _refused(exc: service.EInvoicingError) -> Exception:
    if isinstance(exc, service.DocumentNotFound):
        return inbox.NotFound(NOT_FOUND)
    status = 409 if isinstance(exc, service.NotConfigured) else 422
    return HTTPException(status_code=status, detail=str(exc) or "El proveedor rechazó la acción.")


async def _document(scope: TenantScope, document_id: int) -> EInvoiceDocument:
    try:
        return await service.get_document(scope, document_id)
    except service.DocumentNotFound:
        raise inbox.NotFound(NOT_FOUND) from None


def _back(request: Request, doc: EInvoiceDocument) -> str:
    base = staff_base(request)
    if doc.kind == "invoice" and doc.invoice_id is not None:
        return f"{base}/facturas/{doc.invoice_id}#cfdi"
    if doc.payment_id is not None:
        return f"{base}/pagos/{doc.payment_id}#cfdi"
    return f"{base}/facturacion"


@get("/facturacion", name="staff:einvoices", operation_id="staff_einvoices")
async def einvoices_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    """Every document of the tenant, filtered by kind and status; failed ones first (they are
    what staff must act on), then the rest newest first, 100 a page."""
    kind = request.query_params.get("tipo") or None
    status = request.query_params.get("estado") or None
    kind = kind if kind in dict(KINDS) else None
    status = status if status in dict(STATUSES) else None
    before = as_id(request.query_params.get("antes", ""))
    backend = await service.backend_name(tenant_scope)
    failed: list[EInvoiceDocument] = []
    docs: list[EInvoiceDocument] = []
    more = False
    if backend is not None:
        if status is None and before is None:
            failed = await service.list_documents(
                tenant_scope, kind=kind, status="failed", limit=PAGE
            )
        docs = await service.list_documents(
            tenant_scope, kind=kind, status=status, limit=PAGE + 1, before_id=before
        )
        more = len(docs) > PAGE
        docs = docs[:PAGE]
        if failed:
            docs = [d for d in docs if d.status != "failed"]
    wanted = sorted({d.invoice_id for d in (*failed, *docs) if d.invoice_id is not None})
    numbers: dict[int, str] = {}
    if wanted:
        rows = await tenant_scope.select(Invoice, Invoice.id, Invoice.number).where(
            Invoice.id.is_in(wanted)
        )
        numbers = {int(r["id"]): str(r["number"]) for r in rows}
    query = "&".join(f"{k}={v}" for k, v in (("tipo", kind), ("estado", status)) if v)
    older = None
    if more and docs:
        older = f"?{query + '&' if query else ''}antes={docs[-1].id}"
    return await staff_page(
        request,
        "staff/einvoices/list.html",
        tenant,
        staff,
        einvoicing=backend,
        failed=failed,
        docs=docs,
        kind=kind,
        status=status,
        older=older,
        numbers=numbers,
        **labels(),
    )


async def _file(scope: TenantScope, document_id: int, fmt: str) -> Response[bytes]:
    try:
        file = await service.document_file(scope, document_id, fmt)
    except service.EInvoicingError as exc:
        raise _refused(exc) from None
    name = "".join(c for c in file.filename if c.isalnum() or c in "-_.") or f"cfdi.{fmt}"
    return Response(
        file.content,
        media_type=file.media_type,
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "x-content-type-options": "nosniff",
        },
    )


@get(
    "/facturacion/{document_id:int}/xml",
    name="staff:einvoice_xml",
    operation_id="staff_einvoice_xml",
)
async def einvoice_xml(
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    document_id: FromPath[int],
) -> Response[bytes]:
    return await _file(tenant_scope, document_id, "xml")


@get(
    "/facturacion/{document_id:int}/pdf",
    name="staff:einvoice_pdf",
    operation_id="staff_einvoice_pdf",
)
async def einvoice_pdf(
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    document_id: FromPath[int],
) -> Response[bytes]:
    return await _file(tenant_scope, document_id, "pdf")


@post(
    "/facturas/{invoice_id:int}/cfdi",
    name="staff:einvoice_issue",
    operation_id="staff_einvoice_issue",
)
async def einvoice_issue(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    invoice_id: FromPath[int],
) -> Redirect:
    """Issue the invoice's CFDI now (idempotent: an invoice that has one keeps it)."""
    if await tenant_scope.get(Invoice, invoice_id) is None:
        raise inbox.NotFound(INVOICE_NOT_FOUND)
    try:
        await service.issue_invoice(tenant_scope, invoice_id, actor=actor_name(acting_staff))
    except service.EInvoicingError as exc:
        raise _refused(exc) from None
    return Redirect(f"{staff_base(request)}/facturas/{invoice_id}#cfdi", status_code=303)


@post(
    "/facturacion/{document_id:int}/cancelar",
    name="staff:einvoice_cancel",
    operation_id="staff_einvoice_cancel",
)
async def einvoice_cancel(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    document_id: FromPath[int],
) -> Redirect:
    """Cancel with SAT's reason; 01 needs the UUID of the document that replaces this one."""
    doc = await _document(tenant_scope, document_id)
    form = await form_data(request)
    reason = form.get("motivo", "").strip()
    replacement = form.get("sustituto", "").strip()
    if reason not in dict(REASONS):
        raise inbox.InboxError("Elige el motivo de cancelación (01 a 04).")
    if reason == "01" and not replacement:
        raise inbox.InboxError("El motivo 01 necesita el UUID del comprobante que lo sustituye.")
    if reason != "01":
        replacement = ""
    if replacement and not _UUID.match(replacement):
        raise inbox.InboxError("El UUID del comprobante sustituto no es válido.")
    try:
        doc = await service.cancel_document(
            tenant_scope,
            document_id,
            reason=reason,
            replacement=replacement.upper(),
            actor=actor_name(acting_staff),
        )
    except service.EInvoicingError as exc:
        raise _refused(exc) from None
    return Redirect(_back(request, doc), status_code=303)


@post(
    "/facturacion/{document_id:int}/actualizar",
    name="staff:einvoice_refresh",
    operation_id="staff_einvoice_refresh",
)
async def einvoice_refresh(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    document_id: FromPath[int],
) -> Redirect:
    """Ask the authority for the status now (a cancellation the receiver must accept)."""
    await _document(tenant_scope, document_id)
    try:
        doc = await service.refresh_document(tenant_scope, document_id)
    except service.EInvoicingError as exc:
        raise _refused(exc) from None
    return Redirect(_back(request, doc), status_code=303)


async def nav_einvoicing(tenant: Tenant) -> bool:
    """Whether the nav shows "Facturación": only for a tenant with a backend enabled."""
    return await service.backend_name(TenantScope(int(tenant.id))) is not None


ROUTES: list[Any] = [
    einvoices_page,
    einvoice_xml,
    einvoice_pdf,
    einvoice_issue,
    einvoice_cancel,
    einvoice_refresh,
]
