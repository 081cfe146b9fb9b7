"""The KPI dashboard of the back office (``/staff/indicadores``): cards, charts, tables and the
numbers behind them as CSV/XLSX, for any signed-in staff (viewers too: it only reads).

Thin over :mod:`recaudo.core.workspace.kpis`, which computes the figures set-based in SQL; this
module only reads the filters (a GET form, so every view is a link), words the figures and draws
the charts with :mod:`recaudo.web.charts`. A bad filter answers the page itself with a 400 and
the reason, so the form is right there to fix it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from litestar import Request, get
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath
from litestar.response import Response, Template
from markupsafe import Markup

from recaudo.core.common.money import Money
from recaudo.core.messaging.i18n import formatter_for, translations
from recaudo.core.tables import Customer, StaffUser
from recaudo.core.workspace import kpis
from recaudo.core.workspace.definitions import DEFINITIONS
from recaudo.core.workspace.values import KpiFilters, KpiReport
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web import charts
from recaudo.web.backoffice import dashboard_export as export
from recaudo.web.backoffice.common import staff_page
from recaudo.web.portal.common import tenant_today
from recaudo.web.templating import request_language

BAD_DATE = "Escribe las fechas del periodo como AAAA-MM-DD."
BAD_ORDER = "El inicio del periodo debe ser anterior o igual a su fin."
FUTURE = "El periodo no puede terminar después de hoy."
TOO_LONG = "El periodo no puede pasar de dos años."
BAD_SEGMENT = "Ese segmento no existe en esta cuenta."
BAD_COLLECTOR = "Ese cobrador no es parte del equipo de esta cuenta."
BAD_CURRENCY = "Esta cuenta no tiene facturas en esa moneda."
UNKNOWN_DATASET = "No hay datos con ese nombre."
MESSAGES = (
    BAD_DATE,
    BAD_ORDER,
    FUTURE,
    TOO_LONG,
    BAD_SEGMENT,
    BAD_COLLECTOR,
    BAD_CURRENCY,
    UNKNOWN_DATASET,
)
MAX_DAYS = 731
#: Short names of the aging buckets under the bars (the table says them in full).
BUCKET_TICKS = {"current": "Al día", "1_30": "1–30", "31_60": "31–60", "61_90": "61–90"}
#: The cards, in order: (definition key, label, which figure, how it reads).
CARDS = (
    ("dso", "DSO", "dso", "days"),
    ("cei", "CEI", "cei", "rate"),
    ("add", "Días promedio de atraso", "average_days_delinquent", "days"),
    ("promise_kept_rate", "Promesas cumplidas", "promise_kept_rate", "rate"),
    ("auto_reconciled_share", "Conciliación automática", "auto_reconciled_share", "rate"),
    ("aging", "Saldo abierto", "open_balance", "money"),
    ("aging", "Saldo vencido", "overdue_balance", "money"),
)


class BadFilter(Exception):
    """A filter the dashboard cannot use; its message (Spanish) says why."""


@dataclass(frozen=True)
class Choices:
    """What the filter form offers: the tenant's segments, team and currencies in use."""

    segments: tuple[str, ...]
    collectors: tuple[tuple[int, str], ...]
    currencies: tuple[str, ...]


@dataclass(frozen=True)
class Selection:
    filters: KpiFilters
    currency: str


async def choices(scope: TenantScope) -> Choices:
    """Distinct segments (non-empty), staff users by name, currencies of invoices (the tenant's
    own first): three small reads."""
    segments = await (
        scope.select(Customer, Customer.segment).where(Customer.segment != "").distinct().run()
    )
    team = await scope.select(StaffUser, StaffUser.id, StaffUser.name, StaffUser.email).run()
    currencies = await kpis.currencies_in_use(scope)
    return Choices(
        tuple(sorted(str(r["segment"]) for r in segments)),
        tuple(
            sorted(
                ((int(r["id"]), str(r["name"] or r["email"])) for r in team),
                key=lambda pair: pair[1].lower(),
            )
        ),
        tuple(currencies),
    )


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise BadFilter(BAD_DATE) from None
    if day.year < 1900:  # also keeps "the 90 days before" from running off the calendar
        raise BadFilter(BAD_DATE)
    return day


def parse(query: Mapping[str, str], options: Choices, today: date) -> Selection:
    """The filters of a request (``desde``, ``hasta``, ``segmento``, ``cobrador``, ``moneda``);
    missing ones take the defaults (the 90 days ending today, all, the tenant's currency)."""
    segment = (query.get("segmento") or "").strip()
    if segment and segment not in options.segments:
        raise BadFilter(BAD_SEGMENT)
    collector_text = (query.get("cobrador") or "").strip()
    collector: int | None = None
    if collector_text:
        ids = {cid for cid, _name in options.collectors}
        if not collector_text.isdigit() or int(collector_text) not in ids:
            raise BadFilter(BAD_COLLECTOR)
        collector = int(collector_text)
    currency = (query.get("moneda") or "").strip().upper() or options.currencies[0]
    if currency not in options.currencies:
        raise BadFilter(BAD_CURRENCY)
    end_text, start_text = (query.get("hasta") or "").strip(), (query.get("desde") or "").strip()
    end = _day(end_text) if end_text else today
    # Without a start, the default length (90 days) ending at the chosen end.
    defaults = kpis.default_filters(end, segment=segment, collector_id=collector)
    start = _day(start_text) if start_text else defaults.start
    if start > end:
        raise BadFilter(BAD_ORDER)
    if end > today:
        raise BadFilter(FUTURE)
    if (end - start).days > MAX_DAYS:
        raise BadFilter(TOO_LONG)
    # Balances are taken at the period's end: a past period shows the book as it stood then.
    filters = KpiFilters(at=end, start=start, end=end, segment=segment, collector_id=collector)
    return Selection(filters, currency)


def query_of(selection: Selection, options: Choices) -> str:
    """The filters as a query string, for the download links (same figures as the page)."""
    f = selection.filters
    pairs = [("desde", f.start.isoformat()), ("hasta", f.end.isoformat())]
    if f.segment:
        pairs.append(("segmento", f.segment))
    if f.collector_id is not None:
        pairs.append(("cobrador", str(f.collector_id)))
    if len(options.currencies) > 1:
        pairs.append(("moneda", selection.currency))
    return urlencode(pairs)


# --- wording --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Words:
    """How figures read on this page: the language's numbers, the tenant's money."""

    locale: str
    money_locale: str
    gettext: Callable[[str], str]

    def percent(self, value: Decimal | None) -> str:
        if value is None:
            return "—"
        return str(format_percent(value, format="#,##0.0%", locale=self.locale))

    def days(self, value: Decimal | None) -> str:
        if value is None:
            return "—"
        return self.gettext("%(n)s días") % {"n": format_decimal(value, "#,##0.0", self.locale)}

    def money(self, amount: int | None, currency: str) -> str:
        if amount is None:
            return "—"
        return Money(currency, int(amount)).format(self.money_locale)

    def major(self, amount: int, currency: str) -> Decimal:
        return Money(currency, int(amount)).to_decimal()


def cards(report: KpiReport, words: Words) -> list[dict[str, Any]]:
    out = []
    for key, label, attr, kind in CARDS:
        value = getattr(report, attr)
        if kind == "money":
            text = words.money(value, report.currency)
        elif kind == "rate":
            text = words.percent(value)
        else:
            text = words.days(value)
        out.append({"key": key, "id": attr, "label": label, "text": text})
    return out


def draw(report: KpiReport, words: Words) -> dict[str, Markup]:
    """The three charts of a report, worded for the page."""
    _ = words.gettext
    cur = report.currency
    money_tick = charts.compact(words.locale)
    aging = charts.bar_chart(
        [
            charts.Bar(
                _(BUCKET_TICKS.get(b.key, f"{b.from_days}+")),
                words.major(b.amount, cur),
                words.money(b.amount, cur),
            )
            for b in report.aging
        ],
        chart_id="chart-aging",
        title=_("Antigüedad de saldos") + f" ({cur})",
        desc=_("Saldo abierto por días de atraso: al día, 1–30, 31–60, 61–90 y más de 90."),
        tick=money_tick,
    )
    dso = charts.line_chart(
        [
            charts.Point(
                format_date(p.period, "MMM", locale=words.locale),
                _decimal(p.values.get("dso")),
                words.days(_decimal(p.values.get("dso"))),
            )
            for p in report.dso_trend
        ],
        chart_id="chart-dso",
        title=_("Tendencia del DSO"),
        desc=_("DSO de cada uno de los últimos 12 meses, en días."),
        tick=lambda v: str(format_decimal(v, "#,##0.#", locale=words.locale)),
    )
    weekly = charts.paired_bar_chart(
        [
            charts.Pair(
                format_date(p.period, "d MMM", locale=words.locale),
                words.major(_int(p.values.get("due")), cur),
                words.major(_int(p.values.get("collected")), cur),
                words.money(_int(p.values.get("due")), cur),
                words.money(_int(p.values.get("collected")), cur),
            )
            for p in report.weekly
        ],
        chart_id="chart-weekly",
        title=_("Cobrado contra vencido por semana") + f" ({cur})",
        desc=_("Por cada una de las últimas 12 semanas: lo que vencía y lo que se cobró."),
        tick=money_tick,
        series=(_("Por cobrar"), _("Cobrado")),
    )
    return {"aging": aging, "dso_trend": dso, "weekly": weekly}


def _decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | Decimal) else 0


def _words(request: Request, tenant: Tenant) -> Words:
    """The page's formatter's locales (as every page), with its translation function."""
    language = request_language(request, tenant.locale)
    fmt = formatter_for(language, tenant.locale, tenant.timezone)
    return Words(fmt.locale, fmt.money_locale, translations(language).gettext)


# --- routes ---------------------------------------------------------------------------------------


async def _select(
    request: Request, tenant: Tenant, scope: TenantScope
) -> tuple[Choices, Selection | None, str]:
    options = await choices(scope)
    query = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    try:
        return options, parse(query, options, tenant_today(tenant)), ""
    except BadFilter as exc:
        return options, None, str(exc)


@get("/indicadores", name="staff:dashboard", operation_id="staff_dashboard")
async def dashboard_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    """Cards, charts and tables for the chosen period, segment, collector and currency."""
    options, selection, error = await _select(request, tenant, tenant_scope)
    words = _words(request, tenant)
    context: dict[str, Any] = {
        "options": options,
        "error": error,
        "query": request.query_params,
        "datasets": export.DATASETS,
    }
    if selection is not None:
        report = await kpis.kpi_report(tenant_scope, selection.filters, selection.currency)
        context.update(
            selection=selection,
            report=report,
            cards=cards(report, words),
            charts=draw(report, words),
            words=words,
            download_query=query_of(selection, options),
            definitions=DEFINITIONS,
        )
    return await staff_page(
        request,
        "staff/workspace/dashboard.html",
        tenant,
        staff,
        status_code=400 if error else 200,
        **context,
    )


@get(
    "/indicadores/definiciones",
    name="staff:dashboard_definitions",
    operation_id="staff_dashboard_definitions",
)
async def definitions_page(
    request: Request, tenant: NamedDependency[Tenant], staff: NamedDependency[StaffUser]
) -> Template:
    """Every indicator's definition and formula, each under an anchor the cards link to."""
    return await staff_page(
        request,
        "staff/workspace/dashboard_definitions.html",
        tenant,
        staff,
        definitions=DEFINITIONS,
    )


MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@get(
    "/indicadores/datos/{archivo:str}",
    name="staff:dashboard_data",
    operation_id="staff_dashboard_data",
)
async def dashboard_data(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    archivo: FromPath[str],
) -> Response[bytes]:
    """``<dataset>.csv`` or ``<dataset>.xlsx`` with the page's filters: the numbers behind one
    chart, table or the cards."""
    name, _dot, extension = archivo.rpartition(".")
    if name not in export.DATASETS or extension not in export.FORMATS:
        raise NotFoundException(UNKNOWN_DATASET)
    _options, selection, error = await _select(request, tenant, tenant_scope)
    if selection is None:
        raise HTTPException(status_code=400, detail=error)
    report = await kpis.kpi_report(tenant_scope, selection.filters, selection.currency)
    words = _words(request, tenant)
    data = export.table(report, name, words.gettext)
    f = selection.filters
    body = export.to_csv(data) if extension == "csv" else export.to_xlsx(data, name)
    fname = export.filename(str(tenant.slug), name, f.start, f.end, extension)
    return Response(
        body,
        media_type=MEDIA[extension],
        headers={
            "content-disposition": f'attachment; filename="{fname}"',
            "x-content-type-options": "nosniff",
        },
    )


ROUTES: list[Any] = [dashboard_page, definitions_page, dashboard_data]
