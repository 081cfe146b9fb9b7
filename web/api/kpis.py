"""``GET /api/v1/kpis``: the collection KPIs of the key's tenant, the document ``recaudo kpis
--json`` prints (:func:`recaudo.core.workspace.kpis.reports_as_json`). Any key may read it."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import Parameter

from recaudo.core.access.apikeys import ApiCaller
from recaudo.core.tenant_settings.tenant_rows import fresh_tenant
from recaudo.core.workspace.kpis import (
    KpiInputError,
    currency_of,
    filters_from,
    kpi_report,
    kpi_reports,
    reports_as_json,
)
from recaudo.tenants.scoped import TenantScope
from recaudo.web.api.errors import ERROR_RESPONSES, field_error

Day = Annotated[date | None, Parameter(description="YYYY-MM-DD.")]

DESCRIPTION = """\
DSO, CEI, the aging buckets (which add up to `open_balance`), average days delinquent, the
promise-to-pay kept rate, the share of bank payments reconciled by rules, money recovered per
dunning stage and per channel, the monthly DSO trend and due vs. collected per week.

Balances are taken at `at` (default: the tenant's today); DSO and CEI measure the period
`start`..`end` (default: the 90 days ending at `at`). Money is integer minor units of
`currency`; days and rates are decimal strings (`"0.8731"` is 87.31 %), `null` when undefined.
The tenant's currency is at the top level, any other under `other_currencies`."""


@get("/kpis", responses=ERROR_RESPONSES, summary="Collection KPIs", description=DESCRIPTION)
async def get_kpis(
    caller: NamedDependency[ApiCaller],
    api_scope: NamedDependency[TenantScope],
    at: Day = None,
    start: Day = None,
    end: Day = None,
    segment: Annotated[
        str | None, Parameter(max_length=40, description="Only customers of this segment.")
    ] = None,
    collector: Annotated[
        str | None,
        Parameter(
            max_length=254, description="Only this collector's customers: staff id or e-mail."
        ),
    ] = None,
    currency: Annotated[
        str | None, Parameter(max_length=3, description="Only this ISO 4217 currency.")
    ] = None,
) -> dict[str, Any]:
    try:
        filters = await filters_from(
            api_scope,
            at=at.isoformat() if at else None,
            start=start.isoformat() if start else None,
            end=end.isoformat() if end else None,
            segment=segment,
            collector=collector,
        )
        code = currency_of(currency)
    except KpiInputError as exc:
        field, _, message = str(exc).partition(": ")
        if not message:
            field, message = "period", str(exc)
        raise field_error(400, field, message) from None
    if code is None:
        reports = await kpi_reports(api_scope, filters)
    else:
        reports = [await kpi_report(api_scope, filters, code)]
    tenant = await fresh_tenant(caller.tenant_id)
    return reports_as_json(reports, str(tenant.slug))


ROUTES = [get_kpis]
