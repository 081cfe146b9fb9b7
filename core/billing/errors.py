"""Errors the back office and the API share for customers and invoices, and who acted.

Field problems are :class:`~recaudo.core.billing.customers.CustomerError` /
:class:`~recaudo.core.billing.invoices.InvoiceError` (HTTP 400, the message starts with the
field's name). A row of another tenant, or none at all, is :class:`RecordNotFound` (404); a change
the record's state no longer allows (editing a paid invoice, voiding a void one) is
:class:`RecordConflict` (409).
"""

from __future__ import annotations

from recaudo.core.tables import StaffUser


class RecordNotFound(LookupError):
    """No such customer or invoice for this tenant."""


class RecordConflict(ValueError):
    """The record's state does not allow this change; the message says why."""


def actor_name(actor: StaffUser | str) -> str:
    """The audit actor: ``staff:<id>`` for a staff user, or the string given (``apikey:3``)."""
    if isinstance(actor, StaffUser):
        return f"staff:{actor.id}"
    text = str(actor or "").strip()
    if not text:
        raise ValueError("actor: required")
    return text[:100]
