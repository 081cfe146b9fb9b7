"""Reminders in the back office (*Recordatorios*): the policy editor with a live preview, the log
of every contact and the calls staff must make.

Anyone signed in may read; owners change policies (``owner_staff``), owners and collectors record
call outcomes (``acting_staff``). Handlers are thin: rules live in
:mod:`recaudo.core.collections.policy_edit` and :mod:`recaudo.core.collections.contact_log`.
The preview is one handler for htmx (a fragment, on each keystroke) and for the no-JS
"Vista previa" button (the whole editor re-rendered with the unsaved texts).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.billing.listing import segments
from recaudo.core.collections import contact_log, policy_edit
from recaudo.core.collections.policies import ACTIONS, ADDRESS_FORMS, LANGUAGES, PLACEHOLDERS
from recaudo.core.collections.policy_edit import PolicyError, PolicyNotFound
from recaudo.core.messaging.i18n import formatter_for
from recaudo.core.tables import Customer, StaffUser
from recaudo.core.tenant_settings.branding import brand_values
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.backoffice.common import form_data, staff_base, staff_page
from recaudo.web.portal.common import tenant_today
from recaudo.web.templating import render, request_language

BASE = "/recordatorios"


def _missing(exc: Exception) -> NotFoundException:
    return NotFoundException(str(exc))


def _business(tenant: Tenant) -> str:
    return brand_values(tenant).display_name


def _address_form(tenant: Tenant) -> str:
    form = brand_values(tenant).address_form
    return form if form in ADDRESS_FORMS else "tu"


# --- policies -----------------------------------------------------------------------------------


async def _index(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    staff: StaffUser,
    error: str = "",
    error_field: str = "",
    status_code: int = 200,
    segment: str = "",
) -> Template:
    policies = await policy_edit.policies_for_editor(scope)
    used = {p.segment for p in policies}
    return await staff_page(
        request,
        "staff/reminders/index.html",
        tenant,
        staff,
        status_code=status_code,
        policies=policies,
        is_owner=str(staff.role) == "owner",
        free_segments=[s for s in await segments(scope) if s not in used],
        action_labels=policy_edit.ACTION_LABELS,
        error=error,
        error_field=error_field,
        segment=segment,
        notice=str(request.query_params.get("aviso") or ""),
    )


@get(BASE, name="staff:reminders", operation_id="staff_reminders")
async def reminders_index(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    return await _index(request, tenant, tenant_scope, staff)


@post(
    f"{BASE}/politicas",
    name="staff:reminder_policy_create",
    operation_id="staff_reminder_policy_create",
)
async def policy_create(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    form = await form_data(request)
    segment = form.get("segment", "")[:200]
    try:
        policy_id = await policy_edit.create_segment_policy(tenant_scope, segment, owner_staff)
    except PolicyError as exc:
        return await _index(
            request, tenant, tenant_scope, owner_staff, exc.message, exc.field, 400, segment
        )
    return Redirect(
        f"{staff_base(request)}{BASE}?aviso=creada#politica-{policy_id}", status_code=303
    )


@post(
    f"{BASE}/politicas/{{dunning_policy_id:int}}/eliminar",
    name="staff:reminder_policy_delete",
    operation_id="staff_reminder_policy_delete",
)
async def policy_delete(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    dunning_policy_id: FromPath[int],
) -> Template | Redirect:
    try:
        await policy_edit.delete_segment_policy(tenant_scope, dunning_policy_id, owner_staff)
    except PolicyNotFound as exc:
        raise _missing(exc) from None
    except PolicyError as exc:
        return await _index(request, tenant, tenant_scope, owner_staff, exc.message, "_", 400)
    return Redirect(f"{staff_base(request)}{BASE}?aviso=eliminada", status_code=303)


@post(
    f"{BASE}/politicas/{{dunning_policy_id:int}}/etapas",
    name="staff:reminder_stage_add",
    operation_id="staff_reminder_stage_add",
)
async def stage_add(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    dunning_policy_id: FromPath[int],
) -> Template | Redirect:
    form = await form_data(request)
    try:
        stage_id = await policy_edit.add_stage(
            tenant_scope, dunning_policy_id, form.get("offset_days", "")[:20], owner_staff
        )
    except PolicyNotFound as exc:
        raise _missing(exc) from None
    except PolicyError as exc:
        return await _index(
            request,
            tenant,
            tenant_scope,
            owner_staff,
            exc.message,
            f"offset-{dunning_policy_id}",
            400,
        )
    return Redirect(f"{staff_base(request)}{BASE}/etapas/{stage_id}", status_code=303)


# --- one stage ----------------------------------------------------------------------------------


def _choice(
    request: Request, values: dict[str, str], name: str, allowed: tuple[str, ...], default: str
) -> str:
    value = values.get(name) or str(request.query_params.get(name) or "")
    return value if value in allowed else default


async def _preview(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    values: dict[str, str],
) -> dict[str, Any]:
    """The rendered message for the chosen language, form of address and customer."""
    language = _choice(request, values, "idioma", LANGUAGES, "es")
    form = _choice(request, values, "forma", ADDRESS_FORMS, _address_form(tenant))
    number = (values.get("cliente") or str(request.query_params.get("cliente") or "")).strip()[:80]
    fmt = formatter_for(
        request_language(request, str(tenant.locale)), str(tenant.locale), str(tenant.timezone)
    )
    try:
        offset = policy_edit.parse_offset(values.get("offset_days", "0"))
    except PolicyError:
        offset = 0
    customer = None
    if number:
        customer = await scope.objects(Customer).where(Customer.number == number).first()
    if customer is not None:
        filled = await policy_edit.customer_values(
            scope, customer, _business(tenant), fmt, tenant_today(tenant), offset
        )
    else:
        filled = policy_edit.sample_values(_business(tenant), fmt, str(tenant.currency), offset)
    subject, body, unknown = policy_edit.preview_text(values, language, form, filled)
    return {
        "preview": policy_edit.Preview(
            subject,
            body,
            unknown,
            str(customer.name) if customer is not None else "",
            customer_missing=bool(number) and customer is None,
        ),
        "preview_language": language,
        "preview_form": form,
        "preview_customer": number,
    }


async def _stage_page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    staff: StaffUser,
    stage_id: int,
    values: dict[str, str] | None = None,
    error: PolicyError | None = None,
    status_code: int = 200,
    saved: bool = False,
) -> Template:
    try:
        stage, policy = await policy_edit.get_stage(scope, stage_id)
    except PolicyNotFound as exc:
        raise _missing(exc) from None
    values = values if values is not None else policy_edit.form_values(stage)
    return await staff_page(
        request,
        "staff/reminders/stage.html",
        tenant,
        staff,
        status_code=status_code,
        stage=stage,
        policy=policy,
        values=values,
        error=error,
        saved=saved,
        is_owner=str(staff.role) == "owner",
        channels=policy_edit.CHANNELS,
        actions=ACTIONS,
        action_labels=policy_edit.ACTION_LABELS,
        text_languages=LANGUAGES,
        forms=ADDRESS_FORMS,
        placeholders=PLACEHOLDERS,
        **await _preview(request, tenant, scope, values),
    )


@get(
    f"{BASE}/etapas/{{dunning_stage_id:int}}",
    name="staff:reminder_stage",
    operation_id="staff_reminder_stage",
)
async def stage_detail(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    dunning_stage_id: FromPath[int],
) -> Template:
    saved = request.query_params.get("aviso") == "guardado"
    return await _stage_page(request, tenant, tenant_scope, staff, dunning_stage_id, saved=saved)


@get(
    f"{BASE}/etapas/{{dunning_stage_id:int}}/vista-previa",
    name="staff:reminder_preview",
    operation_id="staff_reminder_preview",
)
async def stage_preview(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    dunning_stage_id: FromPath[int],
) -> Template:
    """The preview fragment for the editor's current (unsaved) texts, sent by htmx as a query
    string; without htmx the whole stage page (the stored texts, or the ones in the query)."""
    try:
        stage, _policy = await policy_edit.get_stage(tenant_scope, dunning_stage_id)
    except PolicyNotFound as exc:
        raise _missing(exc) from None
    values = policy_edit.form_values(stage)
    for key in values:
        if key in request.query_params:
            values[key] = str(request.query_params.get(key) or "")[: policy_edit.MAX_BODY + 1]
    if request.headers.get("hx-request") != "true":
        return await _stage_page(
            request, tenant, tenant_scope, staff, dunning_stage_id, values=values
        )
    return await _preview_fragment(request, tenant, tenant_scope, values)


async def _preview_fragment(
    request: Request, tenant: Tenant, scope: TenantScope, values: dict[str, str]
) -> Template:
    return await render(
        request,
        "staff/reminders/_preview.html",
        tenant,
        staff_base=staff_base(request),
        **await _preview(request, tenant, scope, values),
    )


@post(
    f"{BASE}/etapas/{{dunning_stage_id:int}}",
    name="staff:reminder_stage_save",
    operation_id="staff_reminder_stage_save",
)
async def stage_save(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    dunning_stage_id: FromPath[int],
) -> Template | Redirect:
    form = await form_data(request)
    values = {k: v[: policy_edit.MAX_BODY + 1] for k, v in form.items()}
    if form.get("accion") == "vista-previa":  # a preview: show, store nothing
        try:
            await policy_edit.get_stage(tenant_scope, dunning_stage_id)
        except PolicyNotFound as exc:
            raise _missing(exc) from None
        if request.headers.get("hx-request") == "true":
            return await _preview_fragment(request, tenant, tenant_scope, values)
        return await _stage_page(
            request, tenant, tenant_scope, owner_staff, dunning_stage_id, values=values
        )
    try:
        await policy_edit.update_stage(tenant_scope, dunning_stage_id, form, owner_staff)
    except PolicyNotFound as exc:
        raise _missing(exc) from None
    except PolicyError as exc:
        return await _stage_page(
            request,
            tenant,
            tenant_scope,
            owner_staff,
            dunning_stage_id,
            values=values,
            error=exc,
            status_code=400,
        )
    return Redirect(
        f"{staff_base(request)}{BASE}/etapas/{dunning_stage_id}?aviso=guardado", status_code=303
    )


@post(
    f"{BASE}/etapas/{{dunning_stage_id:int}}/eliminar",
    name="staff:reminder_stage_delete",
    operation_id="staff_reminder_stage_delete",
)
async def stage_delete(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    dunning_stage_id: FromPath[int],
) -> Redirect:
    try:
        policy_id = await policy_edit.delete_stage(tenant_scope, dunning_stage_id, owner_staff)
    except PolicyNotFound as exc:
        raise _missing(exc) from None
    return Redirect(
        f"{staff_base(request)}{BASE}?aviso=etapa-eliminada#politica-{policy_id}", status_code=303
    )


# --- contacts -----------------------------------------------------------------------------------


@get(f"{BASE}/envios", name="staff:reminder_contacts", operation_id="staff_reminder_contacts")
async def contacts_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    filters = contact_log.ContactFilters.from_query(request.query_params)
    page = await contact_log.contact_page(tenant_scope, filters)
    return await staff_page(
        request,
        "staff/reminders/contacts.html",
        tenant,
        staff,
        page=page,
        filters=filters,
        statuses=contact_log.STATUSES,
        previous_link="?" + urlencode(filters.query(page.page - 1)),
        next_link="?" + urlencode(filters.query(page.page + 1)),
    )


async def _calls(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    staff: StaffUser,
    error: str = "",
    error_id: int = 0,
    status_code: int = 200,
) -> Template:
    return await staff_page(
        request,
        "staff/reminders/calls.html",
        tenant,
        staff,
        status_code=status_code,
        calls=await contact_log.pending_calls(scope),
        outcomes=contact_log.OUTCOMES,
        error=error,
        error_id=error_id,
        notice=str(request.query_params.get("aviso") or ""),
    )


@get(f"{BASE}/llamadas", name="staff:reminder_calls", operation_id="staff_reminder_calls")
async def calls_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    return await _calls(request, tenant, tenant_scope, staff)


@post(
    f"{BASE}/envios/{{contact_attempt_id:int}}/resultado",
    name="staff:reminder_call_outcome",
    operation_id="staff_reminder_call_outcome",
)
async def call_outcome(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    contact_attempt_id: FromPath[int],
) -> Template | Redirect:
    form = await form_data(request)
    try:
        await contact_log.record_call_outcome(
            tenant_scope,
            contact_attempt_id,
            form.get("resultado", "")[:30],
            form.get("nota", "")[: contact_log.MAX_NOTE + 1],
            acting_staff,
        )
    except contact_log.ContactNotFound as exc:
        raise _missing(exc) from None
    except contact_log.ContactConflict as exc:
        return await _calls(
            request, tenant, tenant_scope, acting_staff, str(exc), contact_attempt_id, 409
        )
    except contact_log.ContactError as exc:
        return await _calls(
            request, tenant, tenant_scope, acting_staff, str(exc), contact_attempt_id, 400
        )
    return Redirect(f"{staff_base(request)}{BASE}/llamadas?aviso=registrada", status_code=303)


ROUTES = [
    reminders_index,
    policy_create,
    policy_delete,
    stage_add,
    stage_detail,
    stage_preview,
    stage_save,
    stage_delete,
    contacts_page,
    calls_page,
    call_outcome,
]
