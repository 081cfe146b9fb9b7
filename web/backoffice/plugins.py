"""Plugins that failed for this tenant recently, for the staff who can act on it.

Owners and collectors only (``acting_staff``): messages come from plugin code and may name
provider details a read-only viewer has no use for. Everything shown is escaped by the templates.
The inbox shows a one-line notice linking here while there is a recent failure.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from recaudo.core.platform.guard import RECENT, FailureSummary, recent_failures
from recaudo.core.tables import StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.plugin_config import enabled_plugins
from recaudo.tenants.scoped import TenantScope
from recaudo.web.backoffice.common import staff_page


async def tenant_failures(scope: TenantScope) -> list[FailureSummary]:
    """This tenant's recent plugin failures, and the process-wide ones of its enabled plugins."""
    return await recent_failures(scope.tenant_id, await enabled_plugins(scope))


@get("/plugins", name="staff:plugins", operation_id="staff_plugins")
async def plugins_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
) -> Template:
    return await staff_page(
        request,
        "staff/plugins.html",
        tenant,
        acting_staff,
        failures=await tenant_failures(tenant_scope),
        recent_days=RECENT.days,
    )


ROUTES: list[Any] = [plugins_page]
