"""Pure payment arithmetic: allocation, reversal and status precedence.

Nothing here touches the database, so property tests can hammer it. Amounts are integer minor
units; every plan returned sums exactly to the amount it was given (no unit is lost or invented).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from recaudo.core.payments.method import PAYMENT_STATUSES

# Precedence of statuses: a provider state is applied only when it ranks higher than what we
# hold (or, at the same rank, refunds more). Every status has its own rank so that the order of
# delivery never matters: the final state is the maximum of all the states seen.
STATUS_RANK: dict[str, int] = {
    "pending": 0,
    "in_process": 1,
    "expired": 2,
    "cancelled": 3,
    "rejected": 4,
    "approved": 5,
    "partially_refunded": 6,
    "refunded": 7,
    "charged_back": 8,
}
assert set(STATUS_RANK) == set(PAYMENT_STATUSES)

# Statuses in which the customer's money reached us (possibly returned afterwards).
MONEY_STATUSES = frozenset({"approved", "partially_refunded", "refunded", "charged_back"})
FINAL_STATUSES = frozenset(PAYMENT_STATUSES) - {"pending", "in_process"}


class AllocationError(ValueError):
    """Arithmetic input that cannot be money (negative or non-integer amounts)."""


def _check_amount(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AllocationError(f"{what} must be a whole number of minor units, zero or more")
    return value


@dataclass(frozen=True)
class AllocationPlan:
    """How a payment is spread: ``(invoice_id, amount)`` in order, the rest as credit."""

    allocations: tuple[tuple[int, int], ...]
    credit: int

    @property
    def allocated(self) -> int:
        return sum(amount for _, amount in self.allocations)


def plan_allocation(amount: int, invoices: Iterable[tuple[int, int]]) -> AllocationPlan:
    """Fill ``invoices`` (``(id, balance)`` in priority order) with ``amount``; the rest is credit.

    Repeated ids are taken once (the first time) and non-positive balances are skipped, so a
    caller that lists an invoice both as requested and as "oldest due" cannot over-apply it.
    """
    remaining = _check_amount(amount, "amount")
    seen: set[int] = set()
    out: list[tuple[int, int]] = []
    for invoice_id, balance in invoices:
        if remaining == 0:
            break
        if invoice_id in seen:
            continue
        seen.add(invoice_id)
        if isinstance(balance, bool) or not isinstance(balance, int):
            raise AllocationError("invoice balances are whole numbers of minor units")
        take = min(balance, remaining)
        if take > 0:
            out.append((invoice_id, take))
            remaining -= take
    return AllocationPlan(tuple(out), remaining)


@dataclass(frozen=True)
class ReversalPlan:
    """What a refund takes back: unused credit first, then ``(allocation_id, amount)``."""

    credit: int
    reversals: tuple[tuple[int, int], ...]
    shortfall: int  # what could not be taken back (zero when the ledger is consistent)


def plan_reversal(
    amount: int, unused_credit: int, allocations: Sequence[tuple[int, int]]
) -> ReversalPlan:
    """Take ``amount`` back: the payment's unused credit first, then ``allocations`` in order.

    ``allocations`` are ``(allocation_id, still_reversible)`` newest first, so the invoices paid
    last are the ones that reopen (the customer chose the first ones explicitly).
    """
    remaining = _check_amount(amount, "amount")
    from_credit = min(_check_amount(unused_credit, "unused credit"), remaining)
    remaining -= from_credit
    out: list[tuple[int, int]] = []
    for allocation_id, reversible in allocations:
        if remaining == 0:
            break
        take = min(_check_amount(reversible, "reversible amount"), remaining)
        if take > 0:
            out.append((allocation_id, take))
            remaining -= take
    return ReversalPlan(from_credit, tuple(out), remaining)


def plan_credit_use(
    amount: int, sources: Sequence[tuple[int | None, int]]
) -> list[tuple[int | None, int]]:
    """Spend ``amount`` of credit from ``sources`` (``(payment_id, available)``, oldest first).

    Raises when the sources do not hold enough: credit is never overdrawn.
    """
    remaining = _check_amount(amount, "amount")
    out: list[tuple[int | None, int]] = []
    for payment_id, available in sources:
        if remaining == 0:
            break
        take = min(max(available, 0), remaining)
        if take > 0:
            out.append((payment_id, take))
            remaining -= take
    if remaining:
        raise AllocationError("not enough credit")
    return out


@dataclass(frozen=True, order=True)
class Position:
    """Where a payment stands: comparable, so the newest truth is simply the maximum."""

    rank: int
    refunded: int

    @property
    def status(self) -> str:
        return _BY_RANK[self.rank]

    @property
    def has_money(self) -> bool:
        return self.status in MONEY_STATUSES


_BY_RANK = {rank: status for status, rank in STATUS_RANK.items()}


def position(status: str, amount: int, refunded: int) -> Position:
    """Normalise a provider status and refunded amount for a payment of ``amount``.

    Providers disagree on how they report refunds (``approved`` with a refunded amount,
    ``refunded`` without one…); this is the single reading the ledger uses. A refund or a
    chargeback never takes back more than the payment.
    """
    if status not in STATUS_RANK:
        raise AllocationError(f"unknown payment status {status!r}")
    _check_amount(amount, "amount")
    refunded = min(_check_amount(refunded, "refunded amount"), amount)
    if status == "charged_back":
        return Position(STATUS_RANK[status], amount)
    if status == "refunded" and (refunded == 0 or refunded >= amount):
        return Position(STATUS_RANK["refunded"], amount)
    if status in ("approved", "partially_refunded", "refunded"):
        if amount and refunded >= amount:
            return Position(STATUS_RANK["refunded"], amount)
        if refunded > 0:
            return Position(STATUS_RANK["partially_refunded"], refunded)
        return Position(STATUS_RANK["approved"], 0)
    return Position(STATUS_RANK[status], 0)
