"""Mercado Pago payment statuses mapped onto Recaudo's, in one table.

Mercado Pago reports ``status`` plus a ``status_detail``; a few combinations mean something more
specific than the status alone (an approved payment with refunds is *partially refunded*, a
cancelled voucher whose detail is ``expired`` simply ran out of time). The table is the single
place to read or change the mapping; :func:`map_status` applies the refinements.

Reference: https://www.mercadopago.com.mx/developers/es/reference/payments/_payments_id/get
"""

from __future__ import annotations

from recaudo.api import PAYMENT_STATUSES

#: Mercado Pago ``status`` → Recaudo status. Both spellings of cancelled occur in the wild.
STATUS_TABLE: dict[str, str] = {
    "pending": "pending",  # voucher issued / waiting for the customer
    "authorized": "in_process",  # card hold, not captured: no money yet
    "in_process": "in_process",  # under review by Mercado Pago
    # A buyer's claim freezes the funds until Mercado Pago decides, so the money is no longer
    # certain: treat it like a review, not as approved (status_detail keeps the nuance).
    "in_mediation": "in_process",
    "approved": "approved",
    "rejected": "rejected",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "refunded": "refunded",
    "charged_back": "charged_back",
    "expired": "expired",
}

#: ``status_detail`` values that turn a cancellation into an expiry (an unpaid voucher or PIX).
EXPIRED_DETAILS = frozenset({"expired"})

assert set(STATUS_TABLE.values()) <= set(PAYMENT_STATUSES)


class UnknownProviderStatus(ValueError):
    """Mercado Pago answered a status this table does not know.

    Raised instead of guessing: a wrong guess could mark money as received (or reverse a good
    payment); an error leaves the payment untouched and the worker retries after someone looks.
    """


def map_status(status: str, status_detail: str = "", amount_refunded: int = 0) -> str:
    """Recaudo status for a Mercado Pago ``status``/``status_detail`` pair.

    ``amount_refunded`` is in minor units: an approved payment with any refund is
    ``partially_refunded`` (Mercado Pago keeps ``status=approved`` until the refund is total).
    """
    key = (status or "").strip().lower()
    detail = (status_detail or "").strip().lower()
    try:
        ours = STATUS_TABLE[key]
    except KeyError:
        raise UnknownProviderStatus(f"unknown Mercado Pago status {status!r}") from None
    if ours == "approved" and (amount_refunded > 0 or detail == "partially_refunded"):
        return "partially_refunded"
    if ours == "cancelled" and detail in EXPIRED_DETAILS:
        return "expired"
    return ours
