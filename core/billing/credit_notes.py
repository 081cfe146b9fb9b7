"""Credit notes: part of an invoice the business takes back (a discount, a returned item).

A credit note lowers what the invoice asks for: in one write transaction, with the ledger's lock
order (customer, then invoice), it inserts the ``credit_note`` row and takes its amount off the
invoice's ``total``; the status follows from the ledger's one rule
(:func:`~recaudo.core.billing.invoices.status_for`), so an invoice credited down to what was
already paid is ``paid`` and leaves the customer's statement. We keep the ledger's invariant
(``amount_applied`` is the sum of the invoice's allocations) instead of recording a customer
credit (``CreditEntry``) spent on the invoice: that credit would have no payment behind it, and a
later refund could not tell it from money. What was first invoiced stays ``subtotal + tax``;
``total`` is that minus the credit notes. A refund of a payment on a credited invoice reopens it
for exactly what is then owed.

Rules: the amount is more than zero and at most the invoice's balance (never customer credit);
not on void or paid invoices, nor on invoices a payment plan covers (the plan fixed its amounts).
Each note gets the number ``NC-<invoice number>-<n>``, an audit event ``invoice.credited`` and an
``invoice_event`` ``credited``, all in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from recaudo.core.billing.errors import RecordConflict, RecordNotFound, actor_name
from recaudo.core.billing.invoice_changes import lock_invoice, reason_text
from recaudo.core.billing.invoices import InvoiceError
from recaudo.core.common.atomic import atomic
from recaudo.core.common.audit import record
from recaudo.core.common.outbox import enqueue
from recaudo.core.payments.ledger import set_invoice_total
from recaudo.core.tables import CreditNote, StaffUser
from recaudo.tenants.scoped import TenantScope

MAX_AMOUNT = 10**15


class CreditNoteError(InvoiceError):
    """Invalid credit note (amount, reason); the message names the field."""


async def issue_credit_note(
    scope: TenantScope, invoice_id: int, amount: int, reason: str, actor: StaffUser | str
) -> CreditNote:
    """Issue a credit note of ``amount`` minor units (in the invoice's currency) on an invoice."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise CreditNoteError("amount: must be a whole number of minor units")
    if amount <= 0:
        raise CreditNoteError("amount: must be more than zero")
    if amount > MAX_AMOUNT:
        raise CreditNoteError("amount: too large")
    try:
        text = reason_text(reason)
    except InvoiceError as exc:
        raise CreditNoteError(str(exc)) from None
    who = actor_name(actor)

    async def work(_tx: Any) -> CreditNote:
        invoice = await lock_invoice(scope, invoice_id)
        if invoice.status == "void":
            raise RecordConflict(f"invoice {invoice.number}: void, nothing to credit")
        balance = int(invoice.total) - int(invoice.amount_applied)
        if invoice.status == "written_off":
            raise RecordConflict(f"invoice {invoice.number}: written off, nothing to credit")
        if invoice.status == "paid" or balance <= 0:
            raise RecordConflict(f"invoice {invoice.number}: paid, nothing to credit")
        if invoice.plan_id is not None:
            raise RecordConflict(f"invoice {invoice.number}: covered by a payment plan")
        if amount > balance:
            raise CreditNoteError(f"amount: {amount} is more than the invoice balance {balance}")
        count = await scope.count(CreditNote).where(CreditNote.invoice == invoice.id)
        note = CreditNote(
            invoice=invoice.id,
            number=f"NC-{invoice.number}-{int(count) + 1}",
            amount=amount,
            currency=str(invoice.currency),
            reason=text,
            created_by=who,
            created_at=datetime.now(UTC),
        )
        await scope.add(note)
        total = int(invoice.total) - amount
        await set_invoice_total(scope, invoice, total)
        await record(
            scope,
            who,
            "invoice.credited",
            f"invoice:{invoice.id}",
            credit_note=int(note.id),
            number=str(note.number),
            amount=amount,
            currency=str(invoice.currency),
            reason=text,
            balance=total - int(invoice.amount_applied),
        )
        await enqueue(
            scope,
            "invoice_event",
            {"invoice_id": int(invoice.id), "kind": "credited", "credit_note_id": int(note.id)},
            key=f"invoice_event:{invoice.id}:credited:{note.id}",
        )
        return note

    return await atomic(work)


async def invoice_credit_notes(scope: TenantScope, invoice_id: int) -> list[CreditNote]:
    return await (
        scope.objects(CreditNote).where(CreditNote.invoice == invoice_id).order_by(CreditNote.id)
    )


async def customer_credit_notes(
    scope: TenantScope, customer_id: int, limit: int = 50
) -> list[dict[str, Any]]:
    """A customer's credit notes, newest first, with their invoice's number."""
    return await (
        scope.select(
            CreditNote,
            CreditNote.id,
            CreditNote.number,
            CreditNote.amount,
            CreditNote.currency,
            CreditNote.reason,
            CreditNote.created_at,
            CreditNote.invoice,
            CreditNote.invoice.number.as_alias("invoice_number"),
        )
        .where(CreditNote.invoice.customer == customer_id)
        .order_by(CreditNote.id, ascending=False)
        .limit(limit)
    )


async def credit_note(scope: TenantScope, note_id: int) -> CreditNote:
    row = await scope.get(CreditNote, note_id)
    if row is None:
        raise RecordNotFound(f"credit note {note_id}: not found")
    return row


__all__ = [
    "CreditNoteError",
    "customer_credit_notes",
    "invoice_credit_notes",
    "issue_credit_note",
]
