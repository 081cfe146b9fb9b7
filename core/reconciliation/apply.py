"""Applying one statement line to a customer's invoices, exactly once, in one transaction.

The line row is locked first: whoever holds it (an import, a second import of an overlapping
file, staff accepting a candidate, staff undoing) decides alone, and the next one finds the line
already decided. Everything the decision changes — the payment, its allocations, the fee
write-off, the line's status and the audit — commits together, so a crash half-way leaves the
line as it was and the daily rematch or staff finish it.

What the money becomes, in this order:

1. **already recorded by hand** — a confirmed proof of payment or a manual transfer of the same
   customer, amount and currency within the date window that no other line claims: the line is
   linked to it and nothing is applied (the customer paid once);
2. **the customer's pending bank-transfer checkout** whose amount the line covers (within the fee
   tolerance): the ledger approves that checkout with the booked amount, so the portal shows it
   paid;
3. **a new payment** ``banktransfer:bankline:<line id>:<generation>`` spread exactly as the match
   proposed; the rest is the customer's credit.

A match whose invoices owe a little more than the line (at most the tenant's fee tolerance) is
applied for the line's amount and the difference is written off on the last invoice as
"comisión bancaria".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.common.atomic import atomic, locked
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.payments import manual, settlement
from recaudo.core.payments.errors import PaymentError
from recaudo.core.payments.ledger import _lock_customer as ledger_lock_customer
from recaudo.core.platform.values import MatchCandidate, StatementLine
from recaudo.core.reconciliation.errors import LineNotFound
from recaudo.core.tables import (
    Allocation,
    BankLine,
    Customer,
    Invoice,
    Payment,
)
from recaudo.tenants.scoped import TenantScope, as_id

METHOD = "banktransfer"
FEE_REASON = "comisión bancaria"
#: Methods of money staff record by hand for a transfer (a confirmed proof, a manual transfer).
HAND_METHODS = ("banktransfer", "transfer")
LINE_KEY_PREFIX = f"{METHOD}:bankline:"
OPEN_LINE_STATUSES = ("review", "unmatched")


class Refused(Exception):
    """The match can no longer be applied as proposed (staff see ``message``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Outcome:
    status: str  # matched (or the line's status when it was already decided)
    applied: int  # minor units applied to invoices by this decision
    applied_as: str = ""  # payment, checkout, linked
    payment_id: int | None = None
    note: str = ""


def _now() -> datetime:
    return datetime.now(UTC)


# --- candidates as stored -----------------------------------------------------------------------


def candidate_dict(candidate: MatchCandidate) -> dict[str, Any]:
    return {
        "rule": candidate.rule,
        "confidence": round(float(candidate.confidence), 4),
        "customer_id": int(candidate.customer_id),
        "allocations": [[int(i), int(a)] for i, a in candidate.allocations],
        "reason": str(candidate.reason or "")[:300],
    }


def stored_candidates(raw: Any) -> list[MatchCandidate]:
    """Candidates from a line's JSON; malformed entries are skipped, never trusted."""
    out: list[MatchCandidate] = []
    for item in loads(raw, []) or []:
        if not isinstance(item, dict):
            continue
        try:
            allocations = tuple((int(i), int(a)) for i, a in item.get("allocations") or [])
            out.append(
                MatchCandidate(
                    rule=str(item.get("rule") or ""),
                    confidence=float(item.get("confidence") or 0),
                    customer_id=int(item["customer_id"]),
                    allocations=allocations,
                    reason=str(item.get("reason") or ""),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return out


def statement_line(row: BankLine) -> StatementLine:
    """A stored line as the engine reads it."""
    return StatementLine(
        key=str(row.key),
        booked_on=row.booked_on,
        amount=int(row.amount),
        currency=str(row.currency),
        reference=str(row.reference or ""),
        description=str(row.description or ""),
        payer_name=str(row.payer_name or ""),
        payer_account=str(row.payer_account or ""),
        line_no=int(row.line_no or 0),
    )


# --- looking things up under the line's lock ----------------------------------------------------


async def lock_line(scope: TenantScope, line_id: Any) -> BankLine:
    pk = as_id(line_id)
    row = (
        await locked(scope.objects(BankLine).where(BankLine.id == pk)).first()
        if pk is not None
        else None
    )
    if row is None:
        raise LineNotFound("Movimiento no encontrado.")
    return row


def _day_bounds(day: date, window: int) -> tuple[datetime, datetime]:
    low = datetime.combine(day - timedelta(days=window), time.min, tzinfo=UTC)
    high = datetime.combine(day + timedelta(days=window + 1), time.min, tzinfo=UTC)
    return low, high


async def recorded_by_hand(
    scope: TenantScope, line: BankLine, customer_id: int, window: int
) -> Payment | None:
    """A payment staff recorded for this money (proof or manual transfer) that no line claims."""
    low, high = _day_bounds(line.booked_on, window)
    rows = (
        await scope.objects(Payment)
        .where(
            Payment.customer == customer_id,
            Payment.currency == line.currency,
            Payment.amount == int(line.amount),
            Payment.status == "approved",
            Payment.method.is_in(list(HAND_METHODS)),
            Payment.created_at >= low,
            Payment.created_at < high,
        )
        .order_by(Payment.id)
    )
    for payment in rows:
        if str(payment.idempotency_key).startswith(LINE_KEY_PREFIX):
            continue  # money a line applied is not money recorded by hand
        claimed = await scope.exists(BankLine).where(BankLine.payment == payment.id)
        if not claimed:
            return payment
    return None


async def pending_checkout(
    scope: TenantScope, line: BankLine, customer_id: int, tolerance: int
) -> Payment | None:
    """The customer's pending transfer checkout this line pays: the line covers its amount
    (within ``tolerance``) and the checkout started before the money was booked; the closest
    amount, then the newest, wins."""
    started_by = datetime.combine(line.booked_on + timedelta(days=1), time.max, tzinfo=UTC)
    rows = await scope.objects(Payment).where(
        Payment.customer == customer_id,
        Payment.currency == line.currency,
        Payment.method == METHOD,
        Payment.status == "pending",
        Payment.created_at <= started_by,
    )
    fits = [p for p in rows if int(line.amount) >= int(p.amount) - tolerance]
    fits.sort(key=lambda p: (abs(int(p.amount) - int(line.amount)), -int(p.id)))
    return fits[0] if fits else None


async def _checked_allocations(
    scope: TenantScope,
    line: BankLine,
    candidate: MatchCandidate,
    tolerance: int,
) -> tuple[list[tuple[int, int]], int, int | None]:
    """The candidate's allocations as they can be applied now, the fee to write off and the
    invoice it is written off on. :class:`Refused` when the proposal no longer fits."""
    parts: dict[int, int] = {}
    order: list[int] = []
    for invoice_id, take in candidate.allocations:
        if take <= 0:
            raise Refused("La propuesta tiene montos inválidos.")
        if invoice_id not in parts:
            order.append(invoice_id)
        parts[invoice_id] = parts.get(invoice_id, 0) + take
    rows = (
        await scope.objects(Invoice).where(
            Invoice.id.is_in(order), Invoice.customer == candidate.customer_id
        )
        if order
        else []
    )
    invoices = {int(row.id): row for row in rows}
    for invoice_id in order:
        invoice = invoices.get(invoice_id)
        if invoice is None:
            raise Refused("Una factura de la propuesta ya no existe o es de otro cliente.")
        if invoice.currency != line.currency:
            raise Refused(f"La factura {invoice.number} está en otra moneda.")
        if invoice.status not in OPEN_STATUSES or invoice.balance < parts[invoice_id]:
            raise Refused(
                f"La factura {invoice.number} ya no debe lo propuesto; "
                "busca coincidencias de nuevo."
            )
    total = sum(parts.values())
    amount = int(line.amount)
    fee = max(total - amount, 0)
    if fee > tolerance:
        raise Refused("La propuesta suma más que el movimiento y más que la comisión permitida.")
    fee_invoice: int | None = None
    if fee:
        left = fee
        for invoice_id in reversed(order):
            cut = min(left, parts[invoice_id])
            parts[invoice_id] -= cut
            left -= cut
            if fee_invoice is None:
                fee_invoice = invoice_id
            if not left:
                break
    return [(i, parts[i]) for i in order if parts[i] > 0], fee, fee_invoice


async def _write_fee(
    scope: TenantScope, payment: Payment, invoice_id: int | None, fee: int, actor: str
) -> tuple[int | None, str]:
    """Write the bank's fee off the invoice; ``(write-off id, note)``. An invoice a plan covers
    cannot be written off: its difference stays owed and the note says so."""
    if not fee or invoice_id is None:
        return None, ""
    invoice = await scope.get(Invoice, invoice_id)
    fee = min(fee, invoice.balance if invoice is not None else 0)
    if fee <= 0:
        return None, ""
    try:
        row = await manual.write_off(scope, invoice_id, fee, FEE_REASON, actor)
    except PaymentError:
        return None, "La comisión bancaria no se pudo cancelar en la factura; sigue pendiente."
    checkout = loads(payment.checkout, {}) or {}
    bank = dict(checkout.get("bank_line") or {}) if isinstance(checkout, dict) else {}
    bank["fee_write_off"] = int(row.id)
    merged = {**(checkout if isinstance(checkout, dict) else {}), "bank_line": bank}
    await scope.update(Payment, {Payment.checkout: merged}).where(Payment.id == payment.id)
    payment.checkout = merged
    return int(row.id), ""


async def _applied_total(scope: TenantScope, payment_id: int) -> int:
    rows = await scope.select(Allocation, Allocation.amount).where(Allocation.payment == payment_id)
    return sum(int(r["amount"]) for r in rows)


# --- the decision -------------------------------------------------------------------------------


async def apply_match(
    scope: TenantScope,
    line_id: int,
    candidate: MatchCandidate,
    *,
    tolerance: int,
    window: int,
    actor: str,
    link_recorded: bool = True,
    from_statuses: Sequence[str] = OPEN_LINE_STATUSES,
    expected_generation: int | None = None,
    candidates: Sequence[MatchCandidate] | None = None,
) -> Outcome:
    """Apply ``candidate`` to the line in one transaction. A line no longer in ``from_statuses``
    (someone decided first) is left alone: the outcome carries its status and applies nothing.
    ``candidates`` (the engine's, best first) are stored with the decision, so an undo can put
    the line back in review with them. :class:`Refused` when the proposal no longer fits;
    :class:`LineNotFound` for no such line."""

    async def work(_tx: Any) -> Outcome:
        line = await lock_line(scope, line_id)
        if line.status not in from_statuses or (
            expected_generation is not None and int(line.generation) != expected_generation
        ):
            return Outcome(str(line.status), 0)
        if int(line.amount) <= 0:
            raise Refused("Solo el dinero recibido puede aplicarse a facturas.")
        customer = await scope.get(Customer, candidate.customer_id)
        if customer is None:
            raise Refused("Cliente no encontrado.")
        customer_id = int(customer.id)
        # The customer's lock orders this against staff confirming a proof of the same money.
        await ledger_lock_customer(scope, customer_id)
        generation = int(line.generation)
        bank = {"id": int(line.id), "generation": generation, "statement": int(line.statement)}
        note = ""
        applied_as = "payment"
        applied = 0
        payment: Payment | None = None
        hand = await recorded_by_hand(scope, line, customer_id, window) if link_recorded else None
        if hand is not None:
            payment, applied_as = hand, "linked"
            note = (
                f"El pago {hand.id} ya estaba registrado (comprobante o transferencia); "
                "no se aplicó de nuevo."
            )
        else:
            allocations, fee, fee_invoice = await _checked_allocations(
                scope, line, candidate, tolerance
            )
            checkout = await pending_checkout(scope, line, customer_id, tolerance)
            try:
                if checkout is not None:
                    payment = await settlement.settle_checkout(
                        scope,
                        int(checkout.id),
                        int(line.amount),
                        detail=f"bank line {line.id}",
                        details={"bank_line": bank},
                    )
                    applied_as = "checkout"
                    fee = max(int(checkout.amount) - int(line.amount), 0)
                    requested = [
                        int(i) for i in loads(checkout.requested_invoices, []) or [] if int(i)
                    ]
                    fee_invoice = await _last_open(scope, requested) if fee else None
                    note = f"Cerró el checkout de transferencia {checkout.id} del cliente."
                else:
                    payment, _new = await settlement.record_allocated_payment(
                        scope,
                        customer_id=customer_id,
                        currency=str(line.currency),
                        amount=int(line.amount),
                        method=METHOD,
                        reference=f"bankline:{line.id}:{generation}",
                        allocations=allocations,
                        details={"bank_line": bank},
                    )
            except PaymentError as exc:
                raise Refused(f"No se pudo aplicar el pago: {exc}") from None
            _wo, fee_note = await _write_fee(scope, payment, fee_invoice, fee, actor)
            note = " ".join(n for n in (note, fee_note) if n)
            applied = await _applied_total(scope, int(payment.id))
        now = _now()
        proposals = (
            {BankLine.candidates: [candidate_dict(c) for c in candidates]} if candidates else {}
        )
        await scope.update(
            BankLine,
            {
                **proposals,
                BankLine.status: "matched",
                BankLine.rule: candidate.rule[:50],
                BankLine.confidence: float(candidate.confidence),
                BankLine.customer: customer_id,
                BankLine.payment: int(payment.id),
                BankLine.applied_as: applied_as,
                BankLine.decided_by: actor[:100],
                BankLine.decided_at: now,
                BankLine.note: note[:500],
            },
        ).where(BankLine.id == line.id)
        await record(
            scope,
            actor,
            "bank_line.matched",
            f"bank_line:{line.id}",
            rule=candidate.rule,
            confidence=float(candidate.confidence),
            customer_id=customer_id,
            payment_id=int(payment.id),
            applied_as=applied_as,
            applied=applied,
            generation=generation,
        )
        return Outcome("matched", applied, applied_as, int(payment.id), note)

    return await atomic(work)


async def line_that_applied(
    scope: TenantScope, customer_id: int, currency: str, amount: int, around: date, window: int
) -> BankLine | None:
    """A statement line that already applied this money (same customer, currency and amount,
    booked within ``window`` days of ``around``) whose payment no proof of payment claims: what
    confirming a proof must link to instead of applying the money again."""
    from recaudo.core.tables import PaymentProof

    low = around - timedelta(days=window)
    high = around + timedelta(days=window)
    rows = (
        await scope.objects(BankLine)
        .where(
            BankLine.customer == customer_id,
            BankLine.currency == currency,
            BankLine.amount == amount,
            BankLine.status == "matched",
            BankLine.applied_as.is_in(["payment", "checkout"]),
            BankLine.booked_on >= low,
            BankLine.booked_on <= high,
        )
        .order_by(BankLine.id)
    )
    for row in rows:
        if row.payment is None:
            continue
        claimed = await scope.exists(PaymentProof).where(PaymentProof.payment == row.payment)
        if not claimed:
            return row
    return None


async def _last_open(scope: TenantScope, invoice_ids: list[int]) -> int | None:
    """The last of ``invoice_ids`` that still owes something (where a fee is written off)."""
    if not invoice_ids:
        return None
    rows = await scope.objects(Invoice).where(Invoice.id.is_in(invoice_ids))
    owing = {int(r.id) for r in rows if r.status in OPEN_STATUSES and r.balance > 0}
    for invoice_id in reversed(invoice_ids):
        if invoice_id in owing:
            return invoice_id
    return None


__all__ = [
    "FEE_REASON",
    "HAND_METHODS",
    "METHOD",
    "OPEN_LINE_STATUSES",
    "Outcome",
    "Refused",
    "apply_match",
    "candidate_dict",
    "line_that_applied",
    "lock_line",
    "pending_checkout",
    "recorded_by_hand",
    "statement_line",
    "stored_candidates",
]
