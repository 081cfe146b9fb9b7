"""Proofs of payment: confirming records the money through the ledger, once; rejecting tells why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from recaudo.core.casework.review.common import (
    MAX_AMOUNT,
    PAYABLE,
    PROOF_METHOD,
    Conflict,
    InboxError,
    NotFound,
    _decided,
    _get,
    _locked,
    _reason,
    _tell_customer,
    _valid_id,
    actor,
)
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.db import transaction
from recaudo.core.payments.ledger import PaymentError, record_staff_payment
from recaudo.core.tables import (
    BankLine,
    Invoice,
    PaymentProof,
    StaffUser,
)
from recaudo.tenants.scoped import TenantScope


async def pending_proofs(scope: TenantScope) -> list[dict[str, Any]]:
    return (
        await scope.select(
            PaymentProof,
            PaymentProof.id,
            PaymentProof.amount,
            PaymentProof.currency,
            PaymentProof.filename,
            PaymentProof.created_at,
            PaymentProof.customer.name.as_alias("customer_name"),
            PaymentProof.customer.number.as_alias("customer_number"),
        )
        .where(PaymentProof.status == "pending")
        .order_by(PaymentProof.id)
    )


async def proof(scope: TenantScope, proof_id: int) -> PaymentProof:
    return await _get(scope, PaymentProof, proof_id, "Comprobante no encontrado.")


async def proof_invoices(scope: TenantScope, row: PaymentProof) -> list[Invoice]:
    ids = [i for i in loads(row.invoice_ids, []) if isinstance(i, int) and not isinstance(i, bool)]
    if not ids:
        return []
    return (
        await scope.objects(Invoice)
        .where(Invoice.id.is_in(ids), Invoice.customer == row.customer)
        .order_by(Invoice.due_date)
    )


async def confirm_proof(
    scope: TenantScope, user: StaffUser, proof_id: int, amount: int | None = None
) -> PaymentProof:
    """Record the proof's money as an approved payment, exactly once, and link it.

    ``amount`` is what staff saw arrive when it differs from what the customer typed: the
    payment is recorded for it, the proof keeps the declared amount and the audit has both.
    """
    _valid_id(proof_id, "Comprobante no encontrado.")
    if amount is not None and not 0 < amount <= MAX_AMOUNT:
        raise InboxError("El monto confirmado debe ser mayor que cero.")
    async with transaction():
        row = await _locked(scope.objects(PaymentProof).where(PaymentProof.id == proof_id)).first()
        if row is None:
            raise NotFound("Comprobante no encontrado.")
        if row.status == "confirmed":
            return row
        if row.status != "pending":
            raise Conflict("Este comprobante ya fue rechazado.")
        named = await proof_invoices(scope, row)
        if any(i.currency != row.currency for i in named):
            raise InboxError("La moneda del comprobante no coincide con la de sus facturas.")
        payable = [int(i.id) for i in named if i.status in PAYABLE and i.balance > 0]
        confirmed = int(row.amount) if amount is None else amount
        line = await _bank_line_of(scope, row, confirmed)
        if line is not None:
            return await _link_to_line(scope, user, row, line, confirmed)
        try:
            payment = await record_staff_payment(
                scope,
                customer_id=int(row.customer),
                currency=str(row.currency),
                amount=confirmed,
                method=PROOF_METHOD,
                reference=f"proof:{row.id}",
                invoice_ids=payable,
            )
        except PaymentError:
            raise InboxError("No se pudo registrar el pago de este comprobante.") from None
        await scope.update(
            PaymentProof,
            {
                PaymentProof.status: "confirmed",
                PaymentProof.payment: payment.id,
                **_decided(PaymentProof, user, "", PaymentProof.decision_reason),
            },
        ).where(PaymentProof.id == row.id)
        await record(
            scope,
            actor(user),
            "proof.confirmed",
            f"payment_proof:{row.id}",
            payment_id=int(payment.id),
            amount=confirmed,
            declared_amount=int(row.amount),
            corrected=confirmed != int(row.amount),
            currency=str(row.currency),
        )
        await _tell_customer(scope, "proof", int(row.id))
    row.status, row.payment = "confirmed", payment.id
    return row


async def _bank_line_of(scope: TenantScope, row: PaymentProof, amount: int) -> BankLine | None:
    """The bank statement line that already applied this money, if one did (reconciliation)."""
    from recaudo.core.payments.ledger import _lock_customer
    from recaudo.core.reconciliation.apply import line_that_applied
    from recaudo.core.reconciliation.settings import reconcile_settings

    # The customer's lock orders this against a statement import applying the same money.
    await _lock_customer(scope, int(row.customer))
    window = (await reconcile_settings(scope)).date_window_days
    uploaded = row.created_at.date() if row.created_at else datetime.now(UTC).date()
    return await line_that_applied(
        scope, int(row.customer), str(row.currency), amount, uploaded, window
    )


async def _link_to_line(
    scope: TenantScope, user: StaffUser, row: PaymentProof, line: BankLine, amount: int
) -> PaymentProof:
    """Confirm the proof without recording its money again: the bank statement already brought
    it. The proof points at that payment and its decision note tells staff so."""
    note = (
        f"El dinero ya llegó en el estado de cuenta (movimiento {line.id}) y se aplicó; "
        "no se registró de nuevo."
    )
    await scope.update(
        PaymentProof,
        {
            PaymentProof.status: "confirmed",
            PaymentProof.payment: line.payment,
            **_decided(PaymentProof, user, note, PaymentProof.decision_reason),
        },
    ).where(PaymentProof.id == row.id)
    await record(
        scope,
        actor(user),
        "proof.confirmed",
        f"payment_proof:{row.id}",
        payment_id=int(line.payment),
        amount=amount,
        declared_amount=int(row.amount),
        corrected=amount != int(row.amount),
        currency=str(row.currency),
        linked_bank_line=int(line.id),
    )
    await _tell_customer(scope, "proof", int(row.id))
    row.status, row.payment, row.decision_reason = "confirmed", line.payment, note
    return row


async def reject_proof(
    scope: TenantScope, user: StaffUser, proof_id: int, reason: str | None
) -> PaymentProof:
    text = _reason(reason)
    _valid_id(proof_id, "Comprobante no encontrado.")
    async with transaction():
        row = await _locked(scope.objects(PaymentProof).where(PaymentProof.id == proof_id)).first()
        if row is None:
            raise NotFound("Comprobante no encontrado.")
        if row.status == "rejected":
            return row
        if row.status != "pending":
            raise Conflict("Este comprobante ya fue confirmado.")
        await scope.update(
            PaymentProof,
            {
                PaymentProof.status: "rejected",
                **_decided(PaymentProof, user, text, PaymentProof.decision_reason),
            },
        ).where(PaymentProof.id == row.id)
        await record(scope, actor(user), "proof.rejected", f"payment_proof:{row.id}", reason=text)
        await _tell_customer(scope, "proof", int(row.id))
    row.status, row.decision_reason = "rejected", text
    return row
