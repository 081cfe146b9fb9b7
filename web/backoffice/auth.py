"""Staff sign-in and sign-out.

Limits (:func:`recaudo.core.access.staff.begin_login`), over the last 15 minutes: 5 failures for one
email at this tenant (a successful login starts the count again) and 20 failures from one
address across tenants. The attempt is counted atomically before the password is checked, so
concurrent attempts cannot pass the limit; while limited, the password is not even checked.
Failed attempts are also audit events (``staff.login_failed``: actor ``ip:<address>``, subject
``login:<email>``). Unknown email and wrong password get the same answer (and, through
``authenticate``, the same time).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Response, Template

from recaudo.core.access import totp
from recaudo.core.access.staff import LOGIN_WINDOW, authenticate, begin_login, login_succeeded
from recaudo.core.common.audit import record
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.backoffice.common import form_data, safe_next, staff_base
from recaudo.web.backoffice.team import second_factor
from recaudo.web.sessions import current_session, end_session, start_session
from recaudo.web.templating import render

FAILED = "staff.login_failed"
SUCCEEDED = "staff.login"
BAD_CREDENTIALS = "Correo o contraseña incorrectos."
TOO_MANY = "Demasiados intentos fallidos. Espera 15 minutos e inténtalo de nuevo."
MISSING = "Escribe tu correo y tu contraseña."
PASSWORD_CHANGED = "Listo: tu contraseña cambió. Entra con la nueva."  # noqa: S105
SIGN_IN_AGAIN = "Tu inicio de sesión venció. Escribe de nuevo tu correo y contraseña."


def client_ip(request: Request) -> str:
    """The peer address. Forwarded headers are not trusted here: a proxy must set the peer."""
    return request.client.host if request.client else "unknown"


def _subject(email: str) -> str:
    return f"login:{email}"[:100]


async def _login_page(
    request: Request, tenant: Tenant, status_code: int = 200, **context: Any
) -> Template:
    context.setdefault("next", safe_next(request, request.query_params.get("next")))
    return await render(
        request,
        "staff/login.html",
        tenant,
        status_code=status_code,
        staff_base=staff_base(request),
        **context,
    )


@get("/login", name="staff:login", operation_id="staff_login_form")
async def login_form(
    request: Request, tenant: NamedDependency[Tenant], tenant_scope: NamedDependency[TenantScope]
) -> Template | Redirect:
    if await current_session(request, tenant_scope, "staff") is not None:
        return Redirect(f"{staff_base(request)}/", status_code=303)
    query = request.query_params
    notice = PASSWORD_CHANGED if query.get("restablecida") else None
    notice = SIGN_IN_AGAIN if query.get("vencido") else notice
    return await _login_page(request, tenant, notice=notice)


@post("/login", name="staff:login_submit", operation_id="staff_login", status_code=303)
async def login(
    request: Request, tenant: NamedDependency[Tenant], tenant_scope: NamedDependency[TenantScope]
) -> Template | Redirect:
    form = await form_data(request)
    email = form.get("email", "").strip().lower()[:254]
    password = form.get("password", "")[:1024]
    target = safe_next(request, form.get("next"))
    if not email or not password:
        return await _login_page(request, tenant, 400, error=MISSING, email=email, next=target)
    ip = client_ip(request)
    attempt = await begin_login(tenant_scope, email, ip)
    if attempt is None:
        page = await _login_page(request, tenant, 429, error=TOO_MANY, email=email, next=target)
        page.headers["retry-after"] = str(int(LOGIN_WINDOW.total_seconds()))
        return page
    user = await authenticate(tenant_scope, email, password)
    if user is None:
        await record(tenant_scope, f"ip:{ip}"[:100], FAILED, _subject(email))
        return await _login_page(
            request, tenant, 401, error=BAD_CREDENTIALS, email=email, next=target
        )
    await login_succeeded(attempt)
    if await totp.enabled_for(tenant_scope, int(user.id)):
        return await second_factor(request, tenant_scope, user)  # the code, then a session
    await record(tenant_scope, f"staff:{user.id}", SUCCEEDED, _subject(email), ip=ip)
    response = Redirect(target or f"{staff_base(request)}/", status_code=303)
    await start_session(
        request,
        response,
        tenant_scope,
        "staff",
        int(user.id),
        path=staff_base(request),
        secure=request.app.state.settings.secure_cookies,
    )
    return response


@post("/logout", name="staff:logout", operation_id="staff_logout", status_code=303)
async def logout(request: Request, tenant_scope: NamedDependency[TenantScope]) -> Response[Any]:
    session = await current_session(request, tenant_scope, "staff")
    response = Redirect(f"{staff_base(request)}/login", status_code=303)
    if session is not None:
        await record(tenant_scope, f"staff:{session.subject_id}", "staff.logout")
    await end_session(request, response, tenant_scope, "staff", path=staff_base(request))
    return response


ROUTES = [login_form, login, logout]
