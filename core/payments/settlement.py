"""Ledger operations of bank reconciliation: money a statement line brings, and taking it back.

They keep the ledger's rules (:mod:`recaudo.core.payments.ledger`): one transaction each (joining
the caller's, so the statement line that causes them commits with them), the payment, then the
customer, then the invoices locked, outbox events in the same transaction.

* :func:`record_allocated_payment` records an approved payment spread *exactly* as a match
  proposed (``(invoice_id, amount)``; the rest is the customer's credit): a matching rule, not the
  oldest-due policy of a checkout, decided where the money goes. ``method:reference`` is the
  idempotency key, so a retried or concurrent application records one payment.
* :func:`settle_checkout` approves the customer's pending bank-transfer checkout with the amount
  the bank booked, so the checkout the customer started shows paid.
* :func:`undo_payment` reverses exactly what such a payment applied — its allocations (also
  those made later from its credit), its unused credit and the write-offs named — and leaves it
  ``cancelled`` with a ``match undone`` transition.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from recaudo.core.billing.statement import OPEN_STATUSES, sum_credit
from recaudo.core.common.atomic import atomic, locked
from recaudo.core.common.jsonfield import loads
from recaudo.core.common.outbox import enqueue
from recaudo.core.payments import ledger
from recaudo.core.payments.errors import PaymentError
from recaudo.core.tables import (
    Allocation,
    CreditEntry,
    Invoice,
    Payment,
    PaymentTransition,
    WriteOff,
)
from recaudo.tenants.scoped import TenantScope

UNDONE = "cancelled"


def _now() -> datetime:
    return datetime.now(UTC)


async def _event(scope: TenantScope, payment: Payment, from_status: str, source: str) -> None:
    await enqueue(
        scope,
        "payment_event",
        {
            "payment_id": int(payment.id),
            "customer_id": int(payment.customer),
            "method": str(payment.method),
            "from_status": from_status,
            "status": str(payment.status),
            "currency": str(payment.currency),
            "amount": int(payment.amount),
            "amount_refunded": int(payment.amount_refunded or 0),
            "source": source,
        },
        key=f"payment_event:{payment.id}:{payment.status}:{int(payment.amount_refunded or 0)}",
    )


async def record_allocated_payment(
    scope: TenantScope,
    *,
    customer_id: int,
    currency: str,
    amount: int,
    method: str,
    reference: str,
    allocations: Sequence[tuple[int, int]],
    source: str = "bank_statement",
    details: dict[str, Any] | None = None,
) -> tuple[Payment, bool]:
    """Record ``amount`` as an approved payment applied as ``allocations``; ``(payment, new)``.

    Each invoice must be the customer's, open, in ``currency`` and owe at least its part; the
    parts may sum to less than ``amount`` (the rest becomes credit, reason ``overpayment``),
    never more. ``new`` is ``False`` when ``method:reference`` was already recorded (nothing
    changes then).
    """
    method = ledger._text(method, "method", 50)
    reference = ledger._text(reference, "reference", 100 - len(method) - 1)
    currency = ledger._currency(currency)
    amount = ledger._amount(amount)
    parts: dict[int, int] = {}
    for invoice_id, take in allocations:
        ledger._amount(take, "allocation")
        parts[int(invoice_id)] = parts.get(int(invoice_id), 0) + int(take)
    if sum(parts.values()) > amount:
        raise PaymentError("allocations: more than the payment")
    key = f"{method}:{reference}"

    async def work(tx: Any) -> tuple[Payment, bool]:
        existing = await ledger._by_key(scope, key)
        if existing is not None:
            return ledger._same_customer(existing, customer_id), False
        await ledger._lock_customer(scope, customer_id)
        rows = await locked(
            scope.objects(Invoice)
            .where(Invoice.id.is_in(sorted(parts) or [0]), Invoice.customer == customer_id)
            .order_by(Invoice.id)
        )
        invoices = {int(row.id): row for row in rows}
        for invoice_id, take in parts.items():
            invoice = invoices.get(invoice_id)
            if invoice is None:
                raise PaymentError(f"invoice {invoice_id}: not found")
            if invoice.currency != currency:
                raise PaymentError(f"invoice {invoice.number}: currency mismatch")
            if invoice.status not in OPEN_STATUSES or invoice.balance < take:
                raise PaymentError(f"invoice {invoice.number}: owes {invoice.balance}, not {take}")
        now = _now()
        payment = Payment(
            customer=customer_id,
            method=method,
            status="pending",
            currency=currency,
            amount=amount,
            amount_refunded=0,
            idempotency_key=key,
            requested_invoices=list(parts),
            requested_total=sum(parts.values()),
            checkout=details or {},
            created_at=now,
            updated_at=now,
        )
        row, created = await ledger._insert_once(scope, tx, payment)
        if not created:
            return ledger._same_customer(row, customer_id), False
        if parts:
            await scope.add(
                *[
                    Allocation(payment=row.id, invoice=invoice_id, amount=take, created_at=now)
                    for invoice_id, take in parts.items()
                ]
            )
        for invoice_id, take in parts.items():
            invoice = invoices[invoice_id]
            await ledger._set_applied(scope, invoice, int(invoice.amount_applied) + take)
        rest = amount - sum(parts.values())
        if rest:
            await scope.add(
                CreditEntry(
                    customer=customer_id,
                    currency=currency,
                    amount=rest,
                    payment=row.id,
                    reason="overpayment",
                    created_at=now,
                )
            )
        row.status = "approved"
        await scope.update(Payment, {Payment.status: "approved", Payment.updated_at: now}).where(
            Payment.id == row.id
        )
        await scope.add(
            PaymentTransition(
                payment=row.id,
                from_status="pending",
                to_status="approved",
                source=source[:30],
                detail=f"ref {reference}"[:500],
                created_at=now,
            )
        )
        await _event(scope, row, "pending", source)
        return row, True

    return await atomic(work)


async def settle_checkout(
    scope: TenantScope,
    payment_id: int,
    amount: int,
    *,
    source: str = "bank_statement",
    detail: str = "",
    details: dict[str, Any] | None = None,
) -> Payment:
    """Approve a pending checkout with the ``amount`` that arrived (the ledger spreads it as the
    checkout asked). Raises :class:`PaymentError` when it is no longer pending."""
    amount = ledger._amount(amount)

    async def work(_tx: Any) -> Payment:
        payment = await locked(scope.objects(Payment).where(Payment.id == payment_id)).first()
        if payment is None:
            raise PaymentError(f"payment {payment_id}: not found")
        if payment.status not in ("pending", "in_process"):
            raise PaymentError(f"payment {payment_id}: {payment.status}, not pending")
        if details:
            checkout = loads(payment.checkout, {}) or {}
            merged = {**(checkout if isinstance(checkout, dict) else {}), **details}
            await scope.update(Payment, {Payment.checkout: merged}).where(Payment.id == payment.id)
            payment.checkout = merged
        await ledger._advance(scope, payment, "approved", amount, 0, source, detail=detail)
        return payment

    return await atomic(work)


async def undo_payment(
    scope: TenantScope,
    payment_id: int,
    *,
    reason: str,
    write_off_ids: Sequence[int] = (),
    source: str = "staff",
) -> Payment:
    """Take back everything an approved payment applied and leave it ``cancelled``.

    Its allocations (those made from its credit later too) are reversed, its unused credit is
    withdrawn (``match_undone``) and each write-off in ``write_off_ids`` is cancelled by a
    negative write-off row, so every invoice owes again exactly what it owed before and the
    history keeps both. Raises :class:`PaymentError` for a payment that is not ``approved``
    (refunded or already undone).
    """

    async def work(_tx: Any) -> Payment:
        payment = await locked(scope.objects(Payment).where(Payment.id == payment_id)).first()
        if payment is None:
            raise PaymentError(f"payment {payment_id}: not found")
        if payment.status != "approved":
            raise PaymentError(f"payment {payment_id}: {payment.status}, cannot be undone")
        customer_id = int(payment.customer)
        await ledger._lock_customer(scope, customer_id)
        allocations = await scope.objects(Allocation).where(Allocation.payment == payment.id)
        write_offs = (
            await scope.objects(WriteOff).where(WriteOff.id.is_in(list(write_off_ids)))
            if write_off_ids
            else []
        )
        touched = sorted(
            {int(a.invoice) for a in allocations} | {int(w.invoice) for w in write_offs}
        )
        invoices = {
            int(row.id): row
            for row in await locked(
                scope.objects(Invoice).where(Invoice.id.is_in(touched or [0])).order_by(Invoice.id)
            )
        }
        now = _now()
        takes: dict[int, int] = {}
        for allocation in allocations:
            left = int(allocation.amount) - int(allocation.reversed_amount)
            if left <= 0:
                continue
            await scope.update(
                Allocation, {Allocation.reversed_amount: int(allocation.amount)}
            ).where(Allocation.id == allocation.id)
            takes[int(allocation.invoice)] = takes.get(int(allocation.invoice), 0) + left
        for row in write_offs:
            await scope.add(
                WriteOff(
                    invoice=row.invoice,
                    customer=row.customer,
                    currency=row.currency,
                    amount=-int(row.amount),
                    reason=f"{row.reason} (deshecha)"[:500],
                    actor=str(row.actor),
                    created_at=now,
                )
            )
            takes[int(row.invoice)] = takes.get(int(row.invoice), 0) + int(row.amount)
        for invoice_id, take in sorted(takes.items()):
            invoice = invoices[invoice_id]
            await ledger._set_applied(scope, invoice, int(invoice.amount_applied) - take)
        unused = await sum_credit(scope, CreditEntry.payment == payment.id)
        if unused > 0:
            await scope.add(
                CreditEntry(
                    customer=customer_id,
                    currency=payment.currency,
                    amount=-unused,
                    payment=payment.id,
                    reason="match_undone",
                    created_at=now,
                )
            )
        from_status = str(payment.status)
        payment.status = UNDONE
        await scope.update(Payment, {Payment.status: UNDONE, Payment.updated_at: now}).where(
            Payment.id == payment.id
        )
        await scope.add(
            PaymentTransition(
                payment=payment.id,
                from_status=from_status,
                to_status=UNDONE,
                source=source[:30],
                detail=f"match undone: {reason}"[:500] if reason else "match undone",
                created_at=now,
            )
        )
        await _event(scope, payment, from_status, source)
        return payment

    return await atomic(work)


__all__ = ["UNDONE", "record_allocated_payment", "settle_checkout", "undo_payment"]
