"""Help for customers: the tenant's FAQ, contact-form tickets and the live chat.

Chat messages live in the database, so a customer on one web process and a staff member on
another see the same conversation; the portal polls for messages newer than the last one shown.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from recaudo.core.tables import ChatMessage, FaqEntry, Ticket
from recaudo.tenants.scoped import TenantScope

MAX_BODY = 2000
MAX_TICKETS_PER_CONTACT_PER_HOUR = 5
_EMAIL_OR_PHONE = re.compile(r"^([^@\s]+@[^@\s]+\.[^@\s]+|\+?[0-9 ()-]{7,20})$")


class HelpError(ValueError):
    """Input we cannot accept; the message (Spanish source text) is shown to the customer, next to
    ``field`` (the form field's name) when one field is to blame."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


async def faq(scope: TenantScope, language: str) -> list[FaqEntry]:
    """The tenant's FAQ in the visitor's language, or in Spanish when it has none in theirs."""
    rows = await scope.objects(FaqEntry).order_by(FaqEntry.position, FaqEntry.id)
    mine = [r for r in rows if str(r.locale or "es").split("_")[0] == language]
    return mine or [r for r in rows if str(r.locale or "es").startswith("es")]


def _text(value: str, limit: int, message: str, field: str = "") -> str:
    value = (value or "").strip()
    if not value or len(value) > limit:
        raise HelpError(message, field)
    return value


async def create_ticket(
    scope: TenantScope,
    *,
    customer_id: int | None,
    name: str,
    contact: str,
    subject: str,
    message: str,
) -> Ticket:
    """A contact-form message for the tenant's staff; anonymous ones need a way to answer."""
    subject = _text(subject, 200, "Escribe un asunto (máximo 200 caracteres).", "asunto")
    message = _text(message, MAX_BODY, "Escribe tu mensaje (máximo 2000 caracteres).", "mensaje")
    name = (name or "").strip()[:200]
    contact = (contact or "").strip()[:254]
    if customer_id is None:
        if not name:
            raise HelpError("Escribe tu nombre.", "nombre")
        if not _EMAIL_OR_PHONE.match(contact):
            raise HelpError("Escribe un correo o teléfono para responderte.", "contacto")
        since = datetime.now(UTC) - timedelta(hours=1)
        recent = await scope.count(Ticket).where(
            Ticket.contact == contact, Ticket.created_at > since
        )
        if recent >= MAX_TICKETS_PER_CONTACT_PER_HOUR:
            raise HelpError("Ya recibimos varios mensajes tuyos. Te responderemos pronto.")
    ticket = Ticket(
        customer=customer_id,
        name=name,
        contact=contact,
        subject=subject,
        message=message,
        status="open",
        created_at=datetime.now(UTC),
    )
    await scope.add(ticket)
    return ticket


async def post_chat(scope: TenantScope, customer_id: int, body: str) -> ChatMessage:
    body = _text(body, MAX_BODY, "Escribe tu mensaje (máximo 2000 caracteres).", "mensaje")
    message = ChatMessage(
        customer=customer_id, sender="customer", body=body, created_at=datetime.now(UTC)
    )
    await scope.add(message)
    return message


async def chat_history(scope: TenantScope, customer_id: int, limit: int = 100) -> list[ChatMessage]:
    rows = await (
        scope.objects(ChatMessage)
        .where(ChatMessage.customer == customer_id)
        .order_by(ChatMessage.id, ascending=False)
        .limit(limit)
    )
    return list(reversed(rows))
