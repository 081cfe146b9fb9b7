"""The error every money operation raises for a request it refuses (shared by reads and writes)."""

from __future__ import annotations


class PaymentError(ValueError):
    """A payment request or state that cannot be applied; the message says why."""
