"""A customer's credit in the back office: the evaluation with its reasons, suggested against
current limit and terms, the decision form and the history of decisions. Thin: the model and the
rules live in ``core/workspace/credit.py``."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.casework import review as inbox
from recaudo.core.tables import Customer, Invoice, StaffUser
from recaudo.core.workspace import credit
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.amounts import read_amount
from recaudo.web.backoffice.common import form_data, staff_base, staff_page
from recaudo.web.portal.common import tenant_today

NOT_FOUND = "Cliente no encontrado."
BAD_TERMS = "Escribe el plazo en días, un número entero de 0 a 365."


async def _page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    staff: StaffUser,
    customer_id: int,
    *,
    error: str = "",
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    customer = await scope.get(Customer, customer_id)
    evaluation = await credit.evaluate(scope, customer_id, tenant_today(tenant))
    if customer is None or evaluation is None:
        raise inbox.NotFound(NOT_FOUND)
    return await staff_page(
        request,
        "staff/workspace/credit.html",
        tenant,
        staff,
        status_code=status_code,
        customer=customer,
        evaluation=evaluation,
        decisions=await credit.history(scope, int(customer.id)),
        decision_labels=credit.DECISION_LABELS,
        error=error,
        values=values or {},
        saved=request.query_params.get("guardado") == "1",
    )


@get(
    "/clientes/{customer_id:int}/credito",
    name="staff:customer_credit",
    operation_id="staff_customer_credit",
)
async def credit_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    customer_id: FromPath[int],
) -> Template:
    return await _page(request, tenant, tenant_scope, staff, customer_id)


@post(
    "/clientes/{customer_id:int}/credito",
    name="staff:customer_credit_decide",
    operation_id="staff_customer_credit_decide",
)
async def credit_decide(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    customer_id: FromPath[int],
) -> Template | Redirect:
    form = await form_data(request)
    values = {k: form.get(k, "").strip() for k in ("decision", "limite", "plazo", "nota")}
    if await tenant_scope.get(Customer, customer_id) is None:
        raise inbox.NotFound(NOT_FOUND)
    limit: int | None = None
    terms: int | None = None
    error = ""
    if values["decision"] == "adjusted":
        money, error = read_amount(request, tenant, values["limite"], str(tenant.currency))
        limit = money.amount if money is not None else None
        if not error:
            text = values["plazo"]
            if not (text.isascii() and text.isdigit() and len(text) <= 3):
                error = BAD_TERMS
            else:
                terms = int(text)
    if not error:
        try:
            await credit.decide(
                tenant_scope,
                customer_id,
                acting_staff,
                values["decision"],
                limit,
                terms,
                values["nota"],
                tenant_today(tenant),
            )
        except credit.CreditError as exc:
            error = str(exc)
    if error:
        return await _page(
            request,
            tenant,
            tenant_scope,
            acting_staff,
            customer_id,
            error=error,
            values=values,
            status_code=400,
        )
    return Redirect(
        f"{staff_base(request)}/clientes/{customer_id}/credito?guardado=1", status_code=303
    )


async def invoice_limit_warning(scope: TenantScope, invoice: Invoice) -> credit.Reason | None:
    """On an open invoice's page (where staff land after creating one): whether the customer's
    open balance with it is over their credit limit. A banner, not an error: staff decide."""
    if invoice.status not in ("open", "partially_paid") or invoice.balance <= 0:
        return None
    return await credit.limit_check(
        scope,
        int(invoice.customer),
        invoice.balance,
        str(invoice.currency),
        exclude_invoice=int(invoice.id),
    )


ROUTES = [credit_page, credit_decide]
