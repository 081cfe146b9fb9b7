"""The book of active payment plans and promises to pay, for the tenant's staff to read.

The inbox shows what waits for a decision; plans accepted on the spot and promise dates never do,
so this page lists them: customer, amounts, next installment or promised date, and their state.
"""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from recaudo.core.collections.plan_book import active_plan_rows, open_promise_rows
from recaudo.core.tables import StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.backoffice.common import staff_page
from recaudo.web.portal.common import tenant_today


@get("/plans", name="staff:plans", operation_id="staff_plans")
async def plans_book(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    today = tenant_today(tenant)
    return await staff_page(
        request,
        "staff/plans.html",
        tenant,
        staff,
        today=today,
        plans=await active_plan_rows(tenant_scope, today),
        promises=await open_promise_rows(tenant_scope, str(tenant.currency)),
    )


ROUTES = [plans_book]
