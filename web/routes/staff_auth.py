"""Staff sign-in and sign-out.

Failed attempts are audit events (``staff.login_failed``: actor ``ip:<address>``, subject
``login:<email>``), so the limits hold across web processes and leave a trail. Limits, over the
last 15 minutes and per tenant: 5 failures for one email (a successful login starts the count
again) and 20 failures from one address. While limited, the password is not even checked.
Unknown email and wrong password get the same answer (and, through ``authenticate``, the same
time).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Response, Template

from recaudo.core.audit import record
from recaudo.core.staff import authenticate
from recaudo.core.tables import AuditEvent
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.routes.staff_common import form_data, safe_next, staff_base
from recaudo.web.sessions import current_session, end_session, start_session
from recaudo.web.templating import render

WINDOW = timedelta(minutes=15)
MAX_PER_EMAIL = 5
MAX_PER_IP = 20
FAILED = "staff.login_failed"
SUCCEEDED = "staff.login"
BAD_CREDENTIALS = "Correo o contraseña incorrectos."
TOO_MANY = "Demasiados intentos fallidos. Espera 15 minutos e inténtalo de nuevo."
MISSING = "Escribe tu correo y tu contraseña."


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def client_ip(request: Request) -> str:
    """The peer address. Forwarded headers are not trusted here: a proxy must set the peer."""
    return request.client.host if request.client else "unknown"


async def _recent(scope: TenantScope, where: Any, limit: int) -> list[dict[str, Any]]:
    return (
        await scope.select(AuditEvent, AuditEvent.action, AuditEvent.created_at)
        .where(where)
        .order_by(AuditEvent.id, ascending=False)
        .limit(limit)
    )


async def throttled(scope: TenantScope, email: str, ip: str) -> bool:
    """Whether this email or address has too many recent failures (compared in Python, so the
    same code works on SQLite's text timestamps and PostgreSQL's)."""
    since = datetime.now(UTC) - WINDOW
    by_email = await _recent(
        scope,
        (AuditEvent.subject == _subject(email)) & AuditEvent.action.is_in([FAILED, SUCCEEDED]),
        MAX_PER_EMAIL,
    )
    failures = 0
    for event in by_email:
        if event["action"] == SUCCEEDED or _aware(event["created_at"]) < since:
            break
        failures += 1
    if failures >= MAX_PER_EMAIL:
        return True
    by_ip = await _recent(
        scope, (AuditEvent.actor == f"ip:{ip}"[:100]) & (AuditEvent.action == FAILED), MAX_PER_IP
    )
    return sum(1 for e in by_ip if _aware(e["created_at"]) >= since) >= MAX_PER_IP


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
    return await _login_page(request, tenant)


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
    if await throttled(tenant_scope, email, ip):
        page = await _login_page(request, tenant, 429, error=TOO_MANY, email=email, next=target)
        page.headers["retry-after"] = str(int(WINDOW.total_seconds()))
        return page
    user = await authenticate(tenant_scope, email, password)
    if user is None:
        await record(tenant_scope, f"ip:{ip}"[:100], FAILED, _subject(email))
        return await _login_page(
            request, tenant, 401, error=BAD_CREDENTIALS, email=email, next=target
        )
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
