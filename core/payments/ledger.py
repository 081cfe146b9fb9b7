"""The payments ledger: payment intents, provider states, allocations, refunds and credit.

Writes only: what a customer owes is read by :mod:`recaudo.core.billing.statement`.

Money rules this module keeps (``tests/test_ledger*.py`` prove them):

* a payment is applied to invoices exactly once, when it first reaches a status in which the
  money arrived (``approved`` or later), and a refund or chargeback takes back exactly what it
  covered: its unused credit first, then its allocations newest first;
* provider states are folded with a total order (:mod:`recaudo.core.payments.allocation`), so
  duplicates, retries and out-of-order deliveries converge on the provider's final state;
* each change runs in one transaction (:func:`recaudo.core.common.atomic.atomic`) that locks
  the payment, then the customer, then the invoices (``SELECT … FOR UPDATE`` on PostgreSQL;
  ``BEGIN IMMEDIATE`` on SQLite), and enqueues its outbox event in that same transaction;
* ``Invoice.amount_applied`` always equals the sum of its allocations minus their reversals,
  plus its write-offs (``write_off`` rows, :mod:`recaudo.core.payments.manual`), so
  ``total - amount_applied`` is the balance everywhere.
  Credit applied to an invoice is recorded as an allocation of the payment the credit came from,
  so a later refund of that payment can find and reopen it;
* money meant for chosen invoices never lands silently on others: a new checkout supersedes the
  customer's pending ones for the same invoices, and money for invoices already paid, or for a
  checkout that was no longer live (:mod:`recaudo.core.payments.expiry`), becomes credit the
  customer is told about, with a ticket for staff.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from piccolo.query import Sum

from recaudo.core.billing.invoices import status_for
from recaudo.core.billing.statement import (
    OPEN_STATUSES,
    OpenInvoice,
    Statement,
    customer_credit,
    customer_statement,
    invoice_balance,
    sum_credit,
)
from recaudo.core.common.atomic import atomic, integrity_error, locked
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.common.money import Money, MoneyError, check_currency
from recaudo.core.common.outbox import enqueue
from recaudo.core.payments import expiry
from recaudo.core.payments.allocation import (
    MONEY_STATUSES,
    STATUS_RANK,
    AllocationError,
    plan_allocation,
    plan_credit_use,
    plan_reversal,
    position,
)
from recaudo.core.payments.errors import PaymentError
from recaudo.core.payments.expiry import CHECKOUT_TTL, aware, expires_at, is_late
from recaudo.core.payments.method import PAYMENT_STATUSES, ProviderPayment
from recaudo.core.tables import (
    Allocation,
    CreditEntry,
    Customer,
    Invoice,
    Payment,
    PaymentTransition,
    Ticket,
    WriteOff,
)
from recaudo.tenants.scoped import TenantScope, as_id

SOURCES = ("webhook", "poll", "staff", "bank_statement")
# The write-off reason of a bank's commission on a transfer (and of its undoing): see
# written_off_total. Reconciliation writes these; nothing else should.
BANK_FEE_REASON = "comisión bancaria"
BANK_FEE_REASONS = (BANK_FEE_REASON, f"{BANK_FEE_REASON} (deshecha)")
MAX_AMOUNT = 10**15  # minor units; far above any real invoice, far below BigInt's limit


def _now() -> datetime:
    return datetime.now(UTC)


async def _lock_customer(scope: TenantScope, customer_id: int) -> Customer:
    customer = await locked(scope.objects(Customer).where(Customer.id == customer_id)).first()
    if customer is None:
        raise PaymentError(f"customer {customer_id}: not found")
    return customer


# --- validation ---------------------------------------------------------------------------------


def _amount(value: object, what: str = "amount") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PaymentError(f"{what}: must be a whole number of minor units")
    if value <= 0:
        raise PaymentError(f"{what}: must be more than zero")
    if value > MAX_AMOUNT:
        raise PaymentError(f"{what}: too large")
    return value


def _currency(code: str) -> str:
    try:
        return check_currency(code)
    except MoneyError as exc:
        raise PaymentError(f"currency: {exc}") from None


def _text(value: object, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        raise PaymentError(f"{what}: required, at most {limit} characters")
    return value.strip()


def _ids(invoice_ids: Sequence[int] | None) -> list[int]:
    out: list[int] = []
    for raw in invoice_ids or []:
        if isinstance(raw, bool):
            raise PaymentError(f"invoice {raw!r}: not found")
        try:
            invoice_id = int(raw)
        except (TypeError, ValueError):
            raise PaymentError(f"invoice {raw!r}: not found") from None
        if invoice_id not in out:
            out.append(invoice_id)
    return out


async def _chosen_invoices(
    scope: TenantScope, customer_id: int, currency: str, invoice_ids: list[int]
) -> list[Invoice]:
    """The invoices a customer chose, in their order; foreign ones are simply "not found"."""
    if not invoice_ids:
        return []
    rows = await scope.objects(Invoice).where(
        Invoice.id.is_in(invoice_ids), Invoice.customer == customer_id
    )
    by_id = {int(row.id): row for row in rows}
    chosen: list[Invoice] = []
    for invoice_id in invoice_ids:
        invoice = by_id.get(invoice_id)
        if invoice is None:
            raise PaymentError(f"invoice {invoice_id}: not found")
        if invoice.status == "void":
            raise PaymentError(f"invoice {invoice.number}: void, nothing to pay")
        if invoice.status == "written_off":
            raise PaymentError(f"invoice {invoice.number}: written off, nothing to pay")
        if invoice.status not in OPEN_STATUSES or invoice.balance <= 0:
            raise PaymentError(f"invoice {invoice.number}: already paid")
        if invoice.currency != currency:
            raise PaymentError(
                f"invoice {invoice.number}: currency mismatch ({invoice.currency}, not {currency})"
            )
        chosen.append(invoice)
    return chosen


async def _new_payment(
    scope: TenantScope,
    *,
    customer_id: int,
    method: str,
    currency: str,
    idempotency_key: str,
    invoice_ids: Sequence[int] | None,
    amount: int | None,
) -> Payment:
    """Validate a request and build (not insert) its payment row."""
    if await scope.get(Customer, customer_id) is None:
        raise PaymentError(f"customer {customer_id}: not found")
    ids = _ids(invoice_ids)
    chosen = await _chosen_invoices(scope, customer_id, currency, ids)
    if amount is None:
        if not chosen:
            raise PaymentError("amount: required when no invoices are chosen")
        amount = sum(invoice.balance for invoice in chosen)
    return Payment(
        customer=customer_id,
        method=method,
        status="pending",
        currency=currency,
        amount=_amount(amount),
        amount_refunded=0,
        idempotency_key=idempotency_key,
        requested_invoices=ids,
        requested_total=sum(invoice.balance for invoice in chosen),
        checkout={},
        created_at=_now(),
        updated_at=_now(),
    )


async def _by_key(scope: TenantScope, key: str) -> Payment | None:
    return await scope.objects(Payment).where(Payment.idempotency_key == key).first()


def _same_customer(payment: Payment, customer_id: int) -> Payment:
    if int(payment.customer) != int(customer_id):
        raise PaymentError("idempotency key already used for another customer")
    return payment


async def _insert_once(scope: TenantScope, tx: Any, payment: Payment) -> tuple[Payment, bool]:
    """Insert ``payment`` unless a concurrent request won the idempotency key; ``(row, created)``.

    The insert runs under a savepoint because on PostgreSQL a unique violation aborts the whole
    transaction; rolling back to the savepoint lets us re-read the winner's row.
    """
    savepoint = await tx.savepoint()
    try:
        await scope.add(payment)
    except Exception as exc:
        if not integrity_error(exc):
            raise
        await savepoint.rollback_to()
        existing = await _by_key(scope, str(payment.idempotency_key))
        if existing is None:
            raise PaymentError("payment conflicts with an existing one") from None
        return existing, False
    await savepoint.release()
    return payment, True


# --- public API: creating payments --------------------------------------------------------------


async def create_payment(
    scope: TenantScope,
    *,
    customer_id: int,
    method: str,
    currency: str,
    idempotency_key: str,
    invoice_ids: list[int] | None = None,
    amount: int | None = None,
) -> Payment:
    """Record a payment intent (status ``pending``) before talking to the provider.

    The same ``idempotency_key`` returns the payment already recorded, so a double click or a
    retried request never creates two intents. Nothing is applied until the provider says the
    money arrived. The intent is live for :data:`~recaudo.core.payments.expiry.CHECKOUT_TTL`
    (``start_once`` stores the provider's own expiry) and supersedes the customer's pending
    intents for any of the same invoices.
    """
    method = _text(method, "method", 50)
    key = _text(idempotency_key, "idempotency_key", 100)
    currency = _currency(currency)

    async def work(tx: Any) -> Payment:
        existing = await _by_key(scope, key)
        if existing is not None:
            return _same_customer(existing, customer_id)
        payment = await _new_payment(
            scope,
            customer_id=customer_id,
            method=method,
            currency=currency,
            idempotency_key=key,
            invoice_ids=invoice_ids,
            amount=amount,
        )
        payment.expires_at = _now() + CHECKOUT_TTL
        row, created = await _insert_once(scope, tx, payment)
        if created:
            await _supersede(scope, row)
        return _same_customer(row, customer_id)

    return await atomic(work)


def _overlaps(new: Payment, old: Payment) -> bool:
    """Checkouts compete when they share an invoice. Free amounts name none and may coexist
    (several partial payments are legitimate); they end by expiring."""
    mine = set(_ids(loads(new.requested_invoices, []) or []))
    theirs = set(_ids(loads(old.requested_invoices, []) or []))
    return bool(mine & theirs)


async def _supersede(scope: TenantScope, new: Payment) -> None:
    """End the customer's pending checkouts that compete with ``new`` (status ``cancelled``).

    A tab left open on an old checkout must not stay payable next to the new one: paying both
    would pay the same invoices twice. Providers are not called (a Mercado Pago preference cannot
    be withdrawn); if money still arrives for one, :func:`_allocate` keeps it for its invoices or
    as credit. The customer row is locked first so two concurrent checkouts see each other.
    """
    await _lock_customer(scope, int(new.customer))
    rows = await locked(
        scope.objects(Payment)
        .where(
            Payment.customer == new.customer,
            Payment.status == "pending",
            Payment.currency == new.currency,
            Payment.id != new.id,
        )
        .order_by(Payment.id)
    )
    for old in rows:
        if _overlaps(new, old):
            await _advance(
                scope,
                old,
                "cancelled",
                int(old.amount),
                0,
                "checkout",
                detail=f"superseded by payment {new.id}",
            )


async def end_competing_checkouts(scope: TenantScope, payment: Payment) -> None:
    """Money that arrived outside a checkout (a confirmed proof) ends the customer's pending
    checkouts for the same invoices, as a new checkout would: a bank-transfer checkout would
    otherwise stay "in process" for days next to invoices already paid, and a card one payable.
    Call it in the transaction that recorded ``payment``."""
    await _supersede(scope, payment)


async def record_staff_payment(
    scope: TenantScope,
    *,
    customer_id: int,
    currency: str,
    amount: int,
    method: str,
    reference: str,
    invoice_ids: list[int] | None,
    source: str = "staff",
) -> Payment:
    """Record money that arrived outside a provider (approved proof, bank statement line).

    Created approved and allocated in one transaction; the same ``method`` and ``reference``
    return the payment already recorded, so importing a statement twice changes nothing.
    """
    method = _text(method, "method", 50)
    reference = _text(reference, "reference", 100 - len(method) - 1)
    currency = _currency(currency)
    amount = _amount(amount)
    key = f"{method}:{reference}"

    async def work(tx: Any) -> Payment:
        existing = await _by_key(scope, key)
        if existing is not None:
            return _same_customer(existing, customer_id)
        payment = await _new_payment(
            scope,
            customer_id=customer_id,
            method=method,
            currency=currency,
            idempotency_key=key,
            invoice_ids=invoice_ids,
            amount=amount,
        )
        row, created = await _insert_once(scope, tx, payment)
        if created:
            await _advance(scope, row, "approved", amount, 0, source, detail=f"ref {reference}")
        return _same_customer(row, customer_id)

    return await atomic(work)


# --- public API: provider states ----------------------------------------------------------------


def _check_state(state: ProviderPayment) -> None:
    if not isinstance(state, ProviderPayment):
        raise PaymentError("state: expected a ProviderPayment")
    if state.status not in PAYMENT_STATUSES:
        raise PaymentError(f"status {state.status!r}: unknown")
    if not isinstance(state.amount, Money):
        raise PaymentError("amount: expected Money")
    if not isinstance(state.provider_payment_id, str) or not state.provider_payment_id.strip():
        raise PaymentError("provider_payment_id: required")
    if len(state.provider_payment_id) > 100:
        raise PaymentError("provider_payment_id: at most 100 characters")
    refunded = state.amount_refunded
    if isinstance(refunded, bool) or not isinstance(refunded, int) or refunded < 0:
        raise PaymentError("amount_refunded: must be zero or more minor units")
    if state.status in MONEY_STATUSES:
        _amount(state.amount.amount)


async def _by_provider_id(scope: TenantScope, method: str, provider_id: str) -> Payment | None:
    query = scope.objects(Payment).where(
        Payment.method == method, Payment.provider_payment_id == provider_id
    )
    return await locked(query).first()


async def _find_for_state(
    scope: TenantScope, method: str, state: ProviderPayment
) -> tuple[Payment, bool] | None:
    """Our payment for ``state``, locked; ``(payment, apply)``, ``apply`` False for noise.

    A checkout may produce several provider attempts (a rejected card, then an approved one)
    for one of our payments. The payment follows the attempt that matters; if money arrives
    through a second attempt after a first one already brought money, that second amount is a
    payment of its own (a "sibling") so it is never lost.
    """
    provider_id = state.provider_payment_id
    payment = await _by_provider_id(scope, method, provider_id)
    if payment is not None:
        return payment, True
    if state.our_payment_id is None:
        return None
    payment = await locked(
        scope.objects(Payment).where(Payment.id == _as_int(state.our_payment_id))
    ).first()
    if payment is None or payment.method != method:
        return None
    # A concurrent apply may have claimed the provider id while we waited for the lock.
    again = await _by_provider_id(scope, method, provider_id)
    if again is not None:
        return again, True
    updates: dict[Any, Any] = {Payment.provider_payment_id: provider_id}
    if payment.provider_payment_id not in (None, ""):
        if payment.status in MONEY_STATUSES:
            if state.status not in MONEY_STATUSES:
                return payment, False
            return await _sibling(scope, payment, method, state), True
        if state.status not in MONEY_STATUSES and (
            STATUS_RANK[state.status] <= STATUS_RANK[payment.status]
        ):
            return payment, False
    payment.provider_payment_id = provider_id
    await scope.update(Payment, updates).where(Payment.id == payment.id)
    return payment, True


async def _extend_expiry(scope: TenantScope, payment: Payment, state: ProviderPayment) -> None:
    """A voucher issued inside a hosted checkout keeps the checkout live as long as the voucher
    can be paid (days, where the hosted page lasted an hour)."""
    if payment.status != "pending" or state.status != "pending" or state.expires_at is None:
        return
    until = aware(state.expires_at)
    if until > expires_at(payment) and until > _now():
        payment.expires_at = until
        await scope.update(Payment, {Payment.expires_at: until}).where(Payment.id == payment.id)


def _as_int(value: object) -> int:
    """An id from outside (a provider's reference, a form) for a query: ``0`` (no row) when it
    cannot be one, rather than a number the 32-bit key column refuses."""
    return as_id(value) or 0


async def _sibling(
    scope: TenantScope, first: Payment, method: str, state: ProviderPayment
) -> Payment:
    """A second provider payment that brought money for the same intent of ours."""
    sibling = Payment(
        customer=first.customer,
        method=method,
        status="pending",
        currency=first.currency,
        amount=state.amount.amount,
        amount_refunded=0,
        idempotency_key=f"{method}:{state.provider_payment_id}"[:100],
        provider_payment_id=state.provider_payment_id,
        requested_invoices=loads(first.requested_invoices, []) or [],
        requested_total=int(first.requested_total or 0),
        checkout={"sibling_of": int(first.id)},
        created_at=_now(),
        updated_at=_now(),
    )
    await scope.add(sibling)
    return sibling


async def apply_provider_payment(
    scope: TenantScope, method: str, state: ProviderPayment, source: str
) -> Payment | None:
    """Apply the provider's authoritative state to our payment; ``None`` if it is not ours.

    Idempotent and convergent: the state is applied only if it ranks above what we hold, so the
    same state applied N times, concurrently, or states in any order end in the provider's final
    state with the money applied exactly once.
    """
    method = _text(method, "method", 50)
    source = _text(source, "source", 30)
    _check_state(state)

    async def work(_tx: Any) -> Payment | None:
        found = await _find_for_state(scope, method, state)
        if found is None:
            return None
        payment, apply = found
        if not apply:
            return payment
        if payment.currency != state.amount.currency:
            raise PaymentError(
                f"currency mismatch: payment in {payment.currency}, provider says "
                f"{state.amount.currency}"
            )
        await _extend_expiry(scope, payment, state)
        await _advance(
            scope,
            payment,
            state.status,
            state.amount.amount,
            state.amount_refunded,
            source,
            provider_status=state.provider_status,
            provider_detail=state.provider_status_detail,
        )
        return payment

    try:
        return await atomic(work)
    except Exception as exc:
        if integrity_error(exc):
            raise PaymentError(
                f"provider payment {state.provider_payment_id}: already belongs to another payment"
            ) from None
        raise


async def _advance(
    scope: TenantScope,
    payment: Payment,
    status: str,
    amount: int,
    refunded: int,
    source: str,
    *,
    provider_status: str = "",
    provider_detail: str = "",
    detail: str = "",
) -> bool:
    """Move a locked payment to ``status`` if that is news; allocate or reverse money.

    Returns ``False`` (and changes nothing) for a stale or repeated state.
    """
    current = position(str(payment.status), int(payment.amount), int(payment.amount_refunded))
    entering_money = status in MONEY_STATUSES and not current.has_money
    money_amount = amount if entering_money else int(payment.amount)
    new = position(status, money_amount, refunded)
    if new <= current:
        return False
    from_status = str(payment.status)
    notes = [detail] if detail else []
    if entering_money:
        late = is_late(payment, expiry.now())
        if money_amount != int(payment.amount):
            notes.append(f"amount {payment.amount} -> {money_amount} per provider")
        if late:
            notes.append("money after the checkout ended")
        payment.amount = money_amount
        await _allocate(scope, payment, late=late)
    if new.refunded > current.refunded:
        reason = "chargeback" if new.status == "charged_back" else "refund"
        await _reverse(scope, payment, new.refunded - current.refunded, reason)
        notes.append(f"{reason} {new.refunded - current.refunded}")
    payment.status = new.status
    payment.amount_refunded = new.refunded
    values: dict[Any, Any] = {
        Payment.status: new.status,
        Payment.amount: int(payment.amount),
        Payment.amount_refunded: new.refunded,
        Payment.updated_at: _now(),
    }
    if provider_status or provider_detail:
        payment.provider_status = provider_status[:50]
        payment.provider_status_detail = provider_detail[:100]
        values[Payment.provider_status] = provider_status[:50]
        values[Payment.provider_status_detail] = provider_detail[:100]
    await scope.update(Payment, values).where(Payment.id == payment.id)
    await scope.add(
        PaymentTransition(
            payment=payment.id,
            from_status=from_status,
            to_status=new.status,
            source=source[:30],
            detail="; ".join(notes)[:500],
            created_at=_now(),
        )
    )
    await enqueue(
        scope,
        "payment_event",
        {
            "payment_id": int(payment.id),
            "customer_id": int(payment.customer),
            "method": str(payment.method),
            "from_status": from_status,
            "status": new.status,
            "currency": str(payment.currency),
            "amount": int(payment.amount),
            "amount_refunded": new.refunded,
            "source": source,
        },
        key=f"payment_event:{payment.id}:{new.status}:{new.refunded}",
    )
    return True


# --- allocation and reversal --------------------------------------------------------------------


async def written_off_total(scope: TenantScope, invoice_id: int) -> int:
    """How much of an invoice was written off (``write_off`` rows); part of ``amount_applied``.

    A bank fee closed on reconciliation (:data:`BANK_FEE_REASONS`) is not counted: the customer
    paid in full and the bank kept a commission, so the invoice is ``paid``, not ``written_off``.
    """
    row = (
        await scope.select(WriteOff, Sum(WriteOff.amount, alias="total"))
        .where(WriteOff.invoice == invoice_id, WriteOff.reason.not_in(list(BANK_FEE_REASONS)))
        .first()
    )
    return int((row or {}).get("total") or 0)


async def set_invoice_total(scope: TenantScope, invoice: Invoice, total: int) -> str:
    """Give a locked invoice a new ``total`` (a credit note, a late fee, a waived fee) and the
    status that follows from what is applied and written off; returns that status. The one
    place where an invoice's total changes after it was issued."""
    if total < int(invoice.amount_applied):
        raise AssertionError(f"invoice {invoice.id} would owe less than was applied")  # never
    status = status_for(
        total,
        int(invoice.amount_applied),
        written_off=await written_off_total(scope, int(invoice.id)),
    )
    await scope.update(
        Invoice, {Invoice.total: total, Invoice.status: status, Invoice.updated_at: _now()}
    ).where(Invoice.id == invoice.id)
    invoice.total = total
    invoice.status = status
    return status


async def _set_applied(scope: TenantScope, invoice: Invoice, applied: int) -> None:
    if applied < 0 or applied > int(invoice.total):
        raise AssertionError(f"invoice {invoice.id} would have {applied} applied")  # never
    written_off = await written_off_total(scope, int(invoice.id))
    if applied < written_off:
        raise AssertionError(f"invoice {invoice.id} would have less applied than written off")
    status = status_for(
        int(invoice.total), applied, voided=invoice.status == "void", written_off=written_off
    )
    previous = int(invoice.amount_applied)
    invoice.amount_applied = applied
    invoice.status = status
    await scope.update(
        Invoice,
        {Invoice.amount_applied: applied, Invoice.status: status, Invoice.updated_at: _now()},
    ).where(Invoice.id == invoice.id)
    if applied != previous:
        kind = "reopened" if applied < previous else status
        await enqueue(
            scope,
            "invoice_event",
            {"invoice_id": int(invoice.id), "kind": kind},
            key=f"invoice_event:{invoice.id}:{kind}:{applied}",
        )


async def _allocate(scope: TenantScope, payment: Payment, *, late: bool = False) -> None:
    """Spread a payment that just brought money.

    Money up to ``requested_total`` is for the invoices the customer chose and only for them:
    what they no longer owe (paid meanwhile) becomes credit the customer is told about. Money
    beyond it goes to the chosen invoices, then oldest due, then credit, unless the checkout was
    no longer live (``late``): then it never reaches invoices the customer did not choose.
    """
    await _lock_customer(scope, int(payment.customer))
    open_rows = await locked(
        scope.objects(Invoice)
        .where(
            Invoice.customer == payment.customer,
            Invoice.currency == payment.currency,
            Invoice.status.is_in(list(OPEN_STATUSES)),
        )
        .order_by(Invoice.id)
    )
    by_id = {int(row.id): row for row in open_rows}
    balances = {invoice_id: row.balance for invoice_id, row in by_id.items()}
    requested = [i for i in _ids(loads(payment.requested_invoices, []) or []) if i in by_id]
    others = sorted(
        (row for row in open_rows if int(row.id) not in requested and not row.disputed),
        key=lambda row: (row.due_date, int(row.id)),
    )
    amount = int(payment.amount)
    for_chosen = min(amount, max(int(payment.requested_total or 0), 0))
    chosen = plan_allocation(for_chosen, [(i, balances[i]) for i in requested])
    for invoice_id, take in chosen.allocations:
        balances[invoice_id] -= take
    order = requested + ([] if late else [int(row.id) for row in others])
    rest = plan_allocation(amount - for_chosen, [(i, balances[i]) for i in order])
    merged: dict[int, int] = {}
    for invoice_id, take in (*chosen.allocations, *rest.allocations):
        merged[invoice_id] = merged.get(invoice_id, 0) + take
    now = _now()
    if merged:
        await scope.add(
            *[
                Allocation(payment=payment.id, invoice=invoice_id, amount=take, created_at=now)
                for invoice_id, take in merged.items()
            ]
        )
    for invoice_id, take in merged.items():
        invoice = by_id[invoice_id]
        await _set_applied(scope, invoice, int(invoice.amount_applied) + take)
    credits = (
        (chosen.credit, "already_paid"),
        (rest.credit, "late_payment" if late else "overpayment"),
    )
    for value, reason in credits:
        if value:
            await scope.add(
                CreditEntry(
                    customer=payment.customer,
                    currency=payment.currency,
                    amount=value,
                    payment=payment.id,
                    reason=reason,
                    created_at=now,
                )
            )
    unexpected = chosen.credit + (rest.credit if late else 0)
    if late or unexpected:
        await _flag(scope, payment, unexpected, late)


async def _flag(scope: TenantScope, payment: Payment, credit: int, late: bool) -> None:
    """Money that did not go where the customer meant it: a ticket for staff (refund it, or
    leave it as credit) and, when it became credit, a message to the customer."""
    money = Money(str(payment.currency), int(payment.amount))
    subject = (
        "Pago recibido de un checkout vencido o reemplazado"
        if late
        else "Pago para facturas ya pagadas"
    )
    message = f"Pago {payment.id} ({payment.method}) por {money}." + (
        f" {Money(str(payment.currency), credit)} quedó como saldo a favor del cliente."
        if credit
        else " Se aplicó a las facturas que el cliente eligió."
    )
    await scope.add(
        Ticket(
            customer=payment.customer,
            name="Recaudo",
            subject=subject,
            message=message,
            status="open",
            created_at=_now(),
        )
    )
    await record(
        scope,
        "system",
        "payment.late" if late else "payment.already_paid",
        f"payment:{payment.id}",
        credit=credit,
    )
    if credit:
        await enqueue(
            scope,
            "tell_customer",
            {"about": "payment", "id": int(payment.id)},
            key=f"tell:payment:{payment.id}",
        )


async def _reverse(scope: TenantScope, payment: Payment, amount: int, reason: str) -> None:
    """Take back ``amount`` a payment covered: its unused credit, then newest allocations."""
    customer_id = int(payment.customer)
    await _lock_customer(scope, customer_id)
    unused = min(
        await sum_credit(scope, CreditEntry.payment == payment.id),
        await customer_credit(scope, customer_id, str(payment.currency)),
    )
    allocations = (
        await scope.objects(Allocation)
        .where(Allocation.payment == payment.id)
        .order_by(Allocation.id, ascending=False)
    )
    by_id = {int(a.id): a for a in allocations}
    plan = plan_reversal(
        amount,
        max(unused, 0),
        [(int(a.id), int(a.amount) - int(a.reversed_amount)) for a in allocations],
    )
    now = _now()
    entries = []
    if plan.credit:
        entries.append((-plan.credit, reason))
    if plan.shortfall:  # only if credit was spent outside the ledger; the customer owes it
        entries.append((-plan.shortfall, f"{reason}_shortfall"))
    for value, why in entries:
        await scope.add(
            CreditEntry(
                customer=customer_id,
                currency=payment.currency,
                amount=value,
                payment=payment.id,
                reason=why,
                created_at=now,
            )
        )
    if not plan.reversals:
        return
    invoice_ids = sorted({int(by_id[a_id].invoice) for a_id, _ in plan.reversals})
    invoices = {
        int(row.id): row
        for row in await locked(
            scope.objects(Invoice).where(Invoice.id.is_in(invoice_ids)).order_by(Invoice.id)
        )
    }
    for allocation_id, take in plan.reversals:
        allocation = by_id[allocation_id]
        await scope.update(
            Allocation, {Allocation.reversed_amount: int(allocation.reversed_amount) + take}
        ).where(Allocation.id == allocation_id)
        invoice = invoices[int(allocation.invoice)]
        await _set_applied(scope, invoice, int(invoice.amount_applied) - take)


# --- credit -------------------------------------------------------------------------------------


async def apply_credit(scope: TenantScope, customer_id: int, invoice_id: int, amount: int) -> None:
    """Use a customer's credit on one of their invoices.

    Never more than the credit balance or the invoice balance. The credit is spent oldest
    payment first and recorded as an allocation of that payment, so a refund of the payment
    later reopens this invoice instead of losing track of the money.
    """
    amount = _amount(amount)

    async def work(_tx: Any) -> None:
        await _lock_customer(scope, customer_id)
        invoice = await locked(
            scope.objects(Invoice).where(
                Invoice.id == _as_int(invoice_id), Invoice.customer == customer_id
            )
        ).first()
        if invoice is None:
            raise PaymentError(f"invoice {invoice_id}: not found")
        if invoice.status not in OPEN_STATUSES:
            raise PaymentError(f"invoice {invoice.number}: {invoice.status}, nothing to pay")
        if amount > invoice.balance:
            raise PaymentError(
                f"amount: {amount} is more than the invoice balance {invoice.balance}"
            )
        rows = (
            await scope.select(
                CreditEntry, CreditEntry.payment, Sum(CreditEntry.amount, alias="total")
            )
            .where(CreditEntry.customer == customer_id, CreditEntry.currency == invoice.currency)
            .group_by(CreditEntry.payment)
        )
        available = sum(int(row["total"] or 0) for row in rows)
        if amount > available:
            raise PaymentError(f"amount: {amount} is more than the credit balance {available}")
        sources = sorted(
            ((row["payment"], int(row["total"] or 0)) for row in rows),
            key=lambda item: (item[0] is None, item[0] or 0),
        )
        try:
            uses = plan_credit_use(amount, sources)
        except AllocationError as exc:
            raise PaymentError(f"amount: {exc}") from None
        now = _now()
        for payment_id, take in uses:
            if payment_id is not None:
                await scope.add(
                    Allocation(payment=payment_id, invoice=invoice.id, amount=take, created_at=now)
                )
            await scope.add(
                CreditEntry(
                    customer=customer_id,
                    currency=invoice.currency,
                    amount=-take,
                    payment=payment_id,
                    invoice=invoice.id,
                    reason="credit_applied",
                    created_at=now,
                )
            )
        await _set_applied(scope, invoice, int(invoice.amount_applied) + amount)

    await atomic(work)


__all__ = [
    "OPEN_STATUSES",
    "OpenInvoice",
    "PaymentError",
    "Statement",
    "apply_credit",
    "apply_provider_payment",
    "create_payment",
    "customer_credit",
    "customer_statement",
    "invoice_balance",
    "record_staff_payment",
    "written_off_total",
]
