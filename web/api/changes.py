"""Changes through the services the back office uses: manual payments, voids, credit notes.

``POST /api/v1/payments`` (:func:`record_manual_payment`), ``POST
/api/v1/invoices/{id}/void`` (:func:`void_invoice`) and ``POST
/api/v1/invoices/{id}/credit_notes`` (:func:`issue_credit_note`); each audited by its service
with the API key as actor, and idempotent with an ``Idempotency-Key``.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import Response

from recaudo.core.access.apikeys import ApiCaller
from recaudo.core.billing.credit_notes import issue_credit_note
from recaudo.core.billing.errors import RecordConflict, RecordNotFound
from recaudo.core.billing.invoice_changes import void_invoice
from recaudo.core.billing.invoices import InvoiceError
from recaudo.core.payments.errors import PaymentError
from recaudo.core.payments.manual import record_manual_payment
from recaudo.tenants.scoped import TenantScope
from recaudo.web.api.common import IdempotencyKey, check_text, idempotent_post
from recaudo.web.api.errors import POST_RESPONSES, ApiError, field_error, from_domain
from recaudo.web.api.invoices import invoices_out
from recaudo.web.api.payments import payment_out
from recaudo.web.api.schemas import (
    CreditNoteIn,
    CreditNoteOut,
    InvoiceOut,
    ManualPaymentIn,
    PaymentOut,
    VoidIn,
)


def _refused(exc: Exception) -> ApiError:
    if isinstance(exc, RecordNotFound):
        text = str(exc)
        return ApiError(404, text)
    if isinstance(exc, RecordConflict):
        return ApiError(409, str(exc), [])
    status = 409 if "already" in str(exc) or "refused" in str(exc) else 422
    return from_domain(exc, status=status)


@post(
    "/payments",
    responses=POST_RESPONSES,
    summary="Record a manual payment",
    description=(
        "Cash, cheque or transfer received outside the portal, applied at once to `invoice_ids` "
        "(then the oldest due; the rest as credit). Amount in minor units."
    ),
    status_code=201,
)
async def record_payment_route(
    request: Request[Any, Any, Any],
    writer: NamedDependency[ApiCaller],
    idempotency_key: IdempotencyKey,
    api_scope: NamedDependency[TenantScope],
    data: JSONBody[ManualPaymentIn],
) -> Response[PaymentOut]:
    check_text(data)

    async def action() -> PaymentOut:
        try:
            payment = await record_manual_payment(
                api_scope,
                customer_id=data.customer_id,
                currency=data.currency or writer.currency,
                amount=data.amount,
                method=data.method,
                reference=data.reference,
                invoice_ids=data.invoice_ids,
                actor=writer.actor,
                received_on=data.received_on,
            )
        except (PaymentError, RecordNotFound, RecordConflict, LookupError) as exc:
            if isinstance(exc, LookupError) and not isinstance(exc, RecordNotFound):
                raise field_error(422, "customer_id", "not found") from None
            err = _refused(exc)
            for item in err.errors:  # the service names the invoice; the body says invoice_ids
                item.field = "invoice_ids" if item.field == "invoice" else item.field
            raise err from None
        return payment_out(payment)

    return await idempotent_post(request, writer, api_scope, action)


@post(
    "/invoices/{invoice_id:int}/void",
    responses=POST_RESPONSES,
    summary="Void an invoice",
    description="Only while nothing was paid on it; 409 otherwise (issue a credit note).",
    status_code=200,
)
async def void_invoice_route(
    request: Request[Any, Any, Any],
    writer: NamedDependency[ApiCaller],
    idempotency_key: IdempotencyKey,
    api_scope: NamedDependency[TenantScope],
    invoice_id: FromPath[int],
    data: JSONBody[VoidIn],
) -> Response[InvoiceOut]:
    check_text(data)

    async def action() -> InvoiceOut:
        try:
            invoice = await void_invoice(api_scope, invoice_id, data.reason, writer.actor)
        except (InvoiceError, RecordNotFound, RecordConflict) as exc:
            raise _refused(exc) from None
        return (await invoices_out(api_scope, [invoice]))[0]

    return await idempotent_post(request, writer, api_scope, action, status=200)


@post(
    "/invoices/{invoice_id:int}/credit_notes",
    responses=POST_RESPONSES,
    summary="Issue a credit note",
    description="Takes `amount` (minor units, at most the balance) off the invoice's total.",
    status_code=201,
)
async def credit_note_route(
    request: Request[Any, Any, Any],
    writer: NamedDependency[ApiCaller],
    idempotency_key: IdempotencyKey,
    api_scope: NamedDependency[TenantScope],
    invoice_id: FromPath[int],
    data: JSONBody[CreditNoteIn],
) -> Response[CreditNoteOut]:
    check_text(data)

    async def action() -> CreditNoteOut:
        try:
            note = await issue_credit_note(
                api_scope, invoice_id, data.amount, data.reason, writer.actor
            )
        except (InvoiceError, RecordNotFound, RecordConflict) as exc:
            raise _refused(exc) from None
        return CreditNoteOut(
            id=int(note.id),
            invoice_id=int(note.invoice),  # type: ignore[arg-type]
            number=str(note.number),
            amount=int(note.amount),
            currency=str(note.currency),
            reason=str(note.reason),
            created_at=note.created_at,
        )

    return await idempotent_post(request, writer, api_scope, action)


ROUTES: list[Any] = [record_payment_route, void_invoice_route, credit_note_route]
