"""Ajustes → Mensajes (owners only): the monthly statement switch and the formal reminder
letter's text per language, with "Descargar ejemplo" — a PDF of the letter as typed, filled with
a made-up customer, so the owner sees it before saving (and without a customer of their own).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from recaudo.core.casework.review.common import actor
from recaudo.core.collections.policies import PLACEHOLDERS
from recaudo.core.messaging import letters
from recaudo.core.tables import StaffUser
from recaudo.core.tenant_settings import messages
from recaudo.core.tenant_settings.errors import FormErrors
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.backoffice.common import form_data, staff_base, staff_page


async def _page(
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
        "staff/settings/messages.html",
        tenant,
        owner,
        status_code=status_code,
        values=messages.message_values(tenant, typed),
        placeholders=PLACEHOLDERS,
        letter_languages=letters.LANGUAGES,
        errors=errors,
        saved=request.query_params.get("aviso") == "guardado",
    )


@get("/ajustes/mensajes", name="staff:settings_messages", operation_id="staff_settings_messages")
async def messages_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    owner_staff: NamedDependency[StaffUser],
) -> Template:
    return await _page(request, tenant, owner_staff)


@post("/ajustes/mensajes", name="staff:settings_messages_save", operation_id="staff_messages_save")
async def messages_save(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    form = await form_data(request)
    try:
        await messages.save_messages(tenant_scope, tenant, form, actor(owner_staff))
    except FormErrors as exc:
        return await _page(request, tenant, owner_staff, errors=exc, typed=form, status_code=400)
    return Redirect(f"{staff_base(request)}/ajustes/mensajes?aviso=guardado", status_code=303)


@post(
    "/ajustes/mensajes/ejemplo",
    name="staff:settings_letter_sample",
    operation_id="staff_letter_sample",
    status_code=200,
)
async def letter_sample(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template | Response[bytes]:
    """The letter as typed (not yet saved) in the chosen language, as a PDF download."""
    form = await form_data(request)
    language = str(form.get("ejemplo") or "es")
    if language not in letters.LANGUAGES:
        language = "es"
    try:
        cleaned: dict[str, Any] = messages.clean_messages(form)
    except FormErrors as exc:
        return await _page(request, tenant, owner_staff, errors=exc, typed=form, status_code=400)
    body = cleaned[letters.POLICY_KEY].get(language, "")
    data = letters.sample_data(tenant, language, body)
    data = letters.LetterData(**{**data.__dict__, "logo": await letters.logo_data(tenant_scope)})
    pdf = await letters.render_pdf(data, tenant)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{letters.filename_for(data)}"'},
    )


ROUTES: list[Any] = [messages_page, messages_save, letter_sample]
