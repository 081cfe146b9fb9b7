"""How long a checkout stays live, and what "live" means.

A payment in status ``pending`` is a checkout the customer may still complete. It stops being live
when its ``expires_at`` passes, or when a newer checkout for overlapping invoices supersedes it
(status ``cancelled``, see :func:`recaudo.core.payments.ledger.create_payment`). Expiry needs no
writer to be true: readers compare ``expires_at`` with the clock (:func:`live_where`), and the
scheduler's sweep (``workers/scheduler.py: expire_abandoned_checkouts``) marks them ``expired`` with
one UPDATE so the history says so too. ``in_process`` payments never expire here: the provider
already holds them (a voucher issued, a card under review) and will say how they end.

Lifetimes (decided here, documented in docs/architecture.md "Checkouts expire"):

* hosted pages — cards, wallets, bank redirects (sandbox, Mercado Pago Checkout Pro):
  :data:`CHECKOUT_TTL`, 60 minutes; the provider's page gets the same expiry;
* instructions — cash vouchers, PIX, bank transfers: the provider's own expiry when it gives one
  (Mercado Pago's ``date_of_expiration``, plugin setting ``expiration_minutes``, 3 days by
  default), else :data:`INSTRUCTIONS_TTL`, 3 days.

Money that arrives for a checkout that was no longer live is never lost and never silently lands on
other invoices: the ledger applies it to the invoices it was for while they are open and keeps the
rest as credit, tells the customer and opens a ticket for staff.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from recaudo.core.tables import Payment

CHECKOUT_TTL = timedelta(minutes=60)
INSTRUCTIONS_TTL = timedelta(days=3)
#: Statuses of a checkout that ended without money because it was superseded or ran out of time.
ENDED = ("expired", "cancelled")


def now() -> datetime:
    """The clock expiry is judged by; call it as ``expiry.now()`` so tests can move it forward
    instead of sleeping."""
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """``moment`` in UTC: SQLite hands back naive timestamps (they are UTC), and providers give
    their own offsets, which must not reach SQLite, where timestamps compare as text."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def lifetime(kind: str) -> timedelta:
    """Default lifetime of a checkout whose provider gave no expiry, by result kind."""
    return INSTRUCTIONS_TTL if kind == "instructions" else CHECKOUT_TTL


def expires_at(payment: Payment) -> datetime:
    """When ``payment`` stops being live (rows older than the column: created + 60 min)."""
    if payment.expires_at is not None:
        return aware(payment.expires_at)
    return aware(payment.created_at) + CHECKOUT_TTL


def is_live(payment: Payment, now: datetime) -> bool:
    """May the customer still complete this checkout?"""
    if payment.status == "in_process":
        return True
    return payment.status == "pending" and expires_at(payment) > now


def is_late(payment: Payment, now: datetime) -> bool:
    """Money for ``payment`` arriving at ``now`` comes after its checkout stopped being live."""
    return payment.status in ENDED or (payment.status == "pending" and not is_live(payment, now))


def as_seen(payment: Payment, now: datetime) -> Payment:
    """``payment`` as the customer should see it: a lapsed checkout shows as ``expired`` before
    the sweep records it (in memory only; nothing is written)."""
    if payment.status == "pending" and not is_live(payment, now):
        payment.status = "expired"
    return payment


def expired_where(now: datetime) -> Any:
    """Piccolo condition: pending payments whose checkout has run out of time at ``now``."""
    return (Payment.status == "pending") & (
        (Payment.expires_at <= now)
        | (Payment.expires_at.is_null() & (Payment.created_at <= now - CHECKOUT_TTL))
    )


def live_where(now: datetime) -> Any:
    """Piccolo condition: payments the customer may still complete at ``now``."""
    return (Payment.status == "in_process") | (
        (Payment.status == "pending")
        & (
            (Payment.expires_at > now)
            | (Payment.expires_at.is_null() & (Payment.created_at > now - CHECKOUT_TTL))
        )
    )
