"""Help (FAQ, contact form, live chat) and reminder preferences.

The FAQ and the contact form work without logging in: a customer who cannot get in is exactly
who needs them. The chat needs the session (messages belong to a customer); its list is polled
by htmx and only re-sent when a newer message exists.
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Response, Template

from recaudo.core.billing.customers import CHANNELS
from recaudo.core.casework.help import HelpError, chat_history, create_ticket, faq, post_chat
from recaudo.core.collections.plans import policy_of
from recaudo.core.messaging.preferences import PreferenceError, consents_of, save_consents
from recaudo.core.tables import Customer
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.portal.common import form_text, is_htmx, prefix_of
from recaudo.web.sessions import current_session
from recaudo.web.templating import render, request_language


async def optional_customer(request: Request, scope: TenantScope) -> Customer | None:
    session = await current_session(request, scope, "customer")
    return await scope.get(Customer, session.subject_id) if session else None


async def _help_page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    *,
    error: str = "",
    error_field: str = "",
    status_code: int = 200,
    form: dict[str, str] | None = None,
    sent: bool = False,
) -> Template:
    customer = await optional_customer(request, scope)
    language = request_language(request, tenant.locale)
    return await render(
        request,
        "portal/help.html",
        tenant,
        status_code=status_code,
        customer=customer,
        faq=await faq(scope, language),
        advice=policy_of(tenant.policy).advice_for(language),
        error=error,
        error_field=error_field,
        form=form or {},
        sent=sent,
    )


@get("/ayuda", name="portal:help", operation_id="portal_help")
async def help_page(
    request: Request, tenant: NamedDependency[Tenant], tenant_scope: NamedDependency[TenantScope]
) -> Template:
    return await _help_page(
        request, tenant, tenant_scope, sent=request.query_params.get("enviado") == "1"
    )


@post("/ayuda/contacto", name="portal:contact", operation_id="portal_contact")
async def contact(
    request: Request, tenant: NamedDependency[Tenant], tenant_scope: NamedDependency[TenantScope]
) -> Template | Redirect:
    form = await request.form()
    values = {k: form_text(form, k, 2000) for k in ("nombre", "contacto", "asunto", "mensaje")}
    customer = await optional_customer(request, tenant_scope)
    try:
        await create_ticket(
            tenant_scope,
            customer_id=int(customer.id) if customer else None,
            name=values["nombre"] or (customer.name if customer else ""),
            contact=values["contacto"]
            or (str(customer.email or customer.phone) if customer else ""),
            subject=values["asunto"],
            message=values["mensaje"],
        )
    except HelpError as exc:
        return await _help_page(
            request,
            tenant,
            tenant_scope,
            error=str(exc),
            error_field=exc.field,
            status_code=400,
            form=values,
        )
    return Redirect(f"{prefix_of(request, tenant)}/ayuda?enviado=1", status_code=303)


@get("/ayuda/chat", name="portal:chat", operation_id="portal_chat")
async def chat(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template | Response[bytes]:
    messages = await chat_history(tenant_scope, int(customer.id))
    last = str(messages[-1].id) if messages else "0"
    if is_htmx(request):
        if request.query_params.get("ultimo") == last:
            return Response(b"", status_code=204)
        return await render(
            request,
            "portal/_chat_log.html",
            tenant,
            customer=customer,
            messages=messages,
            last=last,
        )
    return await render(
        request,
        "portal/chat.html",
        tenant,
        customer=customer,
        messages=messages,
        last=last,
        error="",
    )


@post("/ayuda/chat", name="portal:chat_post", operation_id="portal_chat_post")
async def chat_post(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template | Redirect:
    form = await request.form()
    try:
        await post_chat(tenant_scope, int(customer.id), str(form.get("mensaje") or ""))
    except HelpError as exc:
        messages = await chat_history(tenant_scope, int(customer.id))
        return await render(
            request,
            "portal/chat.html",
            tenant,
            status_code=400,
            customer=customer,
            messages=messages,
            error=str(exc),
            error_field=exc.field,
            last=str(messages[-1].id) if messages else "0",
        )
    if is_htmx(request):
        messages = await chat_history(tenant_scope, int(customer.id))
        return await render(
            request,
            "portal/_chat_log.html",
            tenant,
            customer=customer,
            messages=messages,
            last=str(messages[-1].id),
        )
    return Redirect(f"{prefix_of(request, tenant)}/ayuda/chat#ultimo", status_code=303)


@get("/preferencias", name="portal:preferences", operation_id="portal_preferences")
async def preferences(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template:
    return await render(
        request,
        "portal/preferences.html",
        tenant,
        customer=customer,
        consents=consents_of(customer),
        channels=CHANNELS,
        error="",
    )


@post("/preferencias", name="portal:preferences_save", operation_id="portal_preferences_save")
async def preferences_save(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template | Redirect:
    form = await request.form()
    try:
        await save_consents(
            tenant_scope,
            int(customer.id),
            [str(c) for c in form.getall("canal", [])][:5],
            form_text(form, "silencio_desde", 5),
            form_text(form, "silencio_hasta", 5),
        )
    except PreferenceError as exc:
        return await render(
            request,
            "portal/preferences.html",
            tenant,
            status_code=400,
            customer=customer,
            consents=consents_of(customer),
            channels=CHANNELS,
            error=str(exc),
            error_field="silencio",  # every preference error is about the quiet hours
        )
    return Redirect(
        f"{prefix_of(request, tenant)}/estado-de-cuenta?aviso=preferencias", status_code=303
    )


ROUTES = [help_page, contact, chat, chat_post, preferences, preferences_save]
