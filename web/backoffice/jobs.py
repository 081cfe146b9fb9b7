"""Background jobs that failed for good (or keep failing), for the tenant's staff.

Staff see only their tenant's jobs (``TenantScope``); owners may put them back in the queue. The
inbox shows a one-line notice linking here whenever there is at least one. Discarding is for jobs
that are moot by now (e.g. an old customer message); it is audited like retrying.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.response import Redirect, Template

from recaudo.core.tables import StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.backoffice.common import form_data, staff_base, staff_page
from recaudo.workers import dead_jobs

OWNER_ONLY = "Solo la administración puede reintentar trabajos."


@get("/trabajos", name="staff:jobs", operation_id="staff_jobs")
async def jobs_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    count, jobs = await dead_jobs.tenant_failed_jobs(tenant_scope)
    return await staff_page(
        request,
        "staff/jobs.html",
        tenant,
        staff,
        failed_count=count,
        failed_jobs=jobs,
        can_retry=staff.role == "owner",
    )


@post("/trabajos/reintentar", name="staff:jobs_retry", operation_id="staff_jobs_retry")
async def jobs_retry(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
) -> Redirect:
    if acting_staff.role != "owner":
        raise PermissionDeniedException(OWNER_ONLY)
    form = await form_data(request)
    choice = form.get("job", "")
    job_id = int(choice) if choice.isdigit() else None
    if job_id is None and choice != "all":
        raise ValidationException("unknown job")
    decide = dead_jobs.discard if form.get("action") == "discard" else dead_jobs.retry
    await decide(tenant_scope, f"staff:{acting_staff.id}", job_id)
    return Redirect(f"{staff_base(request)}/trabajos", status_code=303)


ROUTES: list[Any] = [jobs_page, jobs_retry]
