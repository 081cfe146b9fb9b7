"""The collection forecast page (``/staff/indicadores/pronostico``): expected cash per week for
the next 8 weeks per currency, the method in words and its back-test error. Read-only; the
method lives in ``core/workspace/forecast.py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from recaudo.core.tables import StaffUser
from recaudo.core.workspace import forecast
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.backoffice.common import staff_page
from recaudo.web.portal.common import tenant_today

CHART_HEIGHT = 120
BAR_WIDTH = 30
BAR_GAP = 10


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    amount: int
    start: date  # a Monday


def bars(made: forecast.Forecast) -> list[Bar]:
    """One bar per week, scaled to the biggest week (a tiny server-side SVG, no script)."""
    top = max([w.total for w in made.weeks] + [1])
    found = []
    for n, week in enumerate(made.weeks):
        height = round(CHART_HEIGHT * week.total / top)
        found.append(
            Bar(
                x=n * (BAR_WIDTH + BAR_GAP),
                y=CHART_HEIGHT - height,
                height=height,
                amount=week.total,
                start=week.start,
            )
        )
    return found


def percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f} %"


@get("/indicadores/pronostico", name="staff:forecast", operation_id="staff_forecast")
async def forecast_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    at = tenant_today(tenant)
    results = await forecast.forecasts(tenant_scope, at)
    return await staff_page(
        request,
        "staff/workspace/forecast.html",
        tenant,
        staff,
        at=at,
        results=[(made, test, bars(made), percent(test.wape)) for made, test in results],
        chart_height=CHART_HEIGHT,
        bar_width=BAR_WIDTH,
        chart_width=forecast.WEEKS * (BAR_WIDTH + BAR_GAP),
        backtest_weeks=forecast.BACKTEST_WEEKS,
    )


ROUTES = [forecast_page]
