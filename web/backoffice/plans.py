"""The book of active payment plans and promises to pay, for the tenant's staff to read; and the
staff's own promise and late-fee actions (record or cancel a promise, waive a fee).

The inbox shows what waits for a decision; plans accepted on the spot and promise dates never do,
so this page lists them: customer, amounts, next installment or promised date, and their state.
Broken promises stay listed (the e-mail to staff is sent once; the list is where they are seen).
"""

from __future__ import annotations

from datetime import date

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.billing.errors import RecordConflict, RecordNotFound, actor_name
from recaudo.core.casework import review as inbox
from recaudo.core.collections import promises
from recaudo.core.collections.late_fees import waive_charge
from recaudo.core.collections.plan_book import active_plan_rows
from recaudo.core.tables import Customer, Invoice, StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope, as_id
from recaudo.web.amounts import read_amount
from recaudo.web.backoffice import late_fee_settings
from recaudo.web.backoffice.common import staff_base, staff_page
from recaudo.web.portal.common import tenant_today

MAX_INVOICES = 200


@get("/plans", name="staff:plans", operation_id="staff_plans")
async def plans_book(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    today = tenant_today(tenant)
    rows = await promises.book(tenant_scope, str(tenant.timezone), ("pending", "broken", "kept"))
    return await staff_page(
        request,
        "staff/plans.html",
        tenant,
        staff,
        today=today,
        plans=await active_plan_rows(tenant_scope, today),
        pending=[r for r in rows if r.status == "pending"],
        broken=sorted(
            (r for r in rows if r.status == "broken"),
            key=lambda r: r.promised_date,
            reverse=True,
        ),
        kept=sorted(
            (r for r in rows if r.status == "kept"), key=lambda r: r.promised_date, reverse=True
        )[:50],
    )


@post(
    "/clientes/{customer_id:int}/promesas",
    name="staff:promise_create",
    operation_id="staff_promise_create",
)
async def promise_create(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    customer_id: FromPath[int],
) -> Redirect:
    """A promise staff took for a customer: date, invoices, amount (blank: their balance)."""
    customer = await tenant_scope.get(Customer, customer_id)
    if customer is None:
        raise inbox.NotFound("Cliente no encontrado.")
    form = await request.form()
    ids = [as_id(v) for v in form.getall("factura", [])[:MAX_INVOICES]]
    if not ids or None in ids:
        raise inbox.InboxError("Elige al menos una factura pendiente.")
    invoice_ids = [i for i in ids if i is not None]
    try:
        when = date.fromisoformat(str(form.get("fecha") or "").strip()[:10])
    except ValueError:
        raise inbox.InboxError("Elige una fecha válida.") from None
    first = await tenant_scope.get(Invoice, invoice_ids[0])
    if first is None or int(first.customer) != int(customer.id):
        raise inbox.InboxError("Elige facturas pendientes de este cliente que no estén en un plan.")
    amount: int | None = None
    typed = str(form.get("monto") or "").strip()
    if typed:
        money, problem = read_amount(request, tenant, typed, str(first.currency))
        if money is None:
            raise inbox.InboxError(problem)
        amount = money.amount
    try:
        await promises.staff_promise(
            tenant_scope,
            int(customer.id),
            tenant_today(tenant),
            invoice_ids=invoice_ids,
            promised_date=when,
            amount=amount,
            note=str(form.get("nota") or "")[: promises.MAX_NOTE],
            actor=actor_name(acting_staff),
        )
    except promises.PromiseError as exc:
        raise inbox.InboxError(str(exc)) from None
    return Redirect(f"{staff_base(request)}/clientes/{customer.id}#promesas", status_code=303)


@post(
    "/promesas/{promise_id:int}/cancelar",
    name="staff:promise_cancel",
    operation_id="staff_promise_cancel",
)
async def promise_cancel(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    promise_id: FromPath[int],
) -> Redirect:
    try:
        await promises.cancel_promise(tenant_scope, promise_id, actor_name(acting_staff))
    except LookupError:
        raise inbox.NotFound("Promesa no encontrada.") from None
    except promises.PromiseError as exc:
        raise inbox.Conflict(str(exc)) from None
    return Redirect(f"{staff_base(request)}/plans", status_code=303)


@post(
    "/cargos/{charge_id:int}/condonar",
    name="staff:charge_waive",
    operation_id="staff_charge_waive",
)
async def charge_waive(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    charge_id: FromPath[int],
) -> Redirect:
    """An owner takes a late fee back (audited); the invoice's total drops by its amount."""
    try:
        charge = await waive_charge(tenant_scope, charge_id, actor_name(owner_staff))
    except RecordNotFound:
        raise inbox.NotFound("Recargo no encontrado.") from None
    except RecordConflict as exc:
        message = (
            "Este recargo ya fue condonado."
            if "waived" in str(exc)
            else "Este recargo ya está pagado: usa una nota de crédito o una devolución."
        )
        raise inbox.Conflict(message) from None
    return Redirect(f"{staff_base(request)}/facturas/{charge.invoice}#recargos", status_code=303)


# The late-fee settings page rides along, so the staff router needs no new import line.
ROUTES = [plans_book, promise_create, promise_cancel, charge_waive, *late_fee_settings.ROUTES]
