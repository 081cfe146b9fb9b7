"""Live chats waiting for a staff answer, and the answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.query.functions.aggregate import Max

from recaudo.core import db
from recaudo.core.casework.review.common import (
    MAX_CHAT,
    InboxError,
    _get,
    actor,
)
from recaudo.core.common.audit import record
from recaudo.core.messaging import customer_messages
from recaudo.core.tables import (
    ChatMessage,
    Customer,
    StaffUser,
)
from recaudo.tenants.scoped import TenantScope


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
    async with db.transaction():  # the answer and its e-mail to the customer, or neither
        await scope.add(message)
        await record(
            scope, actor(user), "chat.answered", f"customer:{customer_id}", message_id=message.id
        )
        await customer_messages.chat_answered(scope, int(message.id), customer_id)
    return message
