"""Changing an invoice after it was issued: edit while unpaid, void with a reason.

Both run in one write transaction with the ledger's lock order (the customer, then the invoice;
``core/payments/ledger.py``), so a payment arriving at the same moment either lands first (and the
edit or void is refused) or after (and finds the new state). Each writes an audit event and
enqueues an ``invoice_event`` (``updated`` / ``voided``) in that same transaction, as
:func:`~recaudo.core.billing.invoices.create_invoice` does for ``created``.

Callers: the back office (``web/backoffice/invoices.py``) and the REST API. Errors:
:class:`~recaudo.core.billing.invoices.InvoiceError` (bad field, 400),
:class:`~recaudo.core.billing.errors.RecordNotFound` (404),
:class:`~recaudo.core.billing.errors.RecordConflict` (the invoice's state forbids it, 409).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from typing import Any

from recaudo.core.billing.errors import RecordConflict, RecordNotFound, actor_name
from recaudo.core.billing.invoices import (
    InvoiceError,
    NewInvoice,
    NewLine,
    status_for,
    validate_invoice,
)
from recaudo.core.common.atomic import atomic, locked
from recaudo.core.common.audit import record
from recaudo.core.common.money import check_currency
from recaudo.core.common.outbox import enqueue
from recaudo.core.tables import (
    CreditNote,
    Customer,
    Invoice,
    InvoiceCharge,
    InvoiceLine,
    StaffUser,
)
from recaudo.tenants.scoped import TenantScope, as_id

MAX_REASON = 500
EDITABLE = (
    "customer_id",
    "number",
    "issue_date",
    "due_date",
    "currency",
    "description",
    "external_id",
    "lines",
    "tax",
)


def _now() -> datetime:
    return datetime.now(UTC)


def reason_text(value: object, what: str = "reason") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvoiceError(f"{what}: required")
    text = " ".join(value.split())
    if len(text) > MAX_REASON:
        raise InvoiceError(f"{what}: at most {MAX_REASON} characters")
    return text


async def lock_invoice(scope: TenantScope, invoice_id: object) -> Invoice:
    """The invoice, locked after its customer (the ledger's order), or :class:`RecordNotFound`."""
    pk = as_id(invoice_id)
    invoice = await scope.get(Invoice, pk) if pk else None
    if invoice is None:
        raise RecordNotFound(f"invoice {invoice_id}: not found")
    await locked(scope.objects(Customer).where(Customer.id == invoice.customer)).first()
    row = await locked(scope.objects(Invoice).where(Invoice.id == pk)).first()
    if row is None:  # pragma: no cover - deleted between the two reads; invoices are never deleted
        raise RecordNotFound(f"invoice {invoice_id}: not found")
    return row


def _line(value: object, i: int) -> NewLine:
    if isinstance(value, NewLine):
        return value
    if isinstance(value, Mapping):
        try:
            return NewLine(str(value["description"]), value["quantity"], value["unit_amount"])
        except KeyError as exc:
            raise InvoiceError(f"line {i}: {exc.args[0]} required") from None
    raise InvoiceError(f"line {i}: expected description, quantity and unit_amount")


def _date(value: object, what: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvoiceError(f"{what}: a date (YYYY-MM-DD)")
    return value


async def _lines_of(scope: TenantScope, invoice_id: int) -> tuple[NewLine, ...]:
    rows = await (
        scope.objects(InvoiceLine)
        .where(InvoiceLine.invoice == invoice_id)
        .order_by(InvoiceLine.position)
    )
    return tuple(NewLine(str(r.description), int(r.quantity), int(r.unit_amount)) for r in rows)


def editable_problem(invoice: Invoice) -> str | None:
    """Why the invoice can no longer be edited, or ``None`` when it can."""
    if invoice.status == "void":
        return f"invoice {invoice.number}: void, it cannot be edited"
    if int(invoice.amount_applied) > 0 or invoice.status != "open":
        return f"invoice {invoice.number}: payments were applied, it cannot be edited"
    if invoice.plan_id is not None:
        return f"invoice {invoice.number}: covered by a payment plan, it cannot be edited"
    return None


async def update_invoice(
    scope: TenantScope, invoice_id: int, changes: Mapping[str, Any], actor: StaffUser | str
) -> Invoice:
    """Edit an invoice nothing was paid on yet; ``changes`` names only what changes.

    Keys: :data:`EDITABLE` (``lines`` replaces every line: :class:`NewLine` or mappings with
    ``description``, ``quantity``, ``unit_amount``; ``tax`` in minor units). Refused
    (:class:`RecordConflict`) once any amount is applied, when void, covered by a plan or
    credited. The totals are recomputed; an audit event ``invoice.updated`` lists old and new
    values and an ``invoice_event`` ``updated`` is enqueued.
    """
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvoiceError(f"{unknown[0]}: not a field that can be changed")

    async def work(_tx: Any) -> Invoice:
        invoice = await lock_invoice(scope, invoice_id)
        problem = editable_problem(invoice)
        if problem:
            raise RecordConflict(problem)
        if await scope.exists(CreditNote).where(CreditNote.invoice == invoice.id):
            raise RecordConflict(f"invoice {invoice.number}: has credit notes, it cannot be edited")
        if await scope.exists(InvoiceCharge).where(InvoiceCharge.invoice == invoice.id):
            # Recomputing the total from the lines would drop its late fees.
            raise RecordConflict(f"invoice {invoice.number}: has late fees, it cannot be edited")
        before = NewInvoice(
            customer_id=int(invoice.customer),
            number=str(invoice.number),
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            currency=str(invoice.currency),
            lines=await _lines_of(scope, int(invoice.id)),
            tax=int(invoice.tax),
            description=str(invoice.description or ""),
            external_id=invoice.external_id,
        )
        values: dict[str, Any] = dict(changes)
        if "lines" in values:
            raw = values["lines"]
            if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
                raise InvoiceError("lines: a list of lines")
            values["lines"] = tuple(_line(line, i) for i, line in enumerate(raw, 1))
        for key in ("issue_date", "due_date"):
            if key in values:
                values[key] = _date(values[key], key)
        for key in ("number", "currency", "description"):
            if key in values and not isinstance(values[key], str):
                raise InvoiceError(f"{key}: must be text")
        if "description" in values and len(values["description"]) > 500:
            raise InvoiceError("description: at most 500 characters")
        if "external_id" in values:
            ext = values["external_id"]
            if ext is not None and (not isinstance(ext, str) or len(ext) > 100):
                raise InvoiceError("external_id: text of at most 100 characters")
        if "customer_id" in values:
            customer_id = as_id(values["customer_id"])
            if customer_id is None or await scope.get(Customer, customer_id) is None:
                raise InvoiceError(f"customer_id {values['customer_id']}: not found")
            values["customer_id"] = customer_id
        after = replace(before, **values)
        if "number" in values:
            after = replace(after, number=after.number.strip())
        validate_invoice(after)
        after = replace(after, currency=check_currency(after.currency))
        if after.number != before.number and await scope.exists(Invoice).where(
            (Invoice.number == after.number) & (Invoice.id != invoice.id)
        ):
            raise InvoiceError(f"number {after.number!r}: already used")
        subtotal = sum(line.quantity * line.unit_amount for line in after.lines)
        total = subtotal + after.tax
        if total <= 0:
            raise InvoiceError("total: must be more than zero")
        old, new = asdict(before), asdict(after)
        changed = {key: [_plain(old[key]), _plain(new[key])] for key in new if old[key] != new[key]}
        if not changed:
            return invoice
        update = {
            Invoice.customer: after.customer_id,
            Invoice.number: after.number,
            Invoice.issue_date: after.issue_date,
            Invoice.due_date: after.due_date,
            Invoice.currency: after.currency,
            Invoice.subtotal: subtotal,
            Invoice.tax: after.tax,
            Invoice.total: total,
            Invoice.status: status_for(total, 0),
            Invoice.description: after.description,
            Invoice.external_id: after.external_id,
            Invoice.updated_at: _now(),
        }
        await scope.update(Invoice, update).where(Invoice.id == invoice.id)
        if "lines" in changed:
            await scope.delete(InvoiceLine).where(InvoiceLine.invoice == invoice.id)
            await scope.add(
                *[
                    InvoiceLine(
                        invoice=invoice.id,
                        position=i,
                        description=line.description,
                        quantity=line.quantity,
                        unit_amount=line.unit_amount,
                        amount=line.quantity * line.unit_amount,
                    )
                    for i, line in enumerate(after.lines)
                ]
            )
        await record(
            scope, actor_name(actor), "invoice.updated", f"invoice:{invoice.id}", changes=changed
        )
        await enqueue(
            scope,
            "invoice_event",
            {"invoice_id": int(invoice.id), "kind": "updated"},
            key=f"invoice_event:{invoice.id}:updated:{uuid.uuid4().hex}",
        )
        for column, value in update.items():
            setattr(invoice, column._meta.name, value)
        return invoice

    return await atomic(work)


def _plain(value: Any) -> Any:
    """A value as JSON for the audit trail."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


async def void_invoice(
    scope: TenantScope, invoice_id: int, reason: str, actor: StaffUser | str
) -> Invoice:
    """Void an invoice nothing was paid on: it stops being owed, everywhere, at once.

    Refused (:class:`RecordConflict`) when already void, when payments were applied (refund
    them, or issue a credit note for what is left) and when a payment plan covers it. Writes an
    audit event ``invoice.voided`` with the reason and enqueues an ``invoice_event`` ``voided``.
    """
    text = reason_text(reason)
    who = actor_name(actor)

    async def work(_tx: Any) -> Invoice:
        invoice = await lock_invoice(scope, invoice_id)
        if invoice.status == "void":
            raise RecordConflict(f"invoice {invoice.number}: already void")
        if int(invoice.amount_applied) > 0:
            raise RecordConflict(
                f"invoice {invoice.number}: payments were applied; refund them or issue a "
                "credit note for the balance"
            )
        if invoice.plan_id is not None:
            raise RecordConflict(f"invoice {invoice.number}: covered by a payment plan")
        previous = str(invoice.status)
        invoice.status = "void"
        await scope.update(Invoice, {Invoice.status: "void", Invoice.updated_at: _now()}).where(
            Invoice.id == invoice.id
        )
        await record(
            scope,
            who,
            "invoice.voided",
            f"invoice:{invoice.id}",
            reason=text,
            previous_status=previous,
            balance=int(invoice.total) - int(invoice.amount_applied),
        )
        await enqueue(
            scope,
            "invoice_event",
            {"invoice_id": int(invoice.id), "kind": "voided"},
            key=f"invoice_event:{invoice.id}:voided",
        )
        return invoice

    return await atomic(work)


__all__ = [
    "EDITABLE",
    "InvoiceError",
    "RecordConflict",
    "RecordNotFound",
    "editable_problem",
    "update_invoice",
    "void_invoice",
]
