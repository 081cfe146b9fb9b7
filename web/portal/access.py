"""The front door: ask for a one-time link, confirm it with a POST, log out.

``POST /acceso`` answers the same page whether or not the contact matches a customer (the email,
if any, is sent after the response, so timing says little either). ``GET /acceso/<token>`` only
shows a button: link scanners in mail systems fetch links, and must not log anyone in or burn the
link. The button's POST consumes the link once and starts a fresh session.
"""

from __future__ import annotations

import logging

from litestar import Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.access import links as access
from recaudo.core.messaging.i18n import LANGUAGES, formatter_for, translations
from recaudo.core.messaging.notify import send_to_customer
from recaudo.core.platform.values import OutgoingMessage
from recaudo.core.tables import Customer
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.deps import settings_of
from recaudo.web.portal.common import client_ip, cookie_path, form_text, prefix_of
from recaudo.web.sessions import end_session, start_session
from recaudo.web.templating import render, request_language, tenant_look
from recaudo.web.tenancy import portal_base

log = logging.getLogger(__name__)


def _language(customer: Customer, fallback: str) -> str:
    preferred = str(customer.locale or "").split("_")[0]
    return preferred if preferred in LANGUAGES else fallback


async def send_login_link(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    customer: Customer,
    token: str,
    language: str,
    prefer: tuple[str, ...] = (),
) -> None:
    """Render the login message in the customer's language and send it (runs after the response)."""
    settings = settings_of(request)
    info, branding = await tenant_look(tenant)
    link = f"{portal_base(request, tenant)}/acceso/{token}"
    trans = translations(language)
    env = request.app.template_engine.engine  # type: ignore[union-attr]
    context = {
        "_": trans.gettext,
        "tenant": info,
        "branding": branding,
        "customer": customer,
        "link": link,
        "minutes": int(access.LINK_TTL.total_seconds() // 60),
        "fmt": formatter_for(language, tenant.locale, tenant.timezone),
    }
    text = env.get_template("email/login_link.txt").render(context)
    html = env.get_template("email/login_link.html").render(context)
    name = branding.display_name
    subject = trans.gettext("Tu enlace de acceso a %(name)s") % {"name": name}
    await send_to_customer(
        scope,
        info,
        customer,
        OutgoingMessage(to="", subject=subject, text=text, html=html, kind="login_link"),
        secret_key=settings.secret_key,
        secrets=[token],
        keep_secrets_in_log=settings.dev_outbox,
        prefer=prefer,
    )


@post("/acceso", name="portal:access_request", operation_id="portal_access_request")
async def access_request(
    request: Request, tenant: NamedDependency[Tenant], tenant_scope: NamedDependency[TenantScope]
) -> Template:
    form = await request.form()
    contact = form_text(form, "contact", 254)
    if not contact:
        return await render(
            request,
            "portal/home.html",
            tenant,
            status_code=400,
            error="Escribe tu correo, teléfono o número de cliente.",
            error_field="contact",
            next_page=_next(form),
        )
    ip = client_ip(request)
    if not await access.admit_request(tenant_scope, contact, ip):
        return await render(
            request, "portal/access_sent.html", tenant, status_code=429, limited=True
        )
    await access.record_request(tenant_scope, contact, ip)
    customer = await access.find_customer(tenant_scope, contact)
    response = await render(request, "portal/access_sent.html", tenant, limited=False)
    if customer is not None:
        token = await access.issue_link(tenant_scope, int(customer.id), _next(form))
        language = _language(customer, request_language(request, tenant.locale))
        # Answer on the kind of contact the person typed, when the tenant has such a channel.
        prefer = ("email",) if "@" in contact else ("whatsapp", "sms")
        response.background = BackgroundTask(
            send_login_link, request, tenant, tenant_scope, customer, token, language, prefer
        )
    return response


def _next(form: object) -> str:
    value = getattr(form, "get", lambda _k: None)("next")
    return access.safe_target(value) if isinstance(value, str) else ""


@get("/acceso/{token:str}", name="portal:access_confirm", operation_id="portal_access_confirm")
async def access_confirm(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    token: FromPath[str],
) -> Template:
    info = await access.inspect_link(tenant_scope, token)
    if info.state != "valid":
        return await render(
            request,
            "portal/access_invalid.html",
            tenant,
            status_code=410,
            state=info.state,
            target=access.safe_target(info.target),
        )
    return await render(request, "portal/access_confirm.html", tenant, token=token)


@post("/acceso/{token:str}", name="portal:access_login", operation_id="portal_access_login")
async def access_login(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    token: FromPath[str],
) -> Template | Redirect:
    info = await access.consume_link(tenant_scope, token)
    if info.state != "valid":
        return await render(
            request,
            "portal/access_invalid.html",
            tenant,
            status_code=410,
            state=info.state,
            target=access.safe_target(info.target),
        )
    prefix = prefix_of(request, tenant)
    response = Redirect(
        prefix + (access.safe_target(info.target) or "/estado-de-cuenta"), status_code=303
    )
    await start_session(
        request,
        response,
        tenant_scope,
        "customer",
        info.customer_id,
        path=cookie_path(request, tenant),
        secure=settings_of(request).secure_cookies,
    )
    return response


@post("/salir", name="portal:logout", operation_id="portal_logout")
async def logout(
    request: Request, tenant: NamedDependency[Tenant], tenant_scope: NamedDependency[TenantScope]
) -> Redirect:
    response = Redirect(prefix_of(request, tenant) + "/", status_code=303)
    path = cookie_path(request, tenant)
    await end_session(request, response, tenant_scope, "customer", path=path)
    return response


ROUTES = [access_request, access_confirm, access_login, logout]
