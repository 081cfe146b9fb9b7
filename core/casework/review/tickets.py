"""Contact-form tickets: reading, replying by e-mail, closing."""

from __future__ import annotations

from datetime import UTC, datetime

from recaudo.core.casework.review.common import (
    MAX_CHAT,
    InboxError,
    _decided,
    _get,
    _reason,
    actor,
)
from recaudo.core.common import outbox
from recaudo.core.common.audit import record
from recaudo.core.db import transaction
from recaudo.core.tables import (
    Customer,
    StaffUser,
    Ticket,
    TicketReply,
)
from recaudo.tenants.scoped import TenantScope


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
