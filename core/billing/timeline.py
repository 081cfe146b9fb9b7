"""A customer's timeline for the back office: everything that happened with them, newest first.

Merges invoices, payments (marked when a bank statement line identified them), credit notes,
messages sent (``notification_log``, matched by the customer's e-mail address or phone: the log
keeps recipients, not customer ids), chat messages,
disputes, proofs of payment, payment plans, promises to pay and other "No puedo pagar" answers,
staff notes, audit events about the customer or their invoices, and collection contacts
(``contact_attempt``: reminders planned, deferred, sent or failed, calls; a message sent for a
contact is shown once, as the contact). Each source is read newest
first with a limit, so a long history costs a bounded number of small queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from recaudo.core.tables import (
    AuditEvent,
    BankLine,
    ChatMessage,
    ContactAttempt,
    CreditNote,
    Customer,
    CustomerNote,
    Dispute,
    DunningStage,
    HardshipRequest,
    Invoice,
    NotificationLog,
    Payment,
    PaymentPlan,
    PaymentProof,
)
from recaudo.tenants.scoped import TenantScope

KINDS = (
    "invoice",
    "payment",
    "credit_note",
    "message",
    "chat",
    "dispute",
    "proof",
    "plan",
    "promise",
    "hardship",
    "note",
    "audit",
    "contact",
)
PER_SOURCE = 50


@dataclass(frozen=True)
class Entry:
    kind: str
    at: datetime
    row_id: int
    data: dict[str, Any] = field(default_factory=dict)


def _aware(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return datetime.min.replace(tzinfo=UTC)


async def customer_timeline(
    scope: TenantScope, customer: Customer, limit: int = 100, kinds: tuple[str, ...] = KINDS
) -> list[Entry]:
    """The customer's timeline, newest first, at most ``limit`` entries."""
    cid = int(customer.id)
    entries: list[Entry] = []

    def newest(query: Any, column: Any) -> Any:
        return query.order_by(column, ascending=False).limit(PER_SOURCE)

    invoices = await newest(
        scope.select(
            Invoice,
            Invoice.id,
            Invoice.number,
            Invoice.total,
            Invoice.currency,
            Invoice.status,
            Invoice.due_date,
            Invoice.created_at,
        ).where(Invoice.customer == cid),
        Invoice.id,
    )
    if "invoice" in kinds:
        entries += [Entry("invoice", _aware(r["created_at"]), int(r["id"]), r) for r in invoices]
    if "payment" in kinds:
        rows = await newest(
            scope.select(
                Payment,
                Payment.id,
                Payment.method,
                Payment.status,
                Payment.amount,
                Payment.amount_refunded,
                Payment.currency,
                Payment.created_at,
            ).where(Payment.customer == cid),
            Payment.id,
        )
        await _mark_statement_payments(scope, rows)
        entries += [Entry("payment", _aware(r["created_at"]), int(r["id"]), r) for r in rows]
    if "credit_note" in kinds:
        rows = await newest(
            scope.select(
                CreditNote,
                CreditNote.id,
                CreditNote.number,
                CreditNote.amount,
                CreditNote.currency,
                CreditNote.reason,
                CreditNote.invoice,
                CreditNote.invoice.number.as_alias("invoice_number"),
                CreditNote.created_at,
            ).where(CreditNote.invoice.customer == cid),
            CreditNote.id,
        )
        entries += [Entry("credit_note", _aware(r["created_at"]), int(r["id"]), r) for r in rows]
    recipients = [str(v) for v in (customer.email, customer.phone) if v]
    if "message" in kinds and recipients:
        query = scope.select(
            NotificationLog,
            NotificationLog.id,
            NotificationLog.channel,
            NotificationLog.recipient,
            NotificationLog.subject,
            NotificationLog.status,
            NotificationLog.created_at,
        ).where(NotificationLog.recipient.is_in(recipients))
        if "contact" in kinds:  # a reminder's message is shown once, as its contact
            query = query.where(NotificationLog.contact.is_null())
        rows = await newest(query, NotificationLog.id)
        entries += [Entry("message", _aware(r["created_at"]), int(r["id"]), r) for r in rows]
    if "chat" in kinds:
        rows = await newest(
            scope.select(
                ChatMessage,
                ChatMessage.id,
                ChatMessage.sender,
                ChatMessage.body,
                ChatMessage.created_at,
            ).where(ChatMessage.customer == cid),
            ChatMessage.id,
        )
        entries += [Entry("chat", _aware(r["created_at"]), int(r["id"]), r) for r in rows]
    if "dispute" in kinds:
        rows = await newest(
            scope.select(
                Dispute,
                Dispute.id,
                Dispute.reason,
                Dispute.status,
                Dispute.message,
                Dispute.invoice.number.as_alias("invoice_number"),
                Dispute.created_at,
            ).where(Dispute.customer == cid),
            Dispute.id,
        )
        entries += [Entry("dispute", _aware(r["created_at"]), int(r["id"]), r) for r in rows]
    if "proof" in kinds:
        rows = await newest(
            scope.select(
                PaymentProof,
                PaymentProof.id,
                PaymentProof.amount,
                PaymentProof.currency,
                PaymentProof.status,
                PaymentProof.created_at,
            ).where(PaymentProof.customer == cid),
            PaymentProof.id,
        )
        entries += [Entry("proof", _aware(r["created_at"]), int(r["id"]), r) for r in rows]
    if "plan" in kinds:
        rows = await newest(
            scope.select(
                PaymentPlan,
                PaymentPlan.id,
                PaymentPlan.status,
                PaymentPlan.total,
                PaymentPlan.currency,
                PaymentPlan.installments_count,
                PaymentPlan.created_at,
            ).where(PaymentPlan.customer == cid),
            PaymentPlan.id,
        )
        entries += [Entry("plan", _aware(r["created_at"]), int(r["id"]), r) for r in rows]
    if "promise" in kinds or "hardship" in kinds:
        rows = await newest(
            scope.select(
                HardshipRequest,
                HardshipRequest.id,
                HardshipRequest.reason,
                HardshipRequest.outcome,
                HardshipRequest.promise_date,
                HardshipRequest.status,
                HardshipRequest.message,
                HardshipRequest.created_at,
            ).where(HardshipRequest.customer == cid),
            HardshipRequest.id,
        )
        for r in rows:
            kind = "promise" if r["outcome"] == "promise" else "hardship"
            if kind in kinds:
                entries.append(Entry(kind, _aware(r["created_at"]), int(r["id"]), r))
    if "note" in kinds:
        rows = await newest(
            scope.select(
                CustomerNote,
                CustomerNote.id,
                CustomerNote.body,
                CustomerNote.author.email.as_alias("author_email"),
                CustomerNote.created_at,
            ).where(CustomerNote.customer == cid),
            CustomerNote.id,
        )
        entries += [Entry("note", _aware(r["created_at"]), int(r["id"]), r) for r in rows]
    if "audit" in kinds:
        subjects = [f"customer:{cid}", *(f"invoice:{r['id']}" for r in invoices)]
        rows = await newest(
            scope.select(
                AuditEvent,
                AuditEvent.id,
                AuditEvent.actor,
                AuditEvent.action,
                AuditEvent.subject,
                AuditEvent.created_at,
            ).where(AuditEvent.subject.is_in(subjects)),
            AuditEvent.id,
        )
        entries += [Entry("audit", _aware(r["created_at"]), int(r["id"]), r) for r in rows]
    if "contact" in kinds:
        entries += await _contacts(scope, cid, newest)
    entries.sort(key=lambda e: (e.at, KINDS.index(e.kind), e.row_id), reverse=True)
    return entries[:limit]


async def _mark_statement_payments(scope: TenantScope, rows: list[dict[str, Any]]) -> None:
    """Payments a bank statement line identified get ``bank_line`` (the line's id), so the
    timeline can say the money was found in the statement; one query for the whole page."""
    ids = [int(r["id"]) for r in rows]
    found = (
        await scope.select(BankLine, BankLine.id, BankLine.payment).where(
            BankLine.payment.is_in(ids)
        )
        if ids
        else []
    )
    lines = {int(r["payment"]): int(r["id"]) for r in found}
    for r in rows:
        r["bank_line"] = lines.get(int(r["id"]))


async def _contacts(scope: TenantScope, cid: int, newest: Any) -> list[Entry]:
    """Collection contacts, at the moment they were sent (or are planned for)."""
    rows = await newest(
        scope.select(
            ContactAttempt,
            ContactAttempt.id,
            ContactAttempt.kind,
            ContactAttempt.stage,
            ContactAttempt.channel,
            ContactAttempt.status,
            ContactAttempt.scheduled_for,
            ContactAttempt.sent_at,
            ContactAttempt.rule,
            ContactAttempt.reason,
            ContactAttempt.error,
        ).where(ContactAttempt.customer == cid),
        ContactAttempt.id,
    )
    stage_ids = sorted({int(r["stage"]) for r in rows if r["stage"] is not None})
    names = {
        int(s["id"]): str(s["name"])
        for s in (
            await scope.select(DunningStage, DunningStage.id, DunningStage.name).where(
                DunningStage.id.is_in(stage_ids)
            )
            if stage_ids
            else []
        )
    }
    out = []
    for r in rows:
        data = {**r, "stage_name": names.get(int(r["stage"] or 0), "")}
        at = r["sent_at"] or r["scheduled_for"]
        out.append(Entry("contact", _aware(at), int(r["id"]), data))
    return out
