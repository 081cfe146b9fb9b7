"""Money staff record by hand: manual payments (cash, cheque, transfer) and write-offs.

Both go through the ledger (:mod:`recaudo.core.payments.ledger`), in one write transaction each,
so allocations, invoice balances and statuses, the account stamp, the outbox events and the audit
trail move together:

* :func:`record_manual_payment` is :func:`~recaudo.core.payments.ledger.record_staff_payment`
  with a method among :data:`MANUAL_METHODS`. The idempotency key is ``<method>:<reference>``:
  the same reference twice records one payment (a double click, an API retry, the same cheque
  typed twice). The same reference with another customer, currency or amount is refused.
* :func:`write_off` closes all or part of an invoice's balance as uncollectable. It is counted in
  ``Invoice.amount_applied`` (so every ``total - amount_applied`` in the code base is still the
  balance) and recorded in ``write_off``; an invoice whose balance reaches zero with a write-off
  is ``written_off`` (see :func:`recaudo.core.billing.invoices.status_for`). A later refund of a
  payment reopens the invoice for the refunded money only; the written-off part stays closed.

Other callers (the REST API, the back office) use these exact signatures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.common.atomic import atomic, integrity_error, locked
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.payments import ledger
from recaudo.core.payments.errors import PaymentError
from recaudo.core.tables import Invoice, Payment, WriteOff
from recaudo.tenants.scoped import TenantScope, as_id

MANUAL_METHODS = ("cash", "cheque", "transfer")
MAX_REFERENCE = 80
MAX_REASON = 500


def _now() -> datetime:
    return datetime.now(UTC)


def _actor(actor: object) -> str:
    if not isinstance(actor, str) or not actor.strip():
        raise PaymentError("actor: required")
    return actor.strip()[:100]


def _method(method: object) -> str:
    if method not in MANUAL_METHODS:
        raise PaymentError(f"method: must be one of {', '.join(MANUAL_METHODS)}")
    return str(method)


def _reference(reference: object) -> str:
    if not isinstance(reference, str) or not reference.strip():
        raise PaymentError("reference: required (receipt, cheque or transfer number)")
    text = " ".join(reference.split())
    if len(text) > MAX_REFERENCE:
        raise PaymentError(f"reference: at most {MAX_REFERENCE} characters")
    return text


def _amount(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PaymentError("amount: must be a whole number of minor units")
    if value <= 0:
        raise PaymentError("amount: must be more than zero")
    if value > ledger.MAX_AMOUNT:
        raise PaymentError("amount: too large")
    return value


async def manual_payment_for(scope: TenantScope, method: str, reference: str) -> Payment | None:
    """The payment already recorded for this method and reference, if any."""
    key = f"{_method(method)}:{_reference(reference)}"
    return await scope.objects(Payment).where(Payment.idempotency_key == key).first()


async def record_manual_payment(
    scope: TenantScope,
    *,
    customer_id: int,
    currency: str,
    amount: int,
    method: str,
    reference: str,
    invoice_ids: Sequence[int] | None,
    actor: str,
    received_on: date | None = None,
) -> Payment:
    """Record money a customer paid outside the portal (cash, cheque or transfer).

    Created ``approved`` and applied at once: to ``invoice_ids`` in that order (each must be the
    customer's, open and in ``currency``), then to the oldest due, the rest as credit. The same
    ``method`` and ``reference`` return the payment already recorded (nothing changes); with a
    different customer, currency or amount they are refused. Audited as ``payment.manual``.
    """
    method = _method(method)
    reference = _reference(reference)
    amount = _amount(amount)
    who = _actor(actor)
    if received_on is not None and not isinstance(received_on, date):
        raise PaymentError("received_on: must be a date")
    if received_on is not None and (received_on - _now().date()).days > 1:
        raise PaymentError("received_on: in the future")
    ids = [int(i) for i in ledger._ids(list(invoice_ids or []))]
    key = f"{method}:{reference}"

    async def work(_tx: Any) -> Payment:
        existing = await scope.objects(Payment).where(Payment.idempotency_key == key).first()
        if existing is not None:
            _same(existing, customer_id, currency, amount, reference)
            return existing
        payment = await ledger.record_staff_payment(
            scope,
            customer_id=customer_id,
            currency=currency,
            amount=amount,
            method=method,
            reference=reference,
            invoice_ids=ids,
        )
        # the customer's pending checkouts for these invoices end, as with a confirmed proof
        await ledger.end_competing_checkouts(scope, payment)
        details = {
            "manual": {
                "reference": reference,
                "received_on": received_on.isoformat() if received_on else None,
                "recorded_by": who,
            }
        }
        await scope.update(Payment, {Payment.checkout: details}).where(Payment.id == payment.id)
        payment.checkout = details
        await record(
            scope,
            who,
            "payment.manual",
            f"payment:{payment.id}",
            customer_id=int(customer_id),
            method=method,
            reference=reference,
            amount=amount,
            currency=str(payment.currency),
            invoice_ids=ids,
            received_on=details["manual"]["received_on"],
        )
        return payment

    try:
        return await atomic(work)
    except Exception as exc:
        if integrity_error(exc):  # a concurrent request won the key: read what it recorded
            existing = await scope.objects(Payment).where(Payment.idempotency_key == key).first()
            if existing is not None:
                _same(existing, customer_id, currency, amount, reference)
                return existing
        raise


def _same(payment: Payment, customer_id: int, currency: str, amount: int, reference: str) -> None:
    if int(payment.customer) != int(customer_id):
        raise PaymentError(f"reference: {reference!r} is already recorded for another customer")
    if str(payment.currency) != str(currency).strip().upper() or int(payment.amount) != amount:
        raise PaymentError(
            f"reference: {reference!r} is already recorded (payment {payment.id}) with another "
            "amount"
        )


def manual_details(payment: Payment) -> dict[str, Any]:
    """What staff typed for a manual payment (reference, date received, who), or ``{}``."""
    checkout = loads(payment.checkout, {})
    value = checkout.get("manual") if isinstance(checkout, dict) else None
    return value if isinstance(value, dict) else {}


# --- write-offs ----------------------------------------------------------------------------------


async def write_off(
    scope: TenantScope,
    invoice_id: int,
    amount: int | None,
    reason: str,
    actor: str,
) -> WriteOff:
    """Close ``amount`` of an invoice's balance as uncollectable (``None``: all of it).

    The invoice must be open or partially paid, not covered by a payment plan, and ``amount`` at
    most its balance. The balance drops by ``amount``; at zero the invoice is ``written_off``
    (otherwise it keeps ``open``/``partially_paid``). The customer's statement, the portal and
    the invoice's timeline show it; an ``invoice_event`` and the audit event ``invoice.write_off``
    are written in the same transaction.
    """
    pk = as_id(invoice_id)
    if pk is None:
        raise PaymentError(f"invoice {invoice_id}: not found")
    if not isinstance(reason, str) or not reason.strip():
        raise PaymentError("reason: required")
    text = " ".join(reason.split())
    if len(text) > MAX_REASON:
        raise PaymentError(f"reason: at most {MAX_REASON} characters")
    if amount is not None:
        amount = _amount(amount)
    who = _actor(actor)

    async def work(_tx: Any) -> WriteOff:
        found = await scope.select(Invoice, Invoice.customer).where(Invoice.id == pk).first()
        if found is None:
            raise PaymentError(f"invoice {invoice_id}: not found")
        await ledger._lock_customer(scope, int(found["customer"]))
        invoice = await locked(scope.objects(Invoice).where(Invoice.id == pk)).first()
        if invoice is None:  # pragma: no cover - the row was read just above
            raise PaymentError(f"invoice {invoice_id}: not found")
        if invoice.status not in OPEN_STATUSES or invoice.balance <= 0:
            raise PaymentError(
                f"invoice {invoice.number}: {invoice.status}, nothing left to write off"
            )
        if invoice.plan_id is not None:
            raise PaymentError(
                f"invoice {invoice.number}: covered by a payment plan; end the plan first"
            )
        take = invoice.balance if amount is None else amount
        if take > invoice.balance:
            raise PaymentError(f"amount: {take} is more than the invoice balance {invoice.balance}")
        row = WriteOff(
            invoice=invoice.id,
            customer=invoice.customer,
            currency=invoice.currency,
            amount=take,
            reason=text,
            actor=who,
            created_at=_now(),
        )
        await scope.add(row)
        await ledger._set_applied(scope, invoice, int(invoice.amount_applied) + take)
        await record(
            scope,
            who,
            "invoice.write_off",
            f"invoice:{invoice.id}",
            amount=take,
            currency=str(invoice.currency),
            reason=text,
            balance=invoice.balance,
            status=str(invoice.status),
            write_off_id=int(row.id),
        )
        return row

    return await atomic(work)


async def invoice_write_offs(scope: TenantScope, invoice_id: int) -> list[WriteOff]:
    """An invoice's write-offs, oldest first (for its timeline)."""
    pk = as_id(invoice_id)
    if pk is None:
        return []
    return await scope.objects(WriteOff).where(WriteOff.invoice == pk).order_by(WriteOff.id)


async def customer_write_offs(scope: TenantScope, customer_id: int) -> list[dict[str, Any]]:
    """A customer's write-offs, newest first, with the invoice number (for the timeline)."""
    pk = as_id(customer_id)
    if pk is None:
        return []
    return await (
        scope.select(
            WriteOff,
            WriteOff.id,
            WriteOff.invoice,
            WriteOff.invoice.number.as_alias("invoice_number"),
            WriteOff.currency,
            WriteOff.amount,
            WriteOff.reason,
            WriteOff.actor,
            WriteOff.created_at,
        )
        .where(WriteOff.customer == pk)
        .order_by(WriteOff.id, ascending=False)
    )


__all__ = [
    "MANUAL_METHODS",
    "PaymentError",
    "customer_write_offs",
    "invoice_write_offs",
    "manual_details",
    "manual_payment_for",
    "record_manual_payment",
    "write_off",
]
