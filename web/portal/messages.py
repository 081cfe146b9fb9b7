"""The customer's own message history (*Mensajes*): what Recaudo sent them — reminders, receipts,
sign-in links, calls from staff — with date, channel, subject and status. Only their own
(:func:`recaudo.core.collections.contact_log.customer_messages` reads by their customer id and
addresses, scoped to the tenant); reached from the notice preferences page.
"""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from recaudo.core.collections.contact_log import customer_messages
from recaudo.core.tables import Customer
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.templating import render


@get("/mensajes", name="portal:messages", operation_id="portal_messages")
async def messages_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template:
    return await render(
        request,
        "portal/messages.html",
        tenant,
        customer=customer,
        messages=await customer_messages(tenant_scope, customer),
    )


ROUTES = [messages_page]
