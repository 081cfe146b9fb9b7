"""Electronic invoices (SAT CFDI and the like) over the API: read, download, issue, cancel.

Every route is a thin adapter over :mod:`recaudo.core.einvoicing.service`, which talks to the
tenant's e-invoicing backend plugin; the documents live in the plugin's tables, so paging hands
the service ``before_id`` instead of building a query here. Another tenant's ids are 404 like
missing ones (the service only sees this key's tenant).

Issuing is a call to the tax authority's provider (a PAC in Mexico): its refusal is a 422 that
carries the provider's own message, and the failed attempt stays recorded for staff, so the
refusal is *returned* from the idempotent action rather than raised (raising would roll the
record back).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, Parameter
from litestar.response import Response

from recaudo.core.access.apikeys import ApiCaller
from recaudo.core.einvoicing import service
from recaudo.core.platform.values import EInvoiceDocument
from recaudo.core.tables import Invoice
from recaudo.tenants.scoped import MAX_ID, TenantScope
from recaudo.web.api.common import (
    IdempotencyKey,
    check_text,
    decode_cursor,
    encode_cursor,
    idempotent_post,
)
from recaudo.web.api.customers import Cursor, Limit
from recaudo.web.api.errors import ERROR_RESPONSES, POST_RESPONSES, ApiError, field_error
from recaudo.web.api.schemas import (
    EInvoiceCancelIn,
    EInvoiceOut,
    EInvoicePage,
    ErrorBody,
    FieldError,
    MoneyOut,
)

NOT_FOUND = "einvoice: not found"
INVOICE_NOT_FOUND = "invoice: not found"
REASONS = ("01", "02", "03", "04")
_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")

IdFilter = Annotated[int | None, Parameter(ge=1, le=MAX_ID, description="Only this row's.")]
KindFilter = Annotated[
    Literal["invoice", "payment", "credit"] | None, Parameter(description="Only this kind.")
]
StatusFilter = Annotated[
    Literal["issued", "cancelled", "cancel_pending", "failed", "pending"] | None,
    Parameter(description="Only documents in this state."),
]

ISSUE_RESPONSES: dict[int, ResponseSpec] = {
    **POST_RESPONSES,
    200: ResponseSpec(
        data_container=EInvoiceOut, description="The invoice already had its document."
    ),
    409: ResponseSpec(
        data_container=ErrorBody,
        description="The tenant has no e-invoicing configured, or the key is in progress.",
    ),
    422: ResponseSpec(
        data_container=ErrorBody,
        description="The provider refused (its message is in `detail`), or an Idempotency-Key "
        "was reused with another body.",
    ),
}
CANCEL_RESPONSES: dict[int, ResponseSpec] = {
    **ISSUE_RESPONSES,
    200: ResponseSpec(data_container=EInvoiceOut, description="Cancelled (or being cancelled)."),
}
FILE_RESPONSES: dict[int, ResponseSpec] = {
    **ERROR_RESPONSES,
    200: ResponseSpec(data_container=bytes, description="The file, as an attachment."),
}


def einvoice_out(doc: EInvoiceDocument) -> EInvoiceOut:
    base = f"/api/v1/einvoices/{doc.id}"
    return EInvoiceOut(
        id=doc.id,
        kind=doc.kind,
        type=doc.type_code,
        status=doc.status,
        uuid=doc.fiscal_id,
        series=doc.series,
        folio=doc.folio,
        invoice_id=doc.invoice_id,
        payment_id=doc.payment_id,
        customer_id=doc.customer_id,
        total=MoneyOut(doc.total.amount, doc.total.currency) if doc.total is not None else None,
        payment_terms=doc.payment_terms,
        issued_at=doc.issued_at,
        cancelled_at=doc.cancelled_at,
        cancel_reason=doc.cancel_reason,
        replaces=doc.replaces,
        replaced_by=doc.replaced_by,
        error=doc.error,
        files={fmt: f"{base}/{fmt}" for fmt in doc.files if fmt in ("xml", "pdf")},
    )


def refusal(exc: service.EInvoicingError) -> ApiError:
    """The service's refusal as an API error: not configured 409, not found 404, else 422."""
    message = str(exc) or "the e-invoicing provider refused"
    if isinstance(exc, service.DocumentNotFound):
        return ApiError(404, NOT_FOUND)
    status = 409 if isinstance(exc, service.NotConfigured) else 422
    return ApiError(status, message, [FieldError("einvoice", message)])


async def _document(scope: TenantScope, document_id: int) -> EInvoiceDocument:
    try:
        return await service.get_document(scope, document_id)
    except service.DocumentNotFound:
        raise NotFoundException(NOT_FOUND) from None


@get(
    "/einvoices",
    responses=ERROR_RESPONSES,
    summary="List electronic invoices",
    description="The tenant's tax documents (invoices and payment complements), newest first; "
    "cursor-paginated. Empty when the tenant has no e-invoicing configured.",
)
async def list_einvoices(
    api_scope: NamedDependency[TenantScope],
    limit: Limit = 50,
    cursor: Cursor = None,
    invoice_id: IdFilter = None,
    payment_id: IdFilter = None,
    customer_id: IdFilter = None,
    kind: KindFilter = None,
    status: StatusFilter = None,
) -> EInvoicePage:
    docs = await service.list_documents(
        api_scope,
        invoice_id=invoice_id,
        payment_id=payment_id,
        customer_id=customer_id,
        kind=kind,
        status=status,
        limit=limit + 1,
        before_id=decode_cursor(cursor),
    )
    more = len(docs) > limit
    docs = docs[:limit]
    nxt = encode_cursor(docs[-1].id) if more and docs else None
    return EInvoicePage([einvoice_out(d) for d in docs], nxt)


@get("/einvoices/{einvoice_id:int}", responses=ERROR_RESPONSES, summary="Get an e-invoice")
async def get_einvoice(
    api_scope: NamedDependency[TenantScope], einvoice_id: FromPath[int]
) -> EInvoiceOut:
    return einvoice_out(await _document(api_scope, einvoice_id))


async def _file(scope: TenantScope, document_id: int, fmt: str) -> Response[bytes]:
    try:
        file = await service.document_file(scope, document_id, fmt)
    except service.DocumentNotFound:
        raise NotFoundException(NOT_FOUND) from None
    except service.EInvoicingError as exc:
        raise refusal(exc) from None
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
    "/einvoices/{einvoice_id:int}/xml",
    responses=FILE_RESPONSES,
    summary="Download an e-invoice's XML",
    description="Exactly as stamped by the provider (the legal document).",
    media_type="application/xml",
)
async def einvoice_xml(
    api_scope: NamedDependency[TenantScope], einvoice_id: FromPath[int]
) -> Response[bytes]:
    return await _file(api_scope, einvoice_id, "xml")


@get(
    "/einvoices/{einvoice_id:int}/pdf",
    responses=FILE_RESPONSES,
    summary="Download an e-invoice's PDF",
    description="Its printed representation.",
    media_type="application/pdf",
)
async def einvoice_pdf(
    api_scope: NamedDependency[TenantScope], einvoice_id: FromPath[int]
) -> Response[bytes]:
    return await _file(api_scope, einvoice_id, "pdf")


@post(
    "/invoices/{invoice_id:int}/einvoice",
    responses=ISSUE_RESPONSES,
    summary="Issue an invoice's e-invoice now",
    description=(
        "Stamps the invoice's tax document through the tenant's provider (SAT: a CFDI 4.0 "
        "Ingreso through the PAC) and answers 201 with it; when the invoice already has one, "
        "200 with that one (nothing is issued twice). A refusal is a 422 with the provider's "
        "message (the failed attempt is kept for staff); a tenant without e-invoicing is a 409."
    ),
    status_code=201,
)
async def issue_einvoice(
    request: Request[Any, Any, Any],
    writer: NamedDependency[ApiCaller],
    idempotency_key: IdempotencyKey,
    api_scope: NamedDependency[TenantScope],
    invoice_id: FromPath[int],
) -> Response[EInvoiceOut]:
    if await api_scope.get(Invoice, invoice_id) is None:
        raise NotFoundException(INVOICE_NOT_FOUND)

    existing: list[bool] = []  # set by the action: the invoice already had this document

    async def action() -> EInvoiceOut | ErrorBody:
        before = await service.list_documents(api_scope, invoice_id=invoice_id, kind="invoice")
        known = {d.id for d in before if d.status != "failed"}
        try:
            doc = await service.issue_invoice(api_scope, invoice_id, actor=writer.actor)
        except service.EInvoicingError as exc:
            return refusal(exc).body()
        existing.append(doc.id in known)
        return einvoice_out(doc)

    def status(payload: Any) -> int:
        if isinstance(payload, ErrorBody):
            return payload.status_code
        return 200 if existing and existing[-1] else 201

    return await idempotent_post(request, writer, api_scope, action, status=status)


@post(
    "/einvoices/{einvoice_id:int}/cancel",
    responses=CANCEL_RESPONSES,
    summary="Cancel an e-invoice",
    description=(
        "With SAT's reason code: `01` (needs `replacement`, the substituting document's UUID), "
        "`02`, `03` or `04`. The status becomes `cancelled`, or `cancel_pending` while the "
        "receiver must accept. A refusal is a 422 with the provider's message."
    ),
    status_code=200,
)
async def cancel_einvoice(
    request: Request[Any, Any, Any],
    writer: NamedDependency[ApiCaller],
    idempotency_key: IdempotencyKey,
    api_scope: NamedDependency[TenantScope],
    einvoice_id: FromPath[int],
    data: JSONBody[EInvoiceCancelIn],
) -> Response[EInvoiceOut]:
    check_text(data)
    await _document(api_scope, einvoice_id)  # another tenant's id is a 404 before anything else
    if data.reason not in REASONS:
        raise field_error(400, "reason", "use 01, 02, 03 or 04 (SAT's cancellation reasons)")
    replacement = data.replacement.strip()
    if data.reason == "01" and not replacement:
        raise field_error(400, "replacement", "reason 01 needs the substituting document's UUID")
    if data.reason != "01" and replacement:
        raise field_error(400, "replacement", "only reason 01 takes a replacement")
    if replacement and not _UUID.match(replacement):
        raise field_error(400, "replacement", "a UUID such as 5FB2822E-396D-4725-8521-CDC4BDD20CCF")

    async def action() -> EInvoiceOut | ErrorBody:
        try:
            doc = await service.cancel_document(
                api_scope,
                einvoice_id,
                reason=data.reason,
                replacement=replacement.upper(),
                actor=writer.actor,
            )
        except service.EInvoicingError as exc:
            return refusal(exc).body()
        return einvoice_out(doc)

    def status(payload: Any) -> int:
        return payload.status_code if isinstance(payload, ErrorBody) else 200

    return await idempotent_post(request, writer, api_scope, action, status=status)


ROUTES: list[Any] = [
    list_einvoices,
    get_einvoice,
    einvoice_xml,
    einvoice_pdf,
    issue_einvoice,
    cancel_einvoice,
]
