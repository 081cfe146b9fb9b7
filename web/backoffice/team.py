"""The team: members and invitations (owners), one-time links, password reset and 2FA.

* ``/equipo`` (owners): list, invite by one-time link, change role, deactivate / reactivate, the
  "owners must use 2FA" policy. Never leaves the tenant without an active owner.
* ``/invitacion/<token>``: the invited person sets name and password and is signed in.
* ``/restablecer``: "¿Olvidaste tu contraseña?" — the same answer whether or not the email is on
  the team, rate limited; ``/restablecer/<token>`` sets a new password and ends every session.
* ``/cuenta/seguridad`` (any staff user, for their own account): TOTP enrolment confirmed with a
  code, recovery codes shown once, disabling with a code.
* ``/login/codigo``: the second sign-in step, from a 5-minute pending sign-in (not a session).

GET pages of links only show a form: mail scanners that fetch links neither use nor burn them.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from recaudo.core.access import staff_links, totp
from recaudo.core.access.onboarding import visible_checklist
from recaudo.core.access.staff import MIN_PASSWORD, StaffError
from recaudo.core.access.staff_mail import send_staff_link
from recaudo.core.common.audit import record
from recaudo.core.tables import STAFF_ROLES, StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.backoffice.common import form_data, staff_base, staff_page
from recaudo.web.deps import settings_of
from recaudo.web.sessions import start_session
from recaudo.web.templating import render, request_language

PENDING_COOKIE = "recaudo_staff_2fa"

INVALID_EMAIL = "Escribe un correo válido."
INVALID_ROLE = "Elige un rol: administración, cobranza o solo lectura."
ALREADY_MEMBER = "Ese correo ya es parte del equipo. Si está desactivado, reactívalo."
LAST_OWNER = "El equipo necesita al menos un administrador activo."
NOT_YOURSELF = "No puedes desactivarte a ti mismo."
NAME_NEEDED = "Escribe tu nombre."
PASSWORD_SHORT = "La contraseña debe tener al menos 10 caracteres."  # noqa: S105
PASSWORD_LONG = "La contraseña es demasiado larga."  # noqa: S105
PASSWORD_MISMATCH = "Las contraseñas no coinciden."  # noqa: S105
RESET_LIMITED = "Demasiadas solicitudes. Espera 15 minutos e inténtalo de nuevo."
CODE_WRONG = (
    "El código no es válido o ya se usó. Escribe el código que muestra tu aplicación ahora."
)
CODE_LIMITED = "Demasiados códigos incorrectos. Espera 15 minutos e inténtalo de nuevo."
ENROLL_FIRST = (
    "Tu empresa pide verificación en dos pasos a los administradores. Actívala para continuar."
)

_ERRORS = (
    ("email", "already a member", ALREADY_MEMBER),
    ("email", "", INVALID_EMAIL),
    ("role", "at least one active owner", LAST_OWNER),
    ("role", "", INVALID_ROLE),
    ("active", "at least one active owner", LAST_OWNER),
    ("active", "yourself", NOT_YOURSELF),
    ("name", "", NAME_NEEDED),
    ("password", "at most", PASSWORD_LONG),
    ("password", "", PASSWORD_SHORT),
)


def _spanish(exc: StaffError) -> tuple[str, str]:
    """(field, Spanish message) for a core error, whose English message starts with the field."""
    text = str(exc)
    for field, needle, message in _ERRORS:
        if text.startswith(field) and needle in text:
            return field, message
    return "", text


def _actor(user: StaffUser) -> str:
    return f"staff:{user.id}"


# --- the team page (owners) ---------------------------------------------------------------------


async def _team_page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    owner: StaffUser,
    status_code: int = 200,
    **context: Any,
) -> Template:
    return await staff_page(
        request,
        "staff/team/team.html",
        tenant,
        owner,
        status_code=status_code,
        members=await staff_links.team(scope),
        invitations=await staff_links.pending_invitations(scope),
        with_2fa=await totp.enabled_ids(scope),
        owners_require_2fa=await totp.owners_require_2fa(scope),
        roles=STAFF_ROLES,
        **context,
    )


@get("/equipo", name="staff:team", operation_id="staff_team")
async def team_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template:
    return await _team_page(request, tenant, tenant_scope, owner_staff)


@post("/equipo/invitar", name="staff:team_invite", operation_id="staff_team_invite")
async def team_invite(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template:
    form = await form_data(request)
    email = form.get("email", "").strip()[:254]
    role = form.get("role", "")
    try:
        _row, token = await staff_links.invite(tenant_scope, email, role, _actor(owner_staff))
    except StaffError as exc:
        field, message = _spanish(exc)
        return await _team_page(
            request,
            tenant,
            tenant_scope,
            owner_staff,
            status_code=400,
            error=message,
            error_field=field,
            invite_email=email,
            invite_role=role,
        )
    settings = settings_of(request)
    link = staff_links.link_for(settings.base_url, str(tenant.slug), "invite", token)
    sent = await send_staff_link(
        tenant_scope,
        tenant,
        settings,
        email=email.strip().lower(),
        kind="invite",
        link=link,
        token=token,
        role=role,
        language=request_language(request, str(tenant.locale)),
    )
    return await _team_page(
        request,
        tenant,
        tenant_scope,
        owner_staff,
        invited=email.strip().lower(),
        invite_link=link,
        mailed=sent is not None and sent.status in ("sent", "waiting"),
    )


@post(
    "/equipo/invitaciones/{invitation_id:int}/anular",
    name="staff:team_revoke",
    operation_id="staff_team_revoke",
)
async def team_revoke(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    invitation_id: FromPath[int],
) -> Redirect:
    if not await staff_links.revoke_invitation(tenant_scope, invitation_id, _actor(owner_staff)):
        from recaudo.core.casework.review import NotFound

        raise NotFound("Invitación no encontrada o ya usada.")
    return Redirect(f"{staff_base(request)}/equipo#invitaciones", status_code=303)


async def _member_change(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    owner: StaffUser,
    change: Any,
) -> Template | Redirect:
    try:
        await change
    except StaffError as exc:
        field, message = _spanish(exc)
        return await _team_page(
            request, tenant, scope, owner, status_code=409, error=message, error_field=field
        )
    return Redirect(f"{staff_base(request)}/equipo", status_code=303)


@post("/equipo/{user_id:int}/rol", name="staff:team_role", operation_id="staff_team_role")
async def team_role(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    user_id: FromPath[int],
) -> Template | Redirect:
    role = (await form_data(request)).get("role", "")
    if role not in STAFF_ROLES:
        return await _team_page(
            request,
            tenant,
            tenant_scope,
            owner_staff,
            status_code=400,
            error=INVALID_ROLE,
            error_field="role",
        )
    change = staff_links.change_role(tenant_scope, user_id, role, owner_staff)
    return await _member_change(request, tenant, tenant_scope, owner_staff, change)


@post(
    "/equipo/{user_id:int}/desactivar",
    name="staff:team_deactivate",
    operation_id="staff_team_deactivate",
)
async def team_deactivate(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    user_id: FromPath[int],
) -> Template | Redirect:
    change = staff_links.set_active(tenant_scope, user_id, False, owner_staff)
    return await _member_change(request, tenant, tenant_scope, owner_staff, change)


@post(
    "/equipo/{user_id:int}/reactivar",
    name="staff:team_reactivate",
    operation_id="staff_team_reactivate",
)
async def team_reactivate(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    user_id: FromPath[int],
) -> Template | Redirect:
    change = staff_links.set_active(tenant_scope, user_id, True, owner_staff)
    return await _member_change(request, tenant, tenant_scope, owner_staff, change)


@post("/equipo/politica-2fa", name="staff:team_policy", operation_id="staff_team_policy")
async def team_policy(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Redirect:
    wanted = (await form_data(request)).get("owners_require_2fa", "") in ("on", "1", "true")
    await totp.set_policy(tenant_scope, _actor(owner_staff), owners_require_2fa=wanted)
    return Redirect(f"{staff_base(request)}/equipo#politica", status_code=303)


@post(
    "/inicio/checklist/ocultar",
    name="staff:checklist_dismiss",
    operation_id="staff_checklist_dismiss",
)
async def checklist_dismiss(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Redirect:
    await totp.set_policy(tenant_scope, _actor(owner_staff), checklist_dismissed=True)
    return Redirect(f"{staff_base(request)}/", status_code=303)


async def checklist_for(scope: TenantScope, tenant: Tenant, user: StaffUser) -> Any:
    """What the staff home's checklist include shows (``None``: nothing)."""
    return await visible_checklist(scope, tenant, user)


# --- pages reached without a session ------------------------------------------------------------


async def _public(
    request: Request, template: str, tenant: Tenant, status_code: int = 200, **context: Any
) -> Template:
    return await render(
        request,
        template,
        tenant,
        status_code=status_code,
        staff_base=staff_base(request),
        min_password=MIN_PASSWORD,
        **context,
    )


async def _signed_in(
    request: Request, scope: TenantScope, user_id: int, target: str | None = None
) -> Redirect:
    response = Redirect(target or f"{staff_base(request)}/", status_code=303)
    await start_session(
        request,
        response,
        scope,
        "staff",
        user_id,
        path=staff_base(request),
        secure=settings_of(request).secure_cookies,
    )
    return response


def _password_error(form: dict[str, str]) -> tuple[str, str] | None:
    password = form.get("password", "")
    if len(password) < MIN_PASSWORD:
        return "password", PASSWORD_SHORT
    if len(password) > 1024:
        return "password", PASSWORD_LONG
    if password != form.get("password2", ""):
        return "password2", PASSWORD_MISMATCH
    return None


@get("/invitacion/{token:str}", name="staff:invitation", operation_id="staff_invitation_form")
async def invitation_form(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    token: FromPath[str],
) -> Template:
    info = await staff_links.inspect(tenant_scope, "invite", token)
    if info.state != "valid":
        return await _public(
            request, "staff/team/link_invalid.html", tenant, 410, state=info.state, kind="invite"
        )
    return await _public(
        request, "staff/team/invitation.html", tenant, token=token, email=info.email, role=info.role
    )


@post("/invitacion/{token:str}", name="staff:invitation_accept", operation_id="staff_invitation")
async def invitation_accept(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    token: FromPath[str],
) -> Template | Redirect:
    form = await form_data(request)
    name = form.get("name", "").strip()[:200]
    info = await staff_links.inspect(tenant_scope, "invite", token)
    if info.state != "valid":
        return await _public(
            request, "staff/team/link_invalid.html", tenant, 410, state=info.state, kind="invite"
        )
    problem = ("name", NAME_NEEDED) if not name else _password_error(form)
    if problem is None:
        try:
            info, user = await staff_links.accept_invitation(
                tenant_scope, token, name, form.get("password", "")
            )
        except StaffError as exc:
            problem = _spanish(exc)
        else:
            if user is None:
                return await _public(
                    request,
                    "staff/team/link_invalid.html",
                    tenant,
                    410,
                    state=info.state,
                    kind="invite",
                )
            return await _signed_in(request, tenant_scope, int(user.id))
    field, message = problem
    return await _public(
        request,
        "staff/team/invitation.html",
        tenant,
        400,
        token=token,
        email=info.email,
        role=info.role,
        name=name,
        error=message,
        error_field=field,
    )


@get("/restablecer", name="staff:reset_form", operation_id="staff_reset_form")
async def reset_request_form(request: Request, tenant: NamedDependency[Tenant]) -> Template:
    return await _public(request, "staff/team/reset_request.html", tenant)


@post("/restablecer", name="staff:reset_request", operation_id="staff_reset_request")
async def reset_request(
    request: Request, tenant: NamedDependency[Tenant], tenant_scope: NamedDependency[TenantScope]
) -> Template:
    from recaudo.web.backoffice.auth import client_ip

    form = await form_data(request)
    email = form.get("email", "").strip().lower()[:254]
    if "@" not in email:
        return await _public(
            request,
            "staff/team/reset_request.html",
            tenant,
            400,
            error=INVALID_EMAIL,
            error_field="email",
            email=email,
        )
    admitted, token = await staff_links.request_reset(tenant_scope, email, client_ip(request))
    if not admitted:
        return await _public(
            request, "staff/team/reset_request.html", tenant, 429, error=RESET_LIMITED, email=email
        )
    response = await _public(request, "staff/team/reset_sent.html", tenant, email=email)
    if token is not None:
        settings = settings_of(request)
        link = staff_links.link_for(settings.base_url, str(tenant.slug), "reset", token)
        # After the response: the time to answer says nothing about whether the email exists.
        response.background = BackgroundTask(
            send_staff_link,
            tenant_scope,
            tenant,
            settings,
            email=email,
            kind="reset",
            link=link,
            token=token,
            language=request_language(request, str(tenant.locale)),
        )
    return response


@get("/restablecer/{token:str}", name="staff:reset", operation_id="staff_reset_password_form")
async def reset_form(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    token: FromPath[str],
) -> Template:
    info = await staff_links.inspect(tenant_scope, "reset", token)
    if info.state != "valid":
        return await _public(
            request, "staff/team/link_invalid.html", tenant, 410, state=info.state, kind="reset"
        )
    return await _public(request, "staff/team/reset.html", tenant, token=token, email=info.email)


@post("/restablecer/{token:str}", name="staff:reset_submit", operation_id="staff_reset_password")
async def reset_submit(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    token: FromPath[str],
) -> Template | Redirect:
    form = await form_data(request)
    info = await staff_links.inspect(tenant_scope, "reset", token)
    if info.state != "valid":
        return await _public(
            request, "staff/team/link_invalid.html", tenant, 410, state=info.state, kind="reset"
        )
    problem = _password_error(form)
    if problem is None:
        try:
            info, user = await staff_links.reset_password(
                tenant_scope, token, form.get("password", "")
            )
        except StaffError as exc:
            problem = _spanish(exc)
        else:
            if user is None:
                return await _public(
                    request,
                    "staff/team/link_invalid.html",
                    tenant,
                    410,
                    state=info.state,
                    kind="reset",
                )
            return Redirect(f"{staff_base(request)}/login?restablecida=1", status_code=303)
    field, message = problem
    return await _public(
        request,
        "staff/team/reset.html",
        tenant,
        400,
        token=token,
        email=info.email,
        error=message,
        error_field=field,
    )


# --- two-factor sign-in -------------------------------------------------------------------------


async def second_factor(request: Request, scope: TenantScope, user: StaffUser) -> Redirect:
    """After a right password for a user with 2FA: a pending sign-in, then the code page."""
    token = await staff_links.issue(scope, "login2fa", str(user.email), "", "login")
    response = Redirect(f"{staff_base(request)}/login/codigo", status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        token,
        path=staff_base(request),
        httponly=True,
        secure=settings_of(request).secure_cookies,
        samesite="lax",
        max_age=int(staff_links.TTL["login2fa"].total_seconds()),
    )
    await record(scope, f"staff:{user.id}", "staff.login_password_ok", f"staff:{user.id}")
    return response


async def _pending(
    request: Request, scope: TenantScope
) -> tuple[staff_links.TokenInfo, StaffUser | None]:
    token = request.cookies.get(PENDING_COOKIE, "")
    info = await staff_links.inspect(scope, "login2fa", token)
    if info.state != "valid":
        return info, None
    user = (
        await scope.objects(StaffUser)
        .where((StaffUser.email == info.email) & (StaffUser.active == True))  # noqa: E712
        .first()
    )
    return info, user


def _back_to_login(request: Request) -> Redirect:
    response = Redirect(f"{staff_base(request)}/login?vencido=1", status_code=303)
    response.delete_cookie(PENDING_COOKIE, path=staff_base(request))
    return response


@get("/login/codigo", name="staff:login_code_form", operation_id="staff_login_code_form")
async def login_code_form(
    request: Request, tenant: NamedDependency[Tenant], tenant_scope: NamedDependency[TenantScope]
) -> Template | Redirect:
    _info, user = await _pending(request, tenant_scope)
    if user is None:
        return _back_to_login(request)
    return await _public(request, "staff/team/login_code.html", tenant)


@post("/login/codigo", name="staff:login_code", operation_id="staff_login_code")
async def login_code(
    request: Request, tenant: NamedDependency[Tenant], tenant_scope: NamedDependency[TenantScope]
) -> Template | Redirect:
    from recaudo.web.backoffice.auth import SUCCEEDED, client_ip

    _info, user = await _pending(request, tenant_scope)
    if user is None:
        return _back_to_login(request)
    code = (await form_data(request)).get("code", "")[:64]
    if await totp.admit_code(tenant_scope, int(user.id)) is None:
        page = await _public(request, "staff/team/login_code.html", tenant, 429, error=CODE_LIMITED)
        page.headers["retry-after"] = str(int(totp.CODE_WINDOW.total_seconds()))
        return page
    settings = settings_of(request)
    how = await totp.verify(tenant_scope, int(user.id), code, settings.secret_key)
    if how is None:
        await record(tenant_scope, f"staff:{user.id}", "staff.2fa_failed", f"staff:{user.id}")
        return await _public(request, "staff/team/login_code.html", tenant, 401, error=CODE_WRONG)
    token = request.cookies.get(PENDING_COOKIE, "")
    claimed = await staff_links.claim(tenant_scope, "login2fa", token)
    if claimed.state != "valid":
        return _back_to_login(request)
    await totp.code_ok(tenant_scope, int(user.id))
    await record(
        tenant_scope,
        f"staff:{user.id}",
        SUCCEEDED,
        f"login:{user.email}"[:100],
        ip=client_ip(request),
        second_factor=how,
    )
    response = await _signed_in(request, tenant_scope, int(user.id))
    response.delete_cookie(PENDING_COOKIE, path=staff_base(request))
    return response


# --- the signed-in user's own security ----------------------------------------------------------


async def _security_page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    user: StaffUser,
    status_code: int = 200,
    **context: Any,
) -> Template:
    settings = settings_of(request)
    row = await totp.state_of(scope, int(user.id))
    secret = totp.pending_secret(row, settings.secret_key)
    qr = ""
    if secret:
        issuer = f"Recaudo {tenant.name}"[:60]
        qr = totp.qr_svg(totp.provisioning_uri(secret, str(user.email), issuer))
    return await staff_page(
        request,
        "staff/team/security.html",
        tenant,
        user,
        status_code=status_code,
        enabled=bool(row and row.enabled),
        secret=secret,
        qr=qr,
        recovery_left=await totp.recovery_left(scope, int(user.id)),
        must_enroll=await totp.must_enroll(scope, user),
        **context,
    )


@get("/cuenta/seguridad", name="staff:security", operation_id="staff_security")
async def security_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    return await _security_page(request, tenant, tenant_scope, staff)


@post("/cuenta/seguridad/iniciar", name="staff:security_start", operation_id="staff_security_start")
async def security_start(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    if not await totp.enabled_for(tenant_scope, int(staff.id)):
        await totp.start_enrolment(tenant_scope, staff, settings_of(request).secret_key)
        await record(tenant_scope, _actor(staff), "staff.2fa_enrolment_started", _actor(staff))
    return Redirect(f"{staff_base(request)}/cuenta/seguridad#activar", status_code=303)


@post(
    "/cuenta/seguridad/confirmar",
    name="staff:security_confirm",
    operation_id="staff_security_confirm",
)
async def security_confirm(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    code = (await form_data(request)).get("code", "")[:64]
    if await totp.admit_code(tenant_scope, int(staff.id)) is None:
        return await _security_page(
            request, tenant, tenant_scope, staff, 429, error=CODE_LIMITED, error_field="code"
        )
    codes = await totp.confirm_enrolment(tenant_scope, staff, code, settings_of(request).secret_key)
    if codes is None:
        return await _security_page(
            request, tenant, tenant_scope, staff, 400, error=CODE_WRONG, error_field="code"
        )
    await totp.code_ok(tenant_scope, int(staff.id))
    return await _security_page(request, tenant, tenant_scope, staff, recovery_codes=codes)


@post(
    "/cuenta/seguridad/desactivar",
    name="staff:security_disable",
    operation_id="staff_security_disable",
)
async def security_disable(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    code = (await form_data(request)).get("code", "")[:64]
    if await totp.admit_code(tenant_scope, int(staff.id)) is None:
        return await _security_page(
            request, tenant, tenant_scope, staff, 429, error=CODE_LIMITED, error_field="code"
        )
    if not await totp.disable(tenant_scope, staff, code, settings_of(request).secret_key):
        return await _security_page(
            request, tenant, tenant_scope, staff, 400, error=CODE_WRONG, error_field="code"
        )
    await totp.code_ok(tenant_scope, int(staff.id))
    return Redirect(f"{staff_base(request)}/cuenta/seguridad", status_code=303)


# Routes anyone may use (they sign in or prove a link); the others ask for a staff dependency.
PUBLIC = frozenset(
    {
        "staff:invitation",
        "staff:invitation_accept",
        "staff:reset_form",
        "staff:reset_request",
        "staff:reset",
        "staff:reset_submit",
        "staff:login_code_form",
        "staff:login_code",
    }
)

ROUTES: list[Any] = [
    team_page,
    team_invite,
    team_revoke,
    team_role,
    team_deactivate,
    team_reactivate,
    team_policy,
    checklist_dismiss,
    invitation_form,
    invitation_accept,
    reset_request_form,
    reset_request,
    reset_form,
    reset_submit,
    login_code_form,
    login_code,
    security_page,
    security_start,
    security_confirm,
    security_disable,
]

__all__ = ["ENROLL_FIRST", "PENDING_COOKIE", "ROUTES", "Response", "checklist_for", "second_factor"]
