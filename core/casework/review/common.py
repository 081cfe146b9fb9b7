"""What every staff workflow shares: errors, limits, the acting user, row lookups."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from recaudo.core.common import outbox
from recaudo.core.tables import (
    PaymentProof,
    StaffUser,
)
from recaudo.tenants.scoped import TenantScope, as_id

MAX_CHAT = 2000
MAX_REASON = 500
MAX_AMOUNT = 10**15  # minor units; far beyond any real transfer, well inside BigInt
PROOF_METHOD = "banktransfer"
PAYABLE = ("open", "partially_paid")


class InboxError(ValueError):
    """Bad input for a decision (HTTP 400)."""


class NotFound(LookupError):
    """No such item for this tenant (HTTP 404)."""


class Conflict(InboxError):
    """The item was already decided the other way (HTTP 409)."""


def actor(user: StaffUser) -> str:
    return f"staff:{user.id}"


def _valid_id(row_id: int, message: str) -> int:
    """Ids beyond the key type can only come from a tampered URL; they are simply not found."""
    if not isinstance(row_id, int) or as_id(row_id) is None:
        raise NotFound(message)
    return row_id


def _decided(table: Any, user: StaffUser, note: str, note_column: Any = None) -> dict[Any, Any]:
    """The who/when/why columns every staff decision on an inbox item fills in."""
    return {
        note_column if note_column is not None else table.decision_note: note,
        table.decided_by: user.id,
        table.decided_at: datetime.now(UTC),
    }


async def _get(scope: TenantScope, table: Any, row_id: int, message: str) -> Any:
    row = await scope.get(table, _valid_id(row_id, message))
    if row is None:
        raise NotFound(message)
    return row


def _reason(value: str | None, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InboxError("Escribe el motivo.")
    if len(text) > MAX_REASON:
        raise InboxError("El motivo es demasiado largo (máximo 500 caracteres).")
    return text


async def _tell_customer(scope: TenantScope, about: str, row_id: int) -> None:
    """Queue the message that tells the customer what was decided, with the decision itself
    (outbox: committed together, sent by a worker; one message per decided item)."""
    await outbox.enqueue(
        scope, "tell_customer", {"about": about, "id": row_id}, key=f"tell:{about}:{row_id}"
    )


def _locked(query: Any) -> Any:
    """``FOR UPDATE`` on PostgreSQL; SQLite's immediate write transaction already serialises."""
    return query.lock_rows() if PaymentProof._meta.db.engine_type == "postgres" else query
