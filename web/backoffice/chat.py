"""Live chat, staff side: a conversation page, its polled message list and the answer form.

Messages live in the database (``ChatMessage``), so an answer written through one web process is
seen by the customer polling another. With htmx the answer form swaps the conversation panel in
place; without it the form posts and the browser is sent back to the conversation.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from recaudo.core.casework import review as inbox
from recaudo.core.tables import StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope, as_id
from recaudo.web.backoffice.common import form_data, staff_base, staff_page


async def _conversation(scope: TenantScope, customer_id: int) -> dict[str, Any]:
    customer = await inbox.chat_customer(scope, customer_id)
    return {"customer": customer, "messages": await inbox.chat_messages(scope, customer_id)}


@get("/chats/{customer_id:int}", name="staff:chat", operation_id="staff_chat")
async def chat_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    customer_id: FromPath[int],
) -> Template:
    context = await _conversation(tenant_scope, customer_id)
    return await staff_page(request, "staff/chat.html", tenant, staff, **context)


@get(
    "/chats/{customer_id:int}/messages",
    name="staff:chat_messages",
    operation_id="staff_chat_messages",
)
async def chat_messages(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    customer_id: FromPath[int],
) -> Template | Response[None]:
    """The message list alone, polled by htmx every few seconds.

    ``after`` is the newest message id the page shows; while nothing newer exists the answer is
    204, which htmx leaves alone, so the list only re-renders (and scrolls) for news.
    """
    context = await _conversation(tenant_scope, customer_id)
    messages = context["messages"]
    after = as_id(request.query_params.get("after", ""))
    if after is not None and messages and int(messages[-1].id) <= after:
        return Response(None, status_code=204, headers={"cache-control": "no-store"})
    response = await staff_page(request, "staff/_chat_messages.html", tenant, staff, **context)
    response.headers["cache-control"] = "no-store"
    return response


@post("/chats/{customer_id:int}", name="staff:chat_answer", operation_id="staff_chat_answer")
async def chat_answer(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    customer_id: FromPath[int],
) -> Template | Redirect:
    form = await form_data(request)
    await inbox.answer_chat(tenant_scope, acting_staff, customer_id, form.get("body"))
    if request.headers.get("hx-request") == "true":
        context = await _conversation(tenant_scope, customer_id)
        return await staff_page(request, "staff/_chat_panel.html", tenant, acting_staff, **context)
    return Redirect(f"{staff_base(request)}/chats/{customer_id}#ultimo", status_code=303)


ROUTES = [chat_page, chat_messages, chat_answer]
