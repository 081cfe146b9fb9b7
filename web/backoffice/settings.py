"""Owner settings of the back office (*Ajustes*) and the audit log.

``/staff/ajustes`` lists every settings page to any signed-in staff member; the pages themselves
(marca, dominios, pagos, planes, ayuda) and ``/staff/auditoria`` are for owners only
(``owner_staff``: others get a 403 before the handler runs). Every change is a POST with the CSRF
token, audited by the core services in :mod:`recaudo.core.tenant_settings`; bad input re-renders
the form with a 400 and a message next to each bad field, storing nothing. After a change the
tenant's cached row is dropped, so the portal shows it on the next request.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.casework.review.common import actor
from recaudo.core.messaging.branding import MIN_CONTRAST, TEXT_ON_BRAND, contrast_ratio
from recaudo.core.messaging.i18n import LANGUAGES
from recaudo.core.tables import StaffUser
from recaudo.core.tenant_settings import audit_log, branding, domains, payments, policy
from recaudo.core.tenant_settings import help as faq_help
from recaudo.core.tenant_settings.errors import FormErrors, SettingNotFound
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info
from recaudo.web.backoffice.common import form_data, staff_base, staff_page
from recaudo.web.deps import settings_of
from recaudo.web.uploads import TOO_LARGE_OPT

SECTIONS = ("marca", "dominios", "pagos", "planes", "ayuda")
LOGO_TOO_BIG = "logo-grande"
MAX_LOGO_BODY = 2 * 1024 * 1024


def _back(request: Request, section: str, notice: str = "guardado") -> Redirect:
    return Redirect(f"{staff_base(request)}/ajustes/{section}?aviso={notice}", status_code=303)


def _forget_online(tenant: Tenant) -> None:
    """The statement's "pay online" answer is cached a few seconds: drop it after a switch."""
    from recaudo.web.portal import pay

    pay._online.forget((int(tenant.id), str(tenant.currency)))


def _not_found(exc: SettingNotFound) -> NotFoundException:
    return NotFoundException(str(exc))


# --- index --------------------------------------------------------------------------------------


@get("/ajustes", name="staff:settings", operation_id="staff_settings")
async def settings_index(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    """Links to every settings page, and a read-only summary any staff member may see."""
    methods = await payments.payment_plugins(
        tenant_scope, tenant_info(tenant), settings_of(request).secret_key
    )
    return await staff_page(
        request,
        "staff/settings/index.html",
        tenant,
        staff,
        is_owner=str(staff.role) == "owner",
        brand=branding.brand_values(tenant),
        domains=[str(d.domain) for d in await domains.tenant_domains(tenant)],
        methods=[m for m in methods if m.enabled],
        limits=policy.policy_values(tenant),
    )


# --- branding -----------------------------------------------------------------------------------


async def _brand_page(
    request: Request,
    tenant: Tenant,
    owner: StaffUser,
    *,
    errors: FormErrors | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    notice = request.query_params.get("aviso", "")
    if notice == LOGO_TOO_BIG:
        errors = FormErrors({"logo": "El logo pesa más de 512 KB: usa una imagen más ligera."})
    return await staff_page(
        request,
        "staff/settings/branding.html",
        tenant,
        owner,
        status_code=status_code,
        values=branding.brand_values(tenant, typed),
        errors=errors,
        saved=notice in ("guardado", "logo"),
        min_contrast=MIN_CONTRAST,
        text_on_brand=TEXT_ON_BRAND,
        contrast=contrast_ratio,
        max_logo_kb=branding.MAX_LOGO_BYTES // 1024,
    )


@get("/ajustes/marca", name="staff:settings_branding", operation_id="staff_settings_branding")
async def branding_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    owner_staff: NamedDependency[StaffUser],
) -> Template:
    return await _brand_page(request, tenant, owner_staff)


@post("/ajustes/marca", name="staff:settings_branding_save", operation_id="staff_branding_save")
async def branding_save(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    form = await form_data(request)
    try:
        await branding.save_branding(tenant_scope, tenant, form, actor(owner_staff))
    except FormErrors as exc:
        typed = {k: v for k, v in form.items() if not k.startswith("_")}
        return await _brand_page(
            request, tenant, owner_staff, errors=exc, typed=typed, status_code=400
        )
    return _back(request, "marca")


@post(
    "/ajustes/marca/logo",
    name="staff:settings_logo",
    operation_id="staff_settings_logo",
    request_max_body_size=MAX_LOGO_BODY,
    opt={TOO_LARGE_OPT: f"/staff/ajustes/marca?aviso={LOGO_TOO_BIG}"},
)
async def logo_upload(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    form = await request.form()
    upload = form.get("logo")
    data = b""
    if isinstance(upload, UploadFile):
        data = await upload.read(branding.MAX_LOGO_BYTES + 1)
    try:
        await branding.save_logo(tenant_scope, tenant, data, actor(owner_staff))
    except FormErrors as exc:
        status = 413 if len(data) > branding.MAX_LOGO_BYTES else 400
        return await _brand_page(request, tenant, owner_staff, errors=exc, status_code=status)
    return _back(request, "marca", "logo")


@post(
    "/ajustes/marca/logo/quitar",
    name="staff:settings_logo_remove",
    operation_id="staff_settings_logo_remove",
)
async def logo_remove(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Redirect:
    await branding.remove_logo(tenant_scope, tenant, actor(owner_staff))
    return _back(request, "marca")


# --- domains ------------------------------------------------------------------------------------


async def _domains_page(
    request: Request,
    tenant: Tenant,
    owner: StaffUser,
    *,
    errors: FormErrors | None = None,
    typed: str = "",
    status_code: int = 200,
) -> Template:
    base_host = settings_of(request).base_host
    rows = await domains.tenant_domains(tenant)
    checked: dict[int, str] = {}
    wanted = request.query_params.get("comprobar", "")
    for row in rows:
        if wanted.isdigit() and int(wanted) == int(row.id):
            checked[int(row.id)] = await domains.dns_status(str(row.domain), base_host)
    return await staff_page(
        request,
        "staff/settings/domains.html",
        tenant,
        owner,
        status_code=status_code,
        domains=rows,
        records={int(r.id): domains.dns_records(str(r.domain), base_host) for r in rows},
        apex={int(r.id): domains.is_apex(str(r.domain)) for r in rows},
        checked=checked,
        base_host=base_host.split(":", 1)[0],
        errors=errors,
        typed=typed,
        notice=request.query_params.get("aviso", ""),
    )


@get("/ajustes/dominios", name="staff:settings_domains", operation_id="staff_settings_domains")
async def domains_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    owner_staff: NamedDependency[StaffUser],
) -> Template:
    return await _domains_page(request, tenant, owner_staff)


@post("/ajustes/dominios", name="staff:settings_domain_add", operation_id="staff_domain_add")
async def domain_add(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    form = await form_data(request)
    typed = form.get("domain", "")[:300]
    try:
        await domains.add_domain(
            tenant_scope, tenant, typed, settings_of(request).base_host, actor(owner_staff)
        )
    except FormErrors as exc:
        return await _domains_page(
            request, tenant, owner_staff, errors=exc, typed=typed, status_code=400
        )
    return _back(request, "dominios", "agregado")


@post(
    "/ajustes/dominios/{domain_id:int}/quitar",
    name="staff:settings_domain_remove",
    operation_id="staff_domain_remove",
)
async def domain_remove(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    domain_id: FromPath[int],
) -> Redirect:
    try:
        await domains.remove_domain(tenant_scope, tenant, domain_id, actor(owner_staff))
    except SettingNotFound as exc:
        raise _not_found(exc) from None
    return _back(request, "dominios", "quitado")


# --- payment methods ----------------------------------------------------------------------------


async def _payments_page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    owner: StaffUser,
    *,
    errors: FormErrors | None = None,
    failed: str = "",
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    plugins = await payments.payment_plugins(
        scope, tenant_info(tenant), settings_of(request).secret_key
    )
    return await staff_page(
        request,
        "staff/settings/payments.html",
        tenant,
        owner,
        status_code=status_code,
        plugins=plugins,
        errors=errors,
        failed=failed,
        typed=typed or {},
        notice=request.query_params.get("aviso", ""),
        changed=request.query_params.get("metodo", ""),
    )


@get("/ajustes/pagos", name="staff:settings_payments", operation_id="staff_settings_payments")
async def payments_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template:
    return await _payments_page(request, tenant, tenant_scope, owner_staff)


@post(
    "/ajustes/pagos/{plugin:str}",
    name="staff:settings_payment_save",
    operation_id="staff_payment_save",
)
async def payment_save(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    plugin: FromPath[str],
) -> Template | Redirect:
    form = await form_data(request)
    try:
        await payments.save_payment_settings(
            tenant_scope,
            tenant_info(tenant),
            plugin,
            form,
            settings_of(request).secret_key,
            actor(owner_staff),
        )
    except SettingNotFound as exc:
        raise _not_found(exc) from None
    except FormErrors as exc:
        # Typed ordinary values come back; secrets never do, not even the ones just typed.
        typed = {k: v for k, v in form.items() if k.startswith("s_")}
        return await _payments_page(
            request,
            tenant,
            tenant_scope,
            owner_staff,
            errors=exc,
            failed=plugin,
            typed=typed,
            status_code=400,
        )
    _forget_online(tenant)
    return Redirect(
        f"{staff_base(request)}/ajustes/pagos?aviso=guardado&metodo={plugin}", status_code=303
    )


@post(
    "/ajustes/pagos/{plugin:str}/estado",
    name="staff:settings_payment_switch",
    operation_id="staff_payment_switch",
)
async def payment_switch(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    plugin: FromPath[str],
) -> Template | Redirect:
    form = await form_data(request)
    wanted = form.get("enabled", "")
    if wanted not in ("on", "off"):
        return await _payments_page(
            request,
            tenant,
            tenant_scope,
            owner_staff,
            errors=FormErrors({"_": "Elige activar o desactivar."}),
            failed=plugin,
            status_code=400,
        )
    try:
        await payments.switch_payment_method(
            tenant_scope,
            tenant_info(tenant),
            plugin,
            wanted == "on",
            settings_of(request).secret_key,
            actor(owner_staff),
        )
    except SettingNotFound as exc:
        raise _not_found(exc) from None
    except FormErrors as exc:
        return await _payments_page(
            request, tenant, tenant_scope, owner_staff, errors=exc, failed=plugin, status_code=400
        )
    _forget_online(tenant)
    notice = "activado" if wanted == "on" else "desactivado"
    return Redirect(
        f"{staff_base(request)}/ajustes/pagos?aviso={notice}&metodo={plugin}", status_code=303
    )


# --- plans and promises -------------------------------------------------------------------------


async def _policy_page(
    request: Request,
    tenant: Tenant,
    owner: StaffUser,
    *,
    errors: FormErrors | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    return await staff_page(
        request,
        "staff/settings/policy.html",
        tenant,
        owner,
        status_code=status_code,
        values=policy.policy_values(tenant, typed),
        errors=errors,
        saved=request.query_params.get("aviso") == "guardado",
    )


@get("/ajustes/planes", name="staff:settings_policy", operation_id="staff_settings_policy")
async def policy_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    owner_staff: NamedDependency[StaffUser],
) -> Template:
    return await _policy_page(request, tenant, owner_staff)


@post("/ajustes/planes", name="staff:settings_policy_save", operation_id="staff_policy_save")
async def policy_save(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    form = await form_data(request)
    try:
        await policy.save_policy(tenant_scope, tenant, form, actor(owner_staff))
    except FormErrors as exc:
        return await _policy_page(
            request, tenant, owner_staff, errors=exc, typed=form, status_code=400
        )
    return _back(request, "planes")


# --- help: FAQ and advice links -----------------------------------------------------------------


async def _help_page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    owner: StaffUser,
    *,
    errors: FormErrors | None = None,
    failed: str = "",
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    advice = faq_help.advice_text(tenant)
    if failed == "advice" and typed:
        advice = {code: typed.get(f"advice_{code}", "") for code in LANGUAGES}
    return await staff_page(
        request,
        "staff/settings/help.html",
        tenant,
        owner,
        status_code=status_code,
        entries=await faq_help.faq_entries(scope),
        advice=advice,
        errors=errors,
        failed=failed,
        typed=typed or {},
        notice=request.query_params.get("aviso", ""),
    )


@get("/ajustes/ayuda", name="staff:settings_help", operation_id="staff_settings_help")
async def help_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template:
    return await _help_page(request, tenant, tenant_scope, owner_staff)


@post("/ajustes/ayuda/preguntas", name="staff:settings_faq_add", operation_id="staff_faq_add")
async def faq_add(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    form = await form_data(request)
    try:
        await faq_help.add_entry(tenant_scope, form, actor(owner_staff))
    except FormErrors as exc:
        return await _help_page(
            request,
            tenant,
            tenant_scope,
            owner_staff,
            errors=exc,
            failed="new",
            typed=form,
            status_code=400,
        )
    return _back(request, "ayuda", "agregada")


@post(
    "/ajustes/ayuda/preguntas/{entry_id:int}",
    name="staff:settings_faq_edit",
    operation_id="staff_faq_edit",
)
async def faq_edit(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    entry_id: FromPath[int],
) -> Template | Redirect:
    form = await form_data(request)
    try:
        await faq_help.edit_entry(tenant_scope, entry_id, form, actor(owner_staff))
    except SettingNotFound as exc:
        raise _not_found(exc) from None
    except FormErrors as exc:
        return await _help_page(
            request,
            tenant,
            tenant_scope,
            owner_staff,
            errors=exc,
            failed=f"entry-{entry_id}",
            typed=form,
            status_code=400,
        )
    return _back(request, "ayuda")


@post(
    "/ajustes/ayuda/preguntas/{entry_id:int}/borrar",
    name="staff:settings_faq_delete",
    operation_id="staff_faq_delete",
)
async def faq_delete(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    entry_id: FromPath[int],
) -> Redirect:
    try:
        await faq_help.delete_entry(tenant_scope, entry_id, actor(owner_staff))
    except SettingNotFound as exc:
        raise _not_found(exc) from None
    return _back(request, "ayuda", "borrada")


@post(
    "/ajustes/ayuda/preguntas/{entry_id:int}/mover",
    name="staff:settings_faq_move",
    operation_id="staff_faq_move",
)
async def faq_move(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    entry_id: FromPath[int],
) -> Template | Redirect:
    form = await form_data(request)
    try:
        await faq_help.move_entry(
            tenant_scope, entry_id, form.get("direction", ""), actor(owner_staff)
        )
    except SettingNotFound as exc:
        raise _not_found(exc) from None
    except FormErrors as exc:
        return await _help_page(
            request, tenant, tenant_scope, owner_staff, errors=exc, status_code=400
        )
    return _back(request, "ayuda")


@post("/ajustes/ayuda/consejos", name="staff:settings_advice", operation_id="staff_settings_advice")
async def advice_save(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    form = await form_data(request)
    try:
        await faq_help.save_advice_links(tenant_scope, tenant, form, actor(owner_staff))
    except FormErrors as exc:
        return await _help_page(
            request,
            tenant,
            tenant_scope,
            owner_staff,
            errors=exc,
            failed="advice",
            typed=form,
            status_code=400,
        )
    return _back(request, "ayuda")


# --- audit log ----------------------------------------------------------------------------------


@get("/auditoria", name="staff:audit", operation_id="staff_audit")
async def audit_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template:
    params = {k: str(v) for k, v in request.query_params.items()}
    errors: FormErrors | None = None
    try:
        wanted = audit_log.read_filter(params)
    except FormErrors as exc:
        errors, wanted = exc, audit_log.AuditFilter()
    rows: list[audit_log.AuditRow] = []
    more = False
    if errors is None:
        rows, more = await audit_log.audit_page(tenant_scope, wanted, str(tenant.timezone))
    return await staff_page(
        request,
        "staff/settings/audit.html",
        tenant,
        owner_staff,
        status_code=400 if errors else 200,
        rows=rows,
        more=more,
        wanted=wanted,
        typed=params,
        errors=errors,
        actors=await audit_log.staff_names(tenant_scope),
    )


ROUTES: list[Any] = [
    settings_index,
    branding_page,
    branding_save,
    logo_upload,
    logo_remove,
    domains_page,
    domain_add,
    domain_remove,
    payments_page,
    payment_save,
    payment_switch,
    policy_page,
    policy_save,
    help_page,
    faq_add,
    faq_edit,
    faq_delete,
    faq_move,
    advice_save,
    audit_page,
]
