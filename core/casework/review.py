"""The staff inbox: what a tenant's back office must answer or decide, and the decisions.

Every function takes the tenant's :class:`TenantScope`, so an id from another tenant is simply
"not found"; every decision is written to the audit trail with the acting staff user. Messages
of the exceptions are Spanish source strings (the web layer translates them) and never carry
data, so they can be shown as they are.

Decisions the issue left open, taken here:

* **Disputes.** *Rejecting* clears ``Invoice.disputed`` (unless another dispute of the invoice is
  still open), so reminders resume. *Accepting* keeps the invoice out of reminders: the customer
  is right, and the correction (void, credit note) is an invoice operation of the back office.
* **Proofs.** Confirming records an approved ``banktransfer`` payment with reference
  ``proof:<id>`` through the ledger (idempotent on that reference) inside one transaction that
  locks the proof, so a double click applies the money once. The ledger applies it to the invoices
  the proof names and keeps any excess as credit; named invoices that are no longer payable (paid
  meanwhile) are left out, and when none is left the money goes oldest-first.
* **"No puedo pagar".** Requests waiting for staff are the open ones with outcome ``review``;
  plans waiting are those with status ``review``. A decision on a request applies to the plan it
  carries, and a decision on a plan to the open requests that carry it. Approving a request
  either grants a plan (``approve_plan``: created within the tenant's limits, exactly as if the
  customer had accepted it, and linked to the request) or records the agreement alone
  (``approve``). Every decision tells the customer, with the staff member's note as the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from piccolo.query.functions.aggregate import Max

from recaudo.core.collections.plans import PlanError, PlanPolicy, create_plan, sync_plans
from recaudo.core.common import outbox
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.db import transaction
from recaudo.core.payments.ledger import PaymentError, record_staff_payment
from recaudo.core.tables import (
    ChatMessage,
    Customer,
    Dispute,
    HardshipRequest,
    Invoice,
    PaymentPlan,
    PaymentProof,
    PlanInstallment,
    StaffUser,
    Ticket,
    TicketReply,
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


# --- counts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    chats: int
    tickets: int
    disputes: int
    proofs: int
    hardship: int

    @property
    def total(self) -> int:
        return self.chats + self.tickets + self.disputes + self.proofs + self.hardship


async def counts(scope: TenantScope) -> Counts:
    hardship = await scope.count(HardshipRequest).where(
        (HardshipRequest.status == "open") & (HardshipRequest.outcome == "review")
    )
    plans = await scope.count(PaymentPlan).where(PaymentPlan.status == "review")
    return Counts(
        chats=len(await chats_to_answer(scope)),
        tickets=await scope.count(Ticket).where(Ticket.status == "open"),
        disputes=await scope.count(Dispute).where(Dispute.status == "open"),
        proofs=await scope.count(PaymentProof).where(PaymentProof.status == "pending"),
        hardship=hardship + plans,
    )


# --- chats --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatThread:
    customer_id: int
    customer_name: str
    customer_number: str
    last_body: str
    last_at: datetime


async def chats_to_answer(scope: TenantScope) -> list[ChatThread]:
    """Conversations whose last message is the customer's, oldest waiting first."""
    latest = await scope.select(
        ChatMessage, ChatMessage.customer, Max(ChatMessage.id, alias="last_id")
    ).group_by(ChatMessage.customer)
    ids = [int(r["last_id"]) for r in latest if r["last_id"] is not None]
    if not ids:
        return []
    rows = (
        await scope.select(
            ChatMessage,
            ChatMessage.customer,
            ChatMessage.customer.name.as_alias("customer_name"),
            ChatMessage.customer.number.as_alias("customer_number"),
            ChatMessage.body,
            ChatMessage.created_at,
        )
        .where(ChatMessage.id.is_in(ids), ChatMessage.sender == "customer")
        .order_by(ChatMessage.id)
    )
    return [
        ChatThread(
            int(r["customer"]), r["customer_name"], r["customer_number"], r["body"], r["created_at"]
        )
        for r in rows
    ]


async def chat_customer(scope: TenantScope, customer_id: int) -> Customer:
    return await _get(scope, Customer, customer_id, "Cliente no encontrado.")


async def chat_messages(scope: TenantScope, customer_id: int, limit: int = 200) -> list[Any]:
    """The last ``limit`` messages of a conversation, oldest first."""
    rows = (
        await scope.objects(ChatMessage)
        .where(ChatMessage.customer == customer_id)
        .order_by(ChatMessage.id, ascending=False)
        .limit(limit)
    )
    return list(reversed(rows))


async def answer_chat(
    scope: TenantScope, user: StaffUser, customer_id: int, body: str | None
) -> ChatMessage:
    await chat_customer(scope, customer_id)
    text = (body or "").strip()
    if not text:
        raise InboxError("Escribe una respuesta.")
    if len(text) > MAX_CHAT:
        raise InboxError("El mensaje es demasiado largo (máximo 2000 caracteres).")
    message = ChatMessage(customer=customer_id, sender="staff", staff=user.id, body=text)
    await scope.add(message)
    await record(
        scope, actor(user), "chat.answered", f"customer:{customer_id}", message_id=message.id
    )
    return message


# --- tickets ------------------------------------------------------------------------------------


async def open_tickets(scope: TenantScope) -> list[Ticket]:
    return await scope.objects(Ticket).where(Ticket.status == "open").order_by(Ticket.id)


async def ticket(scope: TenantScope, ticket_id: int) -> Ticket:
    return await _get(scope, Ticket, ticket_id, "Ticket no encontrado.")


async def close_ticket(
    scope: TenantScope, user: StaffUser, ticket_id: int, note: str = ""
) -> Ticket:
    row = await ticket(scope, ticket_id)
    note = _reason(note, required=False)
    if row.status != "closed":
        await scope.update(Ticket, {Ticket.status: "closed", **_decided(Ticket, user, note)}).where(
            Ticket.id == row.id
        )
        row.status = "closed"
        await record(scope, actor(user), "ticket.closed", f"ticket:{row.id}", note=note)
    return row


def reply_address(row: Ticket, customer: Customer | None) -> str:
    """Where a reply to the ticket goes: the e-mail the visitor typed, else their customer's."""
    contact = str(row.contact or "").strip()
    if "@" in contact and " " not in contact and len(contact) <= 254:
        return contact
    return str(customer.email or "").strip() if customer is not None else ""


async def ticket_replies(scope: TenantScope, ticket_id: int) -> list[TicketReply]:
    return (
        await scope.objects(TicketReply)
        .where(TicketReply.ticket == ticket_id)
        .order_by(TicketReply.id)
    )


async def reply_ticket(
    scope: TenantScope, user: StaffUser, ticket_id: int, body: str | None
) -> TicketReply:
    """Record a reply on the ticket and queue its e-mail with it (outbox: sent by a worker)."""
    row = await ticket(scope, ticket_id)
    text = (body or "").strip()
    if not text:
        raise InboxError("Escribe una respuesta.")
    if len(text) > MAX_CHAT:
        raise InboxError("El mensaje es demasiado largo (máximo 2000 caracteres).")
    customer = await scope.get(Customer, int(row.customer)) if row.customer else None
    recipient = reply_address(row, customer)
    if not recipient:
        raise InboxError("Este mensaje no tiene un correo al que responder.")
    async with transaction():
        reply = TicketReply(
            ticket=row.id,
            staff=user.id,
            body=text,
            recipient=recipient,
            status="queued",
            created_at=datetime.now(UTC),
        )
        await scope.add(reply)
        await record(
            scope,
            actor(user),
            "ticket.replied",
            f"ticket:{row.id}",
            reply_id=int(reply.id),
            recipient=recipient,
        )
        await outbox.enqueue(
            scope, "reply_ticket", {"id": int(reply.id)}, key=f"ticket_reply:{reply.id}"
        )
    return reply


# --- disputes -----------------------------------------------------------------------------------

DISPUTE_DECISIONS = {"accept": "accepted", "reject": "rejected"}


async def open_disputes(scope: TenantScope) -> list[dict[str, Any]]:
    return (
        await scope.select(
            Dispute,
            Dispute.id,
            Dispute.reason,
            Dispute.message,
            Dispute.created_at,
            Dispute.customer.name.as_alias("customer_name"),
            Dispute.invoice.number.as_alias("invoice_number"),
            Dispute.invoice.total.as_alias("invoice_total"),
            Dispute.invoice.currency.as_alias("invoice_currency"),
        )
        .where(Dispute.status == "open")
        .order_by(Dispute.id)
    )


async def dispute(scope: TenantScope, dispute_id: int) -> tuple[Dispute, Invoice, Customer]:
    row = await _get(scope, Dispute, dispute_id, "Disputa no encontrada.")
    invoice = await _get(scope, Invoice, int(row.invoice), "Factura no encontrada.")
    customer = await _get(scope, Customer, int(row.customer), "Cliente no encontrado.")
    return row, invoice, customer


async def resolve_dispute(
    scope: TenantScope, user: StaffUser, dispute_id: int, decision: str | None, reason: str | None
) -> Dispute:
    """Accept or reject a dispute (see the module docstring for what each does to the invoice)."""
    if decision not in DISPUTE_DECISIONS:
        raise InboxError("Elige aceptar o rechazar.")
    status = DISPUTE_DECISIONS[decision]
    text = _reason(reason, required=decision == "reject")
    row, invoice, _customer = await dispute(scope, dispute_id)
    if row.status == status:
        return row
    if row.status != "open":
        raise Conflict("Esta disputa ya fue resuelta.")
    async with transaction():
        decided = {Dispute.status: status, **_decided(Dispute, user, text)}
        await scope.update(Dispute, decided).where(Dispute.id == row.id)
        if status == "rejected":
            others = await scope.exists(Dispute).where(
                (Dispute.invoice == invoice.id) & (Dispute.status == "open")
            )
            if not others:
                await scope.update(Invoice, {Invoice.disputed: False}).where(
                    Invoice.id == invoice.id
                )
        await record(
            scope,
            actor(user),
            f"dispute.{status}",
            f"dispute:{row.id}",
            invoice_id=int(invoice.id),
            reason=text,
        )
        await _tell_customer(scope, "dispute", int(row.id))
    row.status = status
    return row


# --- proofs of payment --------------------------------------------------------------------------


async def pending_proofs(scope: TenantScope) -> list[dict[str, Any]]:
    return (
        await scope.select(
            PaymentProof,
            PaymentProof.id,
            PaymentProof.amount,
            PaymentProof.currency,
            PaymentProof.filename,
            PaymentProof.created_at,
            PaymentProof.customer.name.as_alias("customer_name"),
            PaymentProof.customer.number.as_alias("customer_number"),
        )
        .where(PaymentProof.status == "pending")
        .order_by(PaymentProof.id)
    )


async def proof(scope: TenantScope, proof_id: int) -> PaymentProof:
    return await _get(scope, PaymentProof, proof_id, "Comprobante no encontrado.")


async def proof_invoices(scope: TenantScope, row: PaymentProof) -> list[Invoice]:
    ids = [i for i in loads(row.invoice_ids, []) if isinstance(i, int) and not isinstance(i, bool)]
    if not ids:
        return []
    return (
        await scope.objects(Invoice)
        .where(Invoice.id.is_in(ids), Invoice.customer == row.customer)
        .order_by(Invoice.due_date)
    )


async def confirm_proof(
    scope: TenantScope, user: StaffUser, proof_id: int, amount: int | None = None
) -> PaymentProof:
    """Record the proof's money as an approved payment, exactly once, and link it.

    ``amount`` is what staff saw arrive when it differs from what the customer typed: the
    payment is recorded for it, the proof keeps the declared amount and the audit has both.
    """
    _valid_id(proof_id, "Comprobante no encontrado.")
    if amount is not None and not 0 < amount <= MAX_AMOUNT:
        raise InboxError("El monto confirmado debe ser mayor que cero.")
    async with transaction():
        row = await _locked(scope.objects(PaymentProof).where(PaymentProof.id == proof_id)).first()
        if row is None:
            raise NotFound("Comprobante no encontrado.")
        if row.status == "confirmed":
            return row
        if row.status != "pending":
            raise Conflict("Este comprobante ya fue rechazado.")
        named = await proof_invoices(scope, row)
        if any(i.currency != row.currency for i in named):
            raise InboxError("La moneda del comprobante no coincide con la de sus facturas.")
        payable = [int(i.id) for i in named if i.status in PAYABLE and i.balance > 0]
        confirmed = int(row.amount) if amount is None else amount
        try:
            payment = await record_staff_payment(
                scope,
                customer_id=int(row.customer),
                currency=str(row.currency),
                amount=confirmed,
                method=PROOF_METHOD,
                reference=f"proof:{row.id}",
                invoice_ids=payable,
            )
        except PaymentError:
            raise InboxError("No se pudo registrar el pago de este comprobante.") from None
        await scope.update(
            PaymentProof,
            {
                PaymentProof.status: "confirmed",
                PaymentProof.payment: payment.id,
                **_decided(PaymentProof, user, "", PaymentProof.decision_reason),
            },
        ).where(PaymentProof.id == row.id)
        await record(
            scope,
            actor(user),
            "proof.confirmed",
            f"payment_proof:{row.id}",
            payment_id=int(payment.id),
            amount=confirmed,
            declared_amount=int(row.amount),
            corrected=confirmed != int(row.amount),
            currency=str(row.currency),
        )
        await _tell_customer(scope, "proof", int(row.id))
    row.status, row.payment = "confirmed", payment.id
    return row


async def reject_proof(
    scope: TenantScope, user: StaffUser, proof_id: int, reason: str | None
) -> PaymentProof:
    text = _reason(reason)
    _valid_id(proof_id, "Comprobante no encontrado.")
    async with transaction():
        row = await _locked(scope.objects(PaymentProof).where(PaymentProof.id == proof_id)).first()
        if row is None:
            raise NotFound("Comprobante no encontrado.")
        if row.status == "rejected":
            return row
        if row.status != "pending":
            raise Conflict("Este comprobante ya fue confirmado.")
        await scope.update(
            PaymentProof,
            {
                PaymentProof.status: "rejected",
                **_decided(PaymentProof, user, text, PaymentProof.decision_reason),
            },
        ).where(PaymentProof.id == row.id)
        await record(scope, actor(user), "proof.rejected", f"payment_proof:{row.id}", reason=text)
        await _tell_customer(scope, "proof", int(row.id))
    row.status, row.decision_reason = "rejected", text
    return row


# --- "No puedo pagar" ---------------------------------------------------------------------------

REVIEW_DECISIONS = {"approve": "approved", "approve_plan": "approved", "decline": "declined"}


@dataclass(frozen=True)
class PlanTerms:
    """The plan staff grant when approving a request: checked against the tenant's policy."""

    installments: int
    down_payment: int
    today: date
    policy: PlanPolicy


async def hardship_to_review(scope: TenantScope) -> list[dict[str, Any]]:
    return (
        await scope.select(
            HardshipRequest,
            HardshipRequest.id,
            HardshipRequest.reason,
            HardshipRequest.message,
            HardshipRequest.promise_date,
            HardshipRequest.created_at,
            HardshipRequest.customer.name.as_alias("customer_name"),
        )
        .where((HardshipRequest.status == "open") & (HardshipRequest.outcome == "review"))
        .order_by(HardshipRequest.id)
    )


async def plans_to_review(scope: TenantScope) -> list[dict[str, Any]]:
    return (
        await scope.select(
            PaymentPlan,
            PaymentPlan.id,
            PaymentPlan.total,
            PaymentPlan.currency,
            PaymentPlan.installments_count,
            PaymentPlan.down_payment,
            PaymentPlan.reason,
            PaymentPlan.created_at,
            PaymentPlan.customer.name.as_alias("customer_name"),
        )
        .where(PaymentPlan.status == "review")
        .order_by(PaymentPlan.id)
    )


async def hardship(scope: TenantScope, request_id: int) -> tuple[HardshipRequest, Customer]:
    row = await _get(scope, HardshipRequest, request_id, "Solicitud no encontrada.")
    customer = await _get(scope, Customer, int(row.customer), "Cliente no encontrado.")
    return row, customer


async def plan(scope: TenantScope, plan_id: int) -> tuple[PaymentPlan, Customer, list[Any]]:
    row = await _get(scope, PaymentPlan, plan_id, "Plan no encontrado.")
    customer = await _get(scope, Customer, int(row.customer), "Cliente no encontrado.")
    if row.status == "active":
        await sync_plans(scope, int(customer.id))  # what each installment has received so far
        row = await _get(scope, PaymentPlan, plan_id, "Plan no encontrado.")
    installments = (
        await scope.objects(PlanInstallment)
        .where(PlanInstallment.plan == row.id)
        .order_by(PlanInstallment.number)
    )
    return row, customer, installments


def _decision(value: str | None) -> str:
    if value not in REVIEW_DECISIONS:
        raise InboxError("Elige aprobar o rechazar.")
    return REVIEW_DECISIONS[value]


async def _decide_plan(scope: TenantScope, row: PaymentPlan, status: str) -> None:
    """Approve (activate, mark its invoices) or decline (cancel, release them) a plan."""
    if status == "approved":
        await scope.update(PaymentPlan, {PaymentPlan.status: "active"}).where(
            PaymentPlan.id == row.id
        )
        ids = [i for i in loads(row.invoice_ids, []) if isinstance(i, int)]
        if ids:
            await scope.update(Invoice, {Invoice.plan_id: row.id}).where(
                Invoice.id.is_in(ids)
                & (Invoice.customer == row.customer)
                & Invoice.plan_id.is_null()
            )
    else:
        await scope.update(PaymentPlan, {PaymentPlan.status: "cancelled"}).where(
            PaymentPlan.id == row.id
        )
        await scope.update(Invoice, {Invoice.plan_id: None}).where(Invoice.plan_id == row.id)
        await scope.update(PlanInstallment, {PlanInstallment.status: "cancelled"}).where(
            (PlanInstallment.plan == row.id) & (PlanInstallment.status == "open")
        )


async def review_hardship(
    scope: TenantScope,
    user: StaffUser,
    request_id: int,
    decision: str | None,
    note: str | None,
    terms: PlanTerms | None = None,
) -> HardshipRequest:
    """Decide a request; ``approve_plan`` with ``terms`` grants the customer a plan."""
    status = _decision(decision)
    text = _reason(note, required=False)
    if decision == "approve_plan" and terms is None:
        raise InboxError("Indica el enganche y las cuotas del plan.")
    row, _customer = await hardship(scope, request_id)
    if row.status == status:
        return row
    if row.status != "open":
        raise Conflict("Esta solicitud ya fue revisada.")
    granted: int | None = None
    async with transaction():
        if decision == "approve_plan" and terms is not None and row.plan is None:
            try:
                plan_row = await create_plan(
                    scope,
                    int(row.customer),
                    terms.today,
                    terms.policy,
                    installments=terms.installments,
                    down_payment=terms.down_payment,
                    reason=str(row.reason),
                )
            except PlanError as exc:
                raise InboxError(str(exc)) from None
            granted = int(plan_row.id)
        changes: dict[Any, Any] = {
            HardshipRequest.status: status,
            **_decided(HardshipRequest, user, text),
        }
        if granted is not None:
            changes[HardshipRequest.plan] = granted
        await scope.update(HardshipRequest, changes).where(HardshipRequest.id == row.id)
        if row.plan is not None:
            linked = await scope.get(PaymentPlan, row.plan)
            if linked is not None and linked.status == "review":
                await _decide_plan(scope, linked, status)
        await record(
            scope,
            actor(user),
            f"hardship.{status}",
            f"hardship_request:{row.id}",
            note=text,
            plan_id=granted,
        )
        await _tell_customer(scope, "hardship", int(row.id))
    row.status = status
    if granted is not None:
        row.plan = granted
    return row


async def review_plan(
    scope: TenantScope, user: StaffUser, plan_id: int, decision: str | None, note: str | None
) -> PaymentPlan:
    status = _decision(decision)
    text = _reason(note, required=False)
    row, _customer, _installments = await plan(scope, plan_id)
    target = "active" if status == "approved" else "cancelled"
    if row.status == target:
        return row
    if row.status != "review":
        raise Conflict("Este plan ya fue revisado.")
    async with transaction():
        await _decide_plan(scope, row, status)
        await scope.update(
            HardshipRequest,
            {HardshipRequest.status: status, **_decided(HardshipRequest, user, text)},
        ).where((HardshipRequest.plan == row.id) & (HardshipRequest.status == "open"))
        await record(scope, actor(user), f"plan.{status}", f"payment_plan:{row.id}", note=text)
        await _tell_customer(scope, "plan", int(row.id))
    row.status = target
    return row
