"""Ajustes → Recargos por atraso (owners): the late-fee policy page."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from recaudo.core.casework.review.common import actor
from recaudo.core.common.money import Money
from recaudo.core.common.money_input import input_text
from recaudo.core.tables import StaffUser
from recaudo.core.tenant_settings.errors import FormErrors
from recaudo.core.tenant_settings.late_fee_policy import late_fee_values, save_late_fees
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.amounts import page_locale, read_amount
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
    values = late_fee_values(tenant, typed)
    return await staff_page(
        request,
        "staff/settings/late_fees.html",
        tenant,
        owner,
        status_code=status_code,
        values=values,
        min_amount_text=values.min_amount_text
        or input_text(Money(str(tenant.currency), values.min_amount), page_locale(request, tenant)),
        errors=errors,
        saved=request.query_params.get("aviso") == "guardado",
    )


@get("/ajustes/recargos", name="staff:settings_late_fees", operation_id="staff_settings_late_fees")
async def late_fees_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    owner_staff: NamedDependency[StaffUser],
) -> Template:
    return await _page(request, tenant, owner_staff)


@post(
    "/ajustes/recargos", name="staff:settings_late_fees_save", operation_id="staff_late_fees_save"
)
async def late_fees_save(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    form = await form_data(request)
    typed_min = str(form.get("min_amount") or "").strip() or "0"
    money, problem = read_amount(request, tenant, typed_min, str(tenant.currency))
    try:
        if money is None:
            raise FormErrors({"min_amount": problem})
        await save_late_fees(tenant_scope, tenant, form, money.amount, actor(owner_staff))
    except FormErrors as exc:
        return await _page(request, tenant, owner_staff, errors=exc, typed=form, status_code=400)
    return Redirect(f"{staff_base(request)}/ajustes/recargos?aviso=guardado", status_code=303)


ROUTES = [late_fees_page, late_fees_save]
