"""What every logged-in portal page shares: the customer dependency, the login redirect, helpers.

Pages that need a customer declare a ``customer: Customer`` parameter; the dependency raises
:class:`LoginRequired` when there is no valid session *for this tenant*, and the portal router
turns that into a redirect to the tenant's front door (an ``HX-Redirect`` for htmx requests, so a
polling fragment never swaps the front door into the page).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.response import Redirect, Response

from recaudo.core.access.links import safe_target
from recaudo.core.messaging.i18n import translations
from recaudo.core.tables import Customer
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope, as_id
from recaudo.web.sessions import current_customer
from recaudo.web.templating import request_language
from recaudo.web.tenancy import tenant_prefix


class LoginRequired(HTTPException):
    status_code = 401
    detail = "Inicia sesión para continuar"


async def provide_customer(
    request: Request, tenant: NamedDependency[Tenant], tenant_scope: NamedDependency[TenantScope]
) -> Customer:
    """The logged-in customer of this tenant, or :class:`LoginRequired`."""
    customer = await current_customer(request, tenant_scope)
    if customer is None:
        raise LoginRequired()
    return customer


def login_redirect(request: Request, exc: Exception) -> Response[Any]:
    """Send a visitor without a session to the front door, remembering the page they asked for
    (the one-time link then takes them back to it)."""
    slug = request.path_params.get("slug", "")
    prefix = "" if request.scope.get("recaudo.prefix") == "host" else f"/t/{slug}"  # type: ignore[misc]
    target = f"{prefix}/?sesion=expirada"
    if request.headers.get("hx-request") == "true":
        return Response("", status_code=200, headers={"HX-Redirect": target})
    if request.method == "GET":
        path = request.url.path.removeprefix(f"/t/{slug}") if slug else request.url.path
        query = request.url.query
        wanted = safe_target(path + (f"?{query}" if query else ""))
        if wanted and wanted != "/estado-de-cuenta":
            target += "&siguiente=" + quote(wanted, safe="")
    return Redirect(target, status_code=303)


def prefix_of(request: Request, tenant: Tenant) -> str:
    return tenant_prefix(request, tenant)


def cookie_path(request: Request, tenant: Tenant) -> str:
    return tenant_prefix(request, tenant) or "/"


def gettext(request: Request, tenant: Tenant) -> Callable[[str], str]:
    """The visitor's translation function, for messages built in Python."""
    return translations(request_language(request, tenant.locale)).gettext


def tenant_today(tenant: Tenant) -> date:
    """Due dates are the tenant's calendar days, not the server's."""
    return datetime.now(ZoneInfo(tenant.timezone)).date()


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def not_found(message: str = "No encontrado") -> NotFoundException:
    return NotFoundException(message)


def form_ids(form: FormMultiDict, name: str, limit: int = 200) -> list[int]:
    """Positive integer ids from a repeated form field; junk is ignored, duplicates dropped."""
    out: list[int] = []
    for raw in form.getall(name, [])[:limit]:
        pk = as_id(raw) if isinstance(raw, str) else None
        if pk is not None and pk not in out:
            out.append(pk)
    return out


def form_text(form: FormMultiDict, name: str, limit: int) -> str:
    value = form.get(name)
    return str(value).strip()[:limit] if isinstance(value, str) else ""


def quoted(path: str) -> str:
    return quote(path, safe="/?=&")
