"""Reading the record of collection contacts for staff (the log, the calls to make) and for the
customer (the messages Recaudo sent them), and recording the outcome of a call.

Every read is scoped to the tenant and bounded (one page, a few small queries for the names of
the page's customers, invoices and stages), so a tenant with millions of contacts costs the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from recaudo.core.billing.errors import actor_name
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.db import transaction
from recaudo.core.tables import (
    ContactAttempt,
    Customer,
    CustomerNote,
    DunningStage,
    Invoice,
    NotificationLog,
    StaffUser,
)
from recaudo.tenants.scoped import TenantScope

STATUSES = ("planned", "deferred", "sending", "sent", "delivered", "failed", "skipped")
CALL_KINDS = ("call", "handoff")
#: What a collector can say about a call (stored as the contact's ``reason``).
OUTCOMES = {
    "reached": "Contestó",
    "no_answer": "No contestó",
    "promise": "Prometió pagar",
    "note": "Otro (ver nota)",
}
PAGE_SIZE = 50
MAX_NOTE = 2000


class ContactError(Exception):
    """Bad input about a contact (Spanish message)."""


class ContactNotFound(Exception):
    """No such contact in this tenant."""


class ContactConflict(Exception):
    """The contact is no longer waiting for a call (someone else recorded it)."""


@dataclass(frozen=True)
class ContactFilters:
    status: str = ""
    channel: str = ""
    kind: str = ""
    customer: int = 0
    page: int = 1

    @classmethod
    def from_query(cls, query: Any) -> ContactFilters:
        def text(name: str) -> str:
            value = str(query.get(name) or "").strip()
            return value[:30]

        def number(name: str, default: int) -> int:
            raw = text(name)
            return int(raw) if raw.isdigit() and len(raw) < 10 else default

        status = text("estado")
        return cls(
            status=status if status in STATUSES else "",
            channel=text("canal"),
            kind=text("tipo"),
            customer=number("cliente", 0),
            page=max(1, number("pagina", 1)),
        )

    def query(self, page: int) -> dict[str, str]:
        out = {"estado": self.status, "canal": self.channel, "tipo": self.kind}
        if self.customer:
            out["cliente"] = str(self.customer)
        out["pagina"] = str(page)
        return {k: v for k, v in out.items() if v}


@dataclass(frozen=True)
class ContactRow:
    id: int
    customer_id: int
    customer_name: str
    kind: str
    stage: str
    invoices: tuple[str, ...]
    channel: str
    status: str
    scheduled_for: datetime | None
    sent_at: datetime | None
    rule: str
    reason: str
    error: str
    delivery: str = ""


@dataclass(frozen=True)
class ContactPage:
    rows: list[ContactRow]
    page: int
    has_next: bool
    kinds: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)


async def _rows(scope: TenantScope, raw: list[dict[str, Any]]) -> list[ContactRow]:
    """Dress a page of contact rows with customer, stage and invoice names (three queries)."""
    customer_ids = sorted({int(r["customer"]) for r in raw})
    stage_ids = sorted({int(r["stage"]) for r in raw if r["stage"] is not None})
    invoice_ids: set[int] = set()
    for r in raw:
        ids = loads(r["invoice_ids"], [])
        invoice_ids |= (
            {int(i) for i in ids if isinstance(i, int)} if isinstance(ids, list) else set()
        )
    names = {
        int(c["id"]): str(c["name"])
        for c in (
            await scope.select(Customer, Customer.id, Customer.name).where(
                Customer.id.is_in(customer_ids)
            )
            if customer_ids
            else []
        )
    }
    stages = {
        int(s["id"]): str(s["name"])
        for s in (
            await scope.select(DunningStage, DunningStage.id, DunningStage.name).where(
                DunningStage.id.is_in(stage_ids)
            )
            if stage_ids
            else []
        )
    }
    numbers = {
        int(i["id"]): str(i["number"])
        for i in (
            await scope.select(Invoice, Invoice.id, Invoice.number).where(
                Invoice.id.is_in(sorted(invoice_ids))
            )
            if invoice_ids
            else []
        )
    }
    notification_ids = sorted({int(r["notification"]) for r in raw if r["notification"]})
    deliveries = {
        int(n["id"]): str(n["delivery_status"] or "")
        for n in (
            await scope.select(
                NotificationLog, NotificationLog.id, NotificationLog.delivery_status
            ).where(NotificationLog.id.is_in(notification_ids))
            if notification_ids
            else []
        )
    }
    out = []
    for r in raw:
        ids = loads(r["invoice_ids"], [])
        out.append(
            ContactRow(
                id=int(r["id"]),
                customer_id=int(r["customer"]),
                customer_name=names.get(int(r["customer"]), ""),
                kind=str(r["kind"]),
                stage=stages.get(int(r["stage"]), "") if r["stage"] is not None else "",
                invoices=tuple(
                    numbers[int(i)]
                    for i in (ids if isinstance(ids, list) else [])
                    if isinstance(i, int) and int(i) in numbers
                ),
                channel=str(r["channel"] or ""),
                status=str(r["status"]),
                scheduled_for=r["scheduled_for"],
                sent_at=r["sent_at"],
                rule=str(r["rule"] or ""),
                reason=str(r["reason"] or ""),
                error=str(r["error"] or ""),
                delivery=deliveries.get(int(r["notification"] or 0), ""),
            )
        )
    return out


async def contact_page(scope: TenantScope, filters: ContactFilters) -> ContactPage:
    """One page of the tenant's contacts, newest first."""
    query = scope.select(ContactAttempt)
    if filters.status:
        query = query.where(ContactAttempt.status == filters.status)
    if filters.channel:
        query = query.where(ContactAttempt.channel == filters.channel)
    if filters.kind:
        query = query.where(ContactAttempt.kind == filters.kind)
    if filters.customer:
        query = query.where(ContactAttempt.customer == filters.customer)
    raw = await (
        query.order_by(ContactAttempt.scheduled_for, ascending=False)
        .order_by(ContactAttempt.id, ascending=False)
        .offset((filters.page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    kinds = await scope.select(ContactAttempt, ContactAttempt.kind).distinct().limit(30)
    channels = await scope.select(ContactAttempt, ContactAttempt.channel).distinct().limit(30)
    return ContactPage(
        rows=await _rows(scope, raw[:PAGE_SIZE]),
        page=filters.page,
        has_next=len(raw) > PAGE_SIZE,
        kinds=sorted({str(k["kind"]) for k in kinds if k["kind"]}),
        channels=sorted({str(c["channel"]) for c in channels if c["channel"]}),
    )


async def pending_calls(scope: TenantScope, limit: int = 200) -> list[ContactRow]:
    """Contacts staff must make by phone (a stage's ``call`` or ``handoff``), oldest first."""
    raw = await (
        scope.select(ContactAttempt)
        .where(ContactAttempt.kind.is_in(list(CALL_KINDS)))
        .where(ContactAttempt.status == "planned")
        .order_by(ContactAttempt.scheduled_for)
        .order_by(ContactAttempt.id)
        .limit(limit)
    )
    return await _rows(scope, raw)


async def record_call_outcome(
    scope: TenantScope, contact_id: int, outcome: str, note: str, actor: StaffUser
) -> None:
    """Close a pending call: status ``sent`` with the outcome, a note on the customer, audited.
    Only a planned call can be closed, once (a second collector gets :class:`ContactConflict`)."""
    if outcome not in OUTCOMES:
        raise ContactError("Elige el resultado de la llamada.")
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise ContactError("La nota admite hasta 2000 caracteres.")
    if outcome == "note" and not text:
        raise ContactError("Escribe la nota.")
    rows = await scope.select(ContactAttempt).where(ContactAttempt.id == contact_id)
    if not rows or str(rows[0]["kind"]) not in CALL_KINDS:
        raise ContactNotFound("Contacto no encontrado.")
    contact = rows[0]
    now = datetime.now(UTC)
    async with transaction():
        done = await (
            scope.update(
                ContactAttempt,
                {
                    ContactAttempt.status: "sent",
                    ContactAttempt.reason: outcome,
                    ContactAttempt.channel: str(contact["channel"] or "") or "phone",
                    ContactAttempt.sent_at: now,
                    ContactAttempt.updated_at: now,
                },
            )
            .where(ContactAttempt.id == contact_id)
            .where(ContactAttempt.status == "planned")
            .returning(ContactAttempt.id)
        )
        if not done:
            raise ContactConflict("Esta llamada ya se registró.")
        body = f"Llamada de cobranza: {OUTCOMES[outcome]}."
        if text:
            body += f"\n{text}"
        note_row = CustomerNote(customer=int(contact["customer"]), author=actor.id, body=body)
        await scope.add(note_row)
        await record(
            scope,
            actor_name(actor),
            "reminders.call_recorded",
            f"customer:{contact['customer']}",
            contact=contact_id,
            outcome=outcome,
            note=int(note_row.id),
        )


# --- the customer's own history (portal) ---------------------------------------------------------


@dataclass(frozen=True)
class SentMessage:
    at: datetime
    channel: str
    subject: str
    status: str  # sent, waiting, failed, delivered, read, call


async def customer_messages(
    scope: TenantScope, customer: Customer, limit: int = 100
) -> list[SentMessage]:
    """What Recaudo sent this customer, newest first: messages addressed to their e-mail or
    phone or logged for one of their contacts, and the calls staff made them."""
    cid = int(customer.id)
    contact_ids = [
        int(r["id"])
        for r in await scope.select(ContactAttempt, ContactAttempt.id)
        .where(ContactAttempt.customer == cid)
        .order_by(ContactAttempt.id, ascending=False)
        .limit(500)
    ]
    recipients = [str(v) for v in (customer.email, customer.phone) if v]
    condition: Any = None
    if recipients:
        condition = NotificationLog.recipient.is_in(recipients)
    if contact_ids:
        by_contact = NotificationLog.contact.is_in(contact_ids)
        condition = by_contact if condition is None else (condition | by_contact)
    out: list[SentMessage] = []
    if condition is not None:
        rows = await (
            scope.select(
                NotificationLog,
                NotificationLog.channel,
                NotificationLog.subject,
                NotificationLog.status,
                NotificationLog.delivery_status,
                NotificationLog.created_at,
            )
            .where(condition)
            .order_by(NotificationLog.id, ascending=False)
            .limit(limit)
        )
        for r in rows:
            status = str(r["status"])
            if status == "sent" and r["delivery_status"] in ("delivered", "read", "failed"):
                status = str(r["delivery_status"])
            out.append(SentMessage(r["created_at"], str(r["channel"]), str(r["subject"]), status))
    calls = await (
        scope.select(ContactAttempt, ContactAttempt.sent_at)
        .where(ContactAttempt.customer == cid)
        .where(ContactAttempt.kind.is_in(list(CALL_KINDS)))
        .where(ContactAttempt.status == "sent")
        .order_by(ContactAttempt.id, ascending=False)
        .limit(limit)
    )
    out += [SentMessage(r["sent_at"], "phone", "", "call") for r in calls if r["sent_at"]]

    def when(m: SentMessage) -> datetime:
        at = m.at
        return at if at.tzinfo else at.replace(tzinfo=UTC)

    out.sort(key=when, reverse=True)
    return out[:limit]
