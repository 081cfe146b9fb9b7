"""Back-office recurring invoices ("mensualidades"): list, create, one with what it issued, and
pause / resume / end. Thin adapters over :mod:`recaudo.core.billing.recurring`; changes need
``acting_staff`` and are audited by the service; another tenant's ids are 404.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.billing.recurring import (
    INTERVALS,
    NewRecurring,
    RecurringError,
    create_recurring,
    get_recurring,
    issued_invoices,
    recurring_rows,
    set_status,
)
from recaudo.core.casework import review as inbox
from recaudo.core.casework.review.common import actor
from recaudo.core.tables import Customer, StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.amounts import read_amount
from recaudo.web.backoffice.common import form_data, staff_base, staff_page
from recaudo.web.portal.common import tenant_today

NOT_FOUND = "Mensualidad no encontrada."
FIELDS = (
    "cliente",
    "descripcion",
    "monto",
    "impuesto",
    "moneda",
    "periodo",
    "dia",
    "inicio",
    "plazo",
    "fin",
    "prefijo",
)
ACTIONS = {"pausar": "pause", "reanudar": "resume", "terminar": "end"}


@get("/mensualidades", name="staff:recurring", operation_id="staff_recurring")
async def recurring_list(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    return await staff_page(
        request,
        "staff/recurring.html",
        tenant,
        staff,
        rows=await recurring_rows(tenant_scope),
    )


async def _form(
    request: Request,
    tenant: Tenant,
    staff: StaffUser,
    values: dict[str, str],
    status_code: int = 200,
    error: str = "",
    error_field: str = "",
) -> Template:
    return await staff_page(
        request,
        "staff/recurring_new.html",
        tenant,
        staff,
        status_code=status_code,
        values=values,
        intervals=INTERVALS,
        error=error,
        error_field=error_field,
    )


@get("/mensualidades/nueva", name="staff:recurring_new", operation_id="staff_recurring_new")
async def recurring_new(
    request: Request,
    tenant: NamedDependency[Tenant],
    staff: NamedDependency[StaffUser],
) -> Template:
    today = tenant_today(tenant)
    values = {
        "moneda": str(tenant.currency),
        "periodo": "monthly",
        "inicio": today.isoformat(),
        "plazo": "10",
        "cliente": (request.query_params.get("cliente") or "").strip()[:64],
    }
    return await _form(request, tenant, staff, values)


def _whole(text: str, field: str, message: str) -> int:
    text = text.strip()
    if not text:
        return 0
    if not (text.isascii() and text.isdigit()) or len(text) > 4:
        raise RecurringError(message, field)
    return int(text)


def _day(text: str, field: str, required: bool) -> date | None:
    text = text.strip()
    if not text:
        if required:
            raise RecurringError("Escribe la fecha así: 2026-01-31.", field)
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RecurringError("Escribe la fecha así: 2026-01-31.", field) from None


@post("/mensualidades/nueva", name="staff:recurring_create", operation_id="staff_recurring_create")
async def recurring_create(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    form = await form_data(request)
    values = {k: form.get(k, "").strip() for k in FIELDS}
    try:
        number = values["cliente"]
        customer = (
            await tenant_scope.objects(Customer).where(Customer.number == number).first()
            if number and len(number) <= 64
            else None
        )
        if customer is None:
            raise RecurringError("No hay un cliente con ese número.", "cliente")
        currency = values["moneda"] or str(tenant.currency)
        if len(currency) != 3:
            raise RecurringError("Moneda no válida.", "moneda")
        amount, problem = read_amount(request, tenant, values["monto"], currency)
        if amount is None:
            raise RecurringError(problem, "monto")
        tax = 0
        if values["impuesto"]:
            tax_money, problem = read_amount(request, tenant, values["impuesto"], currency)
            if tax_money is None:
                raise RecurringError(problem, "impuesto")
            tax = tax_money.amount
        start = _day(values["inicio"], "inicio", True)
        assert start is not None
        day = (
            _whole(values["dia"], "dia", "El día del mes va del 1 al 31.")
            if values["dia"]
            else None
        )
        data = NewRecurring(
            customer_id=int(customer.id),
            description=values["descripcion"],
            currency=currency,
            amount=amount.amount,
            start_date=start,
            interval=values["periodo"],
            day_of_month=day,
            tax=tax,
            payment_terms_days=_whole(
                values["plazo"], "plazo", "El plazo de pago va de 0 a 365 días."
            ),
            end_date=_day(values["fin"], "fin", False),
            number_prefix=values["prefijo"],
        )
        row = await create_recurring(tenant_scope, data, actor(acting_staff))
    except RecurringError as exc:
        return await _form(request, tenant, acting_staff, values, 400, str(exc), exc.field)
    return Redirect(f"{staff_base(request)}/mensualidades/{row.id}", status_code=303)


async def _detail(
    request: Request, tenant: Tenant, scope: TenantScope, staff: StaffUser, recurring_id: int,
    status_code: int = 200, **extra: Any,
) -> Template:  # fmt: skip
    row = await get_recurring(scope, recurring_id)
    if row is None:
        raise inbox.NotFound(NOT_FOUND)
    return await staff_page(
        request,
        "staff/recurring_detail.html",
        tenant,
        staff,
        status_code=status_code,
        r=row,
        customer=await scope.get(Customer, int(row.customer)),
        issued=await issued_invoices(scope, int(row.id)),
        **{"error": "", "error_field": "", **extra},
    )


@get(
    "/mensualidades/{recurring_id:int}",
    name="staff:recurring_detail",
    operation_id="staff_recurring_detail",
)
async def recurring_detail(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    recurring_id: FromPath[int],
) -> Template:
    return await _detail(request, tenant, tenant_scope, staff, recurring_id)


@post(
    "/mensualidades/{recurring_id:int}/estado",
    name="staff:recurring_status",
    operation_id="staff_recurring_status",
)
async def recurring_status(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    recurring_id: FromPath[int],
) -> Template | Redirect:
    if await get_recurring(tenant_scope, recurring_id) is None:
        raise inbox.NotFound(NOT_FOUND)
    form = await form_data(request)
    action = ACTIONS.get(form.get("accion", ""))
    try:
        if action is None:
            raise RecurringError("Acción desconocida.", "accion")
        await set_status(
            tenant_scope, recurring_id, action, actor(acting_staff), tenant_today(tenant)
        )
    except RecurringError as exc:
        return await _detail(
            request, tenant, tenant_scope, acting_staff, recurring_id, 400, error=str(exc)
        )
    return Redirect(f"{staff_base(request)}/mensualidades/{recurring_id}", status_code=303)


ROUTES = [recurring_list, recurring_new, recurring_create, recurring_detail, recurring_status]
