"""Messages the customer expects: invoice issued, payment receipt, upcoming charge, chat answered
and the optional monthly statement.

Every one is a single outbox job ``customer_message`` with payload ``{"kind", "customer_id", …}``
enqueued in the transaction of the change (or of the job that follows it) under a key per event,
so a repeated event, a retried transaction or a re-run job never queues a second message. The
handler (:mod:`recaudo.workers.customer_messages`) decides at send time whether the message still
makes sense (an invoice voided meanwhile is not announced) and renders it.

Settings live in ``Tenant.policy`` (other keys are kept): ``messages_statement`` (bool, off by
default) turns the monthly statement on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from recaudo.core.common import outbox
from recaudo.core.messaging.notify import tenant_channels
from recaudo.core.tenant_settings.tenant_rows import json_dict
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope

ACTOR = "customer_message"
KINDS = (
    "invoice_issued",
    "payment_receipt",
    "upcoming_charge",
    "autopay_failed",
    "chat_answered",
    "statement",
)

#: An invoice is announced only when it is news: issued in the last few days (a backdated
#: invoice — an import of old bills, the demo's history — is a record, not news).
ISSUED_MAX_AGE_DAYS = 3

#: A staff answer waits this long before it is e-mailed: a burst of answers sends one message,
#: and a customer still in the chat (who wrote back meanwhile) gets none.
CHAT_DELAY = timedelta(minutes=2)


def message_key(kind: str, *parts: object) -> str:
    """The outbox key of one message: the same event always gives the same key."""
    return ":".join(["message", kind, *(str(p) for p in parts)])[:200]


async def enqueue_message(
    scope: TenantScope,
    kind: str,
    customer_id: int,
    key: str,
    delay: timedelta | None = None,
    **data: Any,
) -> bool:
    """Queue one customer message; ``False`` when this key was already queued (sent once)."""
    if kind not in KINDS:
        raise ValueError(f"unknown customer message kind {kind!r}")
    payload = {"kind": kind, "customer_id": int(customer_id), **data}
    return await outbox.enqueue(scope, ACTOR, payload, key=key, delay=delay)


async def _can_tell(scope: TenantScope) -> bool:
    """A tenant without any notification channel queues nothing: there is no one to send it."""
    return bool(await tenant_channels(scope))


async def invoice_issued(
    scope: TenantScope, invoice_id: int, customer_id: int, issue_date: date | None = None
) -> bool:
    """Queue the announcement of a new invoice; a backdated one (older than
    :data:`ISSUED_MAX_AGE_DAYS`, with a day's margin for time zones) is not news: no job."""
    if issue_date is not None:
        oldest = datetime.now(UTC).date() - timedelta(days=ISSUED_MAX_AGE_DAYS + 1)
        if issue_date < oldest:
            return False
    if not await _can_tell(scope):
        return False
    return await enqueue_message(
        scope,
        "invoice_issued",
        customer_id,
        message_key("invoice_issued", invoice_id),
        invoice_id=int(invoice_id),
    )


async def payment_receipt(scope: TenantScope, payment_id: int, customer_id: int) -> bool:
    if not await _can_tell(scope):
        return False
    return await enqueue_message(
        scope,
        "payment_receipt",
        customer_id,
        message_key("payment_receipt", payment_id),
        payment_id=int(payment_id),
    )


async def chat_answered(scope: TenantScope, message_id: int, customer_id: int) -> bool:
    if not await _can_tell(scope):
        return False
    return await enqueue_message(
        scope,
        "chat_answered",
        customer_id,
        message_key("chat_answered", message_id),
        delay=CHAT_DELAY,
        message_id=int(message_id),
    )


def statement_enabled(tenant: Tenant) -> bool:
    return bool(json_dict(tenant.policy).get("messages_statement"))
