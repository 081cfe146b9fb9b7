"""What every back-office page shares: who is signed in, who may act, and how errors look.

Handlers ask for ``staff`` (any signed-in staff user) or ``acting_staff`` (owner or collector) as
dependencies; both are resolved before the handler body runs, so a route cannot forget the check
it declared. Errors of the staff area are rendered as a small HTML page for browsers (also for
POSTs, unlike the app-wide handler) and as JSON otherwise.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.response import Redirect, Response, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_404_NOT_FOUND, HTTP_409_CONFLICT

from recaudo.core.access.staff import can_act
from recaudo.core.casework import review as inbox
from recaudo.core.messaging.i18n import LANGUAGES, formatter_for, translations
from recaudo.core.tables import StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.sessions import current_session
from recaudo.web.templating import LANG_COOKIE, render
from recaudo.web.tenancy import PREFIX_KEY

VIEWER_DENIED = (
    "Tu rol es de solo lectura: no puedes hacer cambios. Pide acceso a un administrador."
)
OWNER_ONLY = "Solo un administrador (owner) de la cuenta puede cambiar esto."


class LoginRequired(Exception):
    """No valid staff session for this tenant; answered with a redirect to the login page."""


class EnrollmentRequired(Exception):
    """An owner must switch on 2FA (tenant policy) before anything else: sent to do it."""


# What an owner who must enrol in 2FA may still reach: the enrolment itself and "Salir".
ENROLL_PATHS = ("/cuenta/seguridad", "/logout")


def staff_base(request: Request) -> str:
    """``/t/<slug>/staff`` (or ``/staff`` on the tenant's own host): links and the cookie path."""
    if request.scope.get(PREFIX_KEY) == "host":  # type: ignore[misc]
        return "/staff"
    return f"/t/{request.path_params.get('slug', '')}/staff"


async def provide_staff(request: Request, tenant_scope: NamedDependency[TenantScope]) -> StaffUser:
    session = await current_session(request, tenant_scope, "staff")
    if session is None:
        raise LoginRequired
    user = await tenant_scope.get(StaffUser, session.subject_id)
    if user is None or not user.active:
        raise LoginRequired
    if str(user.role) == "owner":
        from recaudo.core.access.totp import must_enroll

        rest = request.url.path[len(staff_base(request)) :]
        if not rest.startswith(ENROLL_PATHS) and await must_enroll(tenant_scope, user):
            raise EnrollmentRequired
    return user


async def provide_acting_staff(staff: NamedDependency[StaffUser]) -> StaffUser:
    """Staff allowed to change things; viewers get a 403 before the handler runs."""
    if not can_act(str(staff.role)):
        raise PermissionDeniedException(VIEWER_DENIED)
    return staff


async def provide_owner_staff(staff: NamedDependency[StaffUser]) -> StaffUser:
    """Owners only (settings, team, API keys, webhooks); others get a 403 before the handler."""
    if str(staff.role) != "owner":
        raise PermissionDeniedException(OWNER_ONLY)
    return staff


async def staff_page(
    request: Request,
    template: str,
    tenant: Tenant,
    staff: StaffUser,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """Render a back-office page with the signed-in user and the area's base path."""
    from recaudo.web.backoffice.einvoices import nav_einvoicing

    return await render(
        request,
        template,
        tenant,
        status_code=status_code,
        staff=staff,
        can_act=can_act(str(staff.role)),
        staff_base=staff_base(request),
        nav_einvoicing=await nav_einvoicing(tenant),
        **context,
    )


async def form_data(request: Request) -> dict[str, str]:
    """The submitted form as plain strings (first value of each field)."""
    form = await request.form()
    return {key: str(value) for key, value in form.items() if isinstance(value, str)}


# --- exception handlers of the staff router -----------------------------------------------------


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def login_required_handler(request: Request, _exc: LoginRequired) -> Response[Any]:
    login = f"{staff_base(request)}/login"
    if request.headers.get("hx-request") == "true":
        return Response(b"", status_code=200, headers={"HX-Redirect": login})
    if request.method == "GET" and request.url.path.startswith(staff_base(request)):
        path = request.url.path
        target = path + (f"?{request.url.query}" if request.url.query else "")
        if _safe_next(request, target):
            return Redirect(f"{login}?next={_quote(target)}", status_code=303)
    return Redirect(login, status_code=303)


def enrollment_required_handler(request: Request, _exc: EnrollmentRequired) -> Response[Any]:
    target = f"{staff_base(request)}/cuenta/seguridad"
    if request.headers.get("hx-request") == "true":
        return Response(b"", status_code=200, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="/")


def _safe_next(request: Request, target: str | None) -> bool:
    """Only pages of this tenant's staff area are valid places to return to after login."""
    if not target:
        return False
    base = staff_base(request)
    return (
        target.startswith(base + "/")
        and "//" not in target
        and ".." not in target
        and "\\" not in target
        and not target.startswith(base + "/login")
        and len(target) < 500
    )


def safe_next(request: Request, target: str | None) -> str | None:
    return target if target and _safe_next(request, target) else None


def _error_page(request: Request, status: int, detail: str) -> Response[Any]:
    language = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "es"
    language = language if language in LANGUAGES else "es"
    trans = translations(language)
    message = trans.gettext(detail)
    if not _wants_html(request):
        return Response({"status_code": status, "detail": message}, status_code=status)
    context = {
        "tenant": None,
        "branding": None,
        "prefix": "",
        "lang": language,
        "languages": LANGUAGES,
        "fmt": formatter_for(language, "es_MX", "America/Mexico_City"),
        "_": trans.gettext,
        "ngettext": trans.ngettext,
        "is_htmx": False,
        "path": request.url.path,
        "status": status,
        "detail": message,
        "staff_base": staff_base(request),
    }
    return Template(template_name="staff/error.html", context=context, status_code=status)


def http_error_handler(request: Request, exc: HTTPException) -> Response[Any]:
    detail = exc.detail if exc.status_code < 500 else "Error interno."
    return _error_page(request, exc.status_code, str(detail))


def not_found_handler(request: Request, exc: inbox.NotFound) -> Response[Any]:
    return _error_page(request, HTTP_404_NOT_FOUND, str(exc))


def bad_input_handler(request: Request, exc: inbox.InboxError) -> Response[Any]:
    return _error_page(request, HTTP_400_BAD_REQUEST, str(exc))


def conflict_handler(request: Request, exc: inbox.Conflict) -> Response[Any]:
    return _error_page(request, HTTP_409_CONFLICT, str(exc))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    LoginRequired: login_required_handler,
    EnrollmentRequired: enrollment_required_handler,
    HTTPException: http_error_handler,
    inbox.NotFound: not_found_handler,
    inbox.InboxError: bad_input_handler,
    inbox.Conflict: conflict_handler,
}
