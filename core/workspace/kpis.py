"""Collection KPIs (DSO, CEI, aging, average days delinquent, promises, reconciliation, money
recovered by stage and channel) for one tenant and currency, computed set-based in SQL.

A report is seven aggregate queries whatever the number of invoices: the aging at ``at``; one
pass over invoices for the balances, sales and amounts falling due of every date the report
needs; one pass over the ledger's dated movements since the oldest of those dates; promises; bank
lines; and the money recovered by dunning stage and by channel. SQL only compares dates and
timestamps (computed here), so it runs unchanged on SQLite and PostgreSQL.

**Balances on a past day.** An invoice's balance today is ``total - amount_applied`` (what the API
reports). A past balance is rebuilt backwards from it: every movement dated after the day is
undone — allocations (net of reversals), write-offs and credit notes are added back, late fees
taken off (and a waiver given back). A reversal has no date of its own, so it counts as of its
allocation's date; a voided invoice counts on no day. Days are the tenant's calendar days.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from recaudo.core.db import engine
from recaudo.core.tenant_settings.tenant_rows import fresh_tenant
from recaudo.core.workspace.values import (
    AgingBucket,
    AmountBy,
    KpiFilters,
    KpiReport,
    SeriesPoint,
)
from recaudo.tenants.scoped import TenantScope

#: The default period: the 90 days ending at ``at`` (a quarter, what DSO is usually quoted on).
DEFAULT_PERIOD_DAYS = 90
#: Money applied counts for the last stage or contact of at most this many days before it.
LOOK_BACK_DAYS = 30
TREND_MONTHS = 12
WEEKS = 12
#: A day far enough ahead that no invoice is issued after it: "no issue-date limit".
NO_LIMIT = date(9999, 12, 31)

DAYS = Decimal("0.1")
FRACTION = Decimal("0.0001")

#: (key, Spanish label, from_days, to_days): days past due, both ends inclusive.
BUCKETS: tuple[tuple[str, str, int, int | None], ...] = (
    ("current", "Al corriente", 0, 0),
    ("1_30", "1–30 días", 1, 30),
    ("31_60", "31–60 días", 31, 60),
    ("61_90", "61–90 días", 61, 90),
    ("90_plus", "Más de 90 días", 91, None),
)

NO_STAGE = ("none", "Sin recordatorio")
NO_CONTACT = ("none", "Sin contacto")
CHANNEL_LABELS = {
    "email": "Correo electrónico",
    "whatsapp": "WhatsApp",
    "sms": "SMS",
    "phone": "Llamada",
    "letter": "Carta",
}


# --- periods ------------------------------------------------------------------------------------


def default_filters(at: date, *, segment: str = "", collector_id: int | None = None) -> KpiFilters:
    """The dashboard's first view: balances at ``at``, the period the 90 days ending at ``at``."""
    return KpiFilters(
        at=at,
        start=at - timedelta(days=DEFAULT_PERIOD_DAYS - 1),
        end=at,
        segment=segment.strip(),
        collector_id=collector_id,
    )


def _month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def trend_months(at: date) -> list[tuple[date, date]]:
    """The last 12 calendar months as (first day, last day counted): the month of ``at`` ends
    at ``at``."""
    out = []
    for back in range(TREND_MONTHS - 1, -1, -1):
        first = _month_start(at, back)
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        out.append((first, min(last, at)))
    return out


def trend_weeks(at: date) -> list[date]:
    """The Mondays of the last 12 ISO weeks, the week of ``at`` last."""
    monday = at - timedelta(days=at.weekday())
    return [monday - timedelta(weeks=back) for back in range(WEEKS - 1, -1, -1)]


# --- arithmetic ---------------------------------------------------------------------------------


def _ratio(num: int | Decimal, den: int | Decimal, unit: Decimal) -> Decimal | None:
    if not den:
        return None
    return (Decimal(num) / Decimal(den)).quantize(unit, rounding=ROUND_HALF_UP)


def dso_of(receivables: int, sales: int, days: int) -> Decimal | None:
    """Days sales outstanding: receivables / credit sales × days; None without sales."""
    if sales <= 0:
        return None
    return _ratio(Decimal(receivables) * days, sales, DAYS)


def cei_of(opening: int, sales: int, closing: int, closing_current: int) -> Decimal | None:
    """Collection effectiveness: what was collected of what could have been collected."""
    den = opening + sales - closing_current
    if den <= 0:
        return None
    return _ratio(opening + sales - closing, den, FRACTION)


# --- SQL building -------------------------------------------------------------------------------


@dataclass
class _Sql:
    """SQL text and its ``{}`` values, kept in the order they appear."""

    parts: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def add(self, text: str, *args: Any) -> _Sql:
        self.parts.append(text)
        self.args.extend(args)
        return self

    def text(self, sep: str = "") -> str:
        return sep.join(self.parts)


def _postgres() -> bool:
    return engine().engine_type in ("postgres", "cockroach")


def _minus_days(expr: str, days: int) -> str:
    """``expr`` (a timestamp column) minus ``days``: the two databases spell it differently."""
    if _postgres():
        return f"({expr} - INTERVAL '{int(days)} days')"
    return f"datetime({expr}, '-{int(days)} days')"


@dataclass(frozen=True)
class _Context:
    currency: str
    filters: KpiFilters
    today: date
    zone: ZoneInfo

    def end_of(self, day: date) -> datetime:
        """The first instant after ``day`` on the tenant's calendar, in UTC."""
        if day >= NO_LIMIT - timedelta(days=1):
            return datetime(9999, 1, 1, tzinfo=UTC)
        nxt = day + timedelta(days=1)
        return datetime.combine(nxt, time(0), self.zone).astimezone(UTC)

    def issued_by(self, day: date) -> date:
        """Invoices counted on ``day``: issued by then, or all of them from today on (exactly
        what the API's balances add up to)."""
        return NO_LIMIT if day >= self.today else day

    def customers(self, alias: str, sql: _Sql) -> str:
        """The JOIN restricting ``alias`` (a table with a ``customer`` column) to the filters'
        customers; empty without filters."""
        f = self.filters
        if not f.segment and f.collector_id is None:
            return ""
        text = f" JOIN customer c ON c.id = {alias}.customer AND c.tenant = {{tenant}}"
        if f.segment:
            text += " AND lower(c.segment) = {}"
            sql.args.append(f.segment.lower())
        if f.collector_id is not None:
            text += " AND c.collector_id = {}"
            sql.args.append(int(f.collector_id))
        return text


# --- the queries ----------------------------------------------------------------------------


def _movements(ctx: _Context, since: datetime, sql: _Sql) -> str:
    """Every dated change of an invoice's balance since ``since``, as (invoice, moment, amount,
    payment): the amount is what the change took off the balance; ``payment`` is 1 for money."""
    parts = [
        "SELECT invoice, created_at AS moment, amount - reversed_amount AS amt, 1 AS money "
        "FROM allocation WHERE tenant = {tenant} AND created_at >= {}",
        "SELECT invoice, created_at, amount, 0 FROM write_off "
        "WHERE tenant = {tenant} AND created_at >= {}",
        "SELECT invoice, created_at, amount, 0 FROM credit_note "
        "WHERE tenant = {tenant} AND created_at >= {}",
        "SELECT invoice, created_at, -amount, 0 FROM invoice_charge "
        "WHERE tenant = {tenant} AND created_at >= {}",
        "SELECT invoice, waived_at, amount, 0 FROM invoice_charge "
        "WHERE tenant = {tenant} AND waived AND waived_at >= {}",
    ]
    sql.args.extend([since] * len(parts))
    return " UNION ALL ".join(parts)


async def _aging(scope: TenantScope, ctx: _Context) -> tuple[AgingBucket, ...]:
    """Open balance at ``at`` per bucket of days past due, one row per bucket."""
    at = ctx.filters.at
    sql = _Sql()
    case = ["CASE"]
    for key, _label, _lo, hi in BUCKETS:
        if hi is None:
            case.append(f"ELSE '{key}'")
        else:
            case.append(f"WHEN x.due_date >= {{}} THEN '{key}'")
            sql.args.append(at - timedelta(days=hi))
    case.append("END")
    head = (
        f"SELECT {' '.join(case)} AS bucket, SUM(x.bal) AS amount, "
        "SUM(CASE WHEN x.bal <> 0 THEN 1 ELSE 0 END) AS n FROM ("
        "SELECT i.due_date AS due_date, i.total - i.amount_applied + COALESCE(m.amt, 0) AS bal "
        "FROM invoice i"
    )
    moved = ""
    if at < ctx.today:  # undo what moved after the day (nothing has, from today on)
        inner = _movements(ctx, ctx.end_of(at), sql)
        moved = (
            f" LEFT JOIN (SELECT invoice, SUM(amt) AS amt FROM ({inner}) mv GROUP BY invoice) m "
            "ON m.invoice = i.id"
        )
    else:
        head = head.replace(" + COALESCE(m.amt, 0)", "")
    joins = ctx.customers("i", sql)
    sql.args.extend([ctx.currency, ctx.issued_by(at)])
    text = (
        head + moved + joins + " WHERE i.tenant = {tenant} AND i.currency = {} "
        "AND i.status <> 'void' AND i.issue_date <= {}) x GROUP BY 1"
    )
    rows = {str(r["bucket"]): r for r in await scope.raw(text, *sql.args)}
    out = []
    for key, label, lo, hi in BUCKETS:
        row = rows.get(key) or {}
        out.append(
            AgingBucket(key, label, lo, hi, int(row.get("amount") or 0), int(row.get("n") or 0))
        )
    return tuple(out)


@dataclass(frozen=True)
class _Balances:
    """Receivables on each day the report needs, and sales and amounts due per period."""

    receivables: dict[date, int]
    current: dict[date, int]  # of those, not yet overdue
    sales: dict[tuple[date, date], int]
    due: dict[date, int]  # per week (Monday)
    collected: dict[date, int]  # per week (Monday)


async def _balances(
    scope: TenantScope,
    ctx: _Context,
    days: Sequence[date],
    current_days: Sequence[date],
    periods: Sequence[tuple[date, date]],
    weeks: Sequence[date],
) -> _Balances:
    """Two aggregate queries: one over invoices, one over their movements since the oldest
    day. Every figure is a conditional ``SUM`` column of one of them."""
    # invoices: balance today of those issued by each day, sales per period, due per week
    sql = _Sql()
    cols: list[str] = []
    for k, day in enumerate(days):
        cols.append(
            "SUM(CASE WHEN i.issue_date <= {} THEN i.total - i.amount_applied ELSE 0 END) "
            f"AS r{k}"
        )
        sql.args.append(ctx.issued_by(day))
    for k, day in enumerate(current_days):
        cols.append(
            "SUM(CASE WHEN i.issue_date <= {} AND i.due_date >= {} "
            f"THEN i.total - i.amount_applied ELSE 0 END) AS c{k}"
        )
        sql.args.extend([ctx.issued_by(day), day])
    for k, (first, last) in enumerate(periods):
        cols.append(
            f"SUM(CASE WHEN i.issue_date >= {{}} AND i.issue_date <= {{}} THEN i.total ELSE 0 END) "
            f"AS s{k}"
        )
        sql.args.extend([first, last])
    for k, monday in enumerate(weeks):
        cols.append(
            f"SUM(CASE WHEN i.due_date >= {{}} AND i.due_date <= {{}} THEN i.total ELSE 0 END) "
            f"AS d{k}"
        )
        sql.args.extend([monday, monday + timedelta(days=6)])
    text = f"SELECT {', '.join(cols)} FROM invoice i" + ctx.customers("i", sql)
    text += " WHERE i.tenant = {tenant} AND i.currency = {} AND i.status <> 'void'"
    sql.args.append(ctx.currency)
    base = (await scope.raw(text, *sql.args))[0]

    # movements since the oldest day: added back to the balances of the days before them
    since = min([ctx.end_of(d) for d in (*days, *current_days)] + [_start_of(ctx, weeks[0])])
    sql = _Sql()
    cols = []
    for k, day in enumerate(days):
        cols.append(
            f"SUM(CASE WHEN i.issue_date <= {{}} AND mv.moment >= {{}} THEN mv.amt ELSE 0 END) "
            f"AS r{k}"
        )
        sql.args.extend([ctx.issued_by(day), ctx.end_of(day)])
    for k, day in enumerate(current_days):
        cols.append(
            "SUM(CASE WHEN i.issue_date <= {} AND i.due_date >= {} AND mv.moment >= {} "
            f"THEN mv.amt ELSE 0 END) AS c{k}"
        )
        sql.args.extend([ctx.issued_by(day), day, ctx.end_of(day)])
    for k, monday in enumerate(weeks):
        cols.append(
            "SUM(CASE WHEN mv.money = 1 AND mv.moment >= {} AND mv.moment < {} "
            f"THEN mv.amt ELSE 0 END) AS w{k}"
        )
        sql.args.extend([_start_of(ctx, monday), ctx.end_of(monday + timedelta(days=6))])
    head_args = list(sql.args)
    sql = _Sql()
    inner = _movements(ctx, since, sql)
    inner_args = list(sql.args)
    sql = _Sql(args=head_args + inner_args)
    text = (
        f"SELECT {', '.join(cols)} FROM ({inner}) mv "
        "JOIN invoice i ON i.id = mv.invoice AND i.tenant = {tenant}"
    )
    text += ctx.customers("i", sql)
    text += " WHERE i.currency = {} AND i.status <> 'void'"
    sql.args.append(ctx.currency)
    moved = (await scope.raw(text, *sql.args))[0]

    def num(row: dict[str, Any], key: str) -> int:
        return int(row.get(key) or 0)

    return _Balances(
        receivables={d: num(base, f"r{k}") + num(moved, f"r{k}") for k, d in enumerate(days)},
        current={d: num(base, f"c{k}") + num(moved, f"c{k}") for k, d in enumerate(current_days)},
        sales={p: num(base, f"s{k}") for k, p in enumerate(periods)},
        due={w: num(base, f"d{k}") for k, w in enumerate(weeks)},
        collected={w: num(moved, f"w{k}") for k, w in enumerate(weeks)},
    )


def _start_of(ctx: _Context, day: date) -> datetime:
    return ctx.end_of(day - timedelta(days=1))


async def _promises(scope: TenantScope, ctx: _Context) -> tuple[int, int]:
    """(kept, broken) promises whose promised date falls in the period."""
    f = ctx.filters
    sql = _Sql()
    text = (
        "SELECT SUM(CASE WHEN p.status = 'kept' THEN 1 ELSE 0 END) AS kept, "
        "SUM(CASE WHEN p.status = 'broken' THEN 1 ELSE 0 END) AS broken "
        "FROM payment_promise p"
    )
    text += ctx.customers("p", sql)
    text += (
        " WHERE p.tenant = {tenant} AND p.currency = {} AND p.promised_date >= {} "
        "AND p.promised_date <= {} AND p.status IN ('kept', 'broken')"
    )
    sql.args.extend([ctx.currency, f.start, f.end])
    row = (await scope.raw(text, *sql.args))[0]
    return int(row["kept"] or 0), int(row["broken"] or 0)


async def _reconciled(scope: TenantScope, ctx: _Context) -> tuple[int, int]:
    """(matched by a rule, all matched) bank lines booked in the period. Staff assignments are
    the rule ``manual``; every other rule matched without a person choosing the invoices."""
    f = ctx.filters
    sql = _Sql()
    text = (
        "SELECT SUM(CASE WHEN b.rule <> 'manual' THEN 1 ELSE 0 END) AS auto, COUNT(*) AS n "
        "FROM bank_line b"
    )
    text += ctx.customers("b", sql)
    text += (
        " WHERE b.tenant = {tenant} AND b.currency = {} AND b.status = 'matched' "
        "AND b.payment IS NOT NULL AND b.booked_on >= {} AND b.booked_on <= {}"
    )
    sql.args.extend([ctx.currency, f.start, f.end])
    row = (await scope.raw(text, *sql.args))[0]
    return int(row["auto"] or 0), int(row["n"] or 0)


async def _recovered(scope: TenantScope, ctx: _Context, by: str) -> tuple[AmountBy, ...]:
    """Money applied in the period, by the last dunning stage (``by="stage"``) of its invoice or
    the last contact sent to its customer (``by="channel"``) in the 30 days before it."""
    f = ctx.filters
    sql = _Sql()
    back = _minus_days("a.created_at", LOOK_BACK_DAYS)
    if by == "stage":
        pick = (
            "(SELECT s.name FROM dunning_mark m JOIN dunning_stage s ON s.id = m.stage "
            "AND s.tenant = {tenant} WHERE m.tenant = {tenant} AND m.invoice = a.invoice "
            f"AND m.status = 'sent' AND m.created_at <= a.created_at AND m.created_at >= {back} "
            "ORDER BY m.created_at DESC, m.id DESC LIMIT 1)"
        )
    else:
        pick = (
            "(SELECT t.channel FROM contact_attempt t WHERE t.tenant = {tenant} "
            "AND t.customer = i.customer AND t.status IN ('sent', 'delivered') "
            f"AND t.sent_at IS NOT NULL AND t.sent_at <= a.created_at AND t.sent_at >= {back} "
            "ORDER BY t.sent_at DESC, t.id DESC LIMIT 1)"
        )
    text = (
        f"SELECT x.k AS k, SUM(x.amt) AS amount, COUNT(*) AS n FROM (SELECT {pick} AS k, "
        "a.amount - a.reversed_amount AS amt FROM allocation a "
        "JOIN invoice i ON i.id = a.invoice AND i.tenant = {tenant}"
    )
    text += ctx.customers("i", sql)
    text += (
        " WHERE a.tenant = {tenant} AND i.currency = {} AND a.created_at >= {} "
        "AND a.created_at < {} AND a.amount > a.reversed_amount) x GROUP BY x.k"
    )
    sql.args.extend([ctx.currency, _start_of(ctx, f.start), ctx.end_of(f.end)])
    rows = await scope.raw(text, *sql.args)
    none_key, none_label = NO_STAGE if by == "stage" else NO_CONTACT
    out: list[AmountBy] = []
    missing = AmountBy(none_key, none_label, 0, 0)
    for r in rows:
        name = str(r["k"] or "")
        amount, count = int(r["amount"] or 0), int(r["n"] or 0)
        if not name:
            missing = AmountBy(none_key, none_label, missing.amount + amount, missing.count + count)
            continue
        label = name if by == "stage" else CHANNEL_LABELS.get(name, name.capitalize())
        out.append(AmountBy(name, label, amount, count))
    out.sort(key=lambda a: (-a.amount, a.label))
    if missing.count:
        out.append(missing)
    return tuple(out)


# --- the report ---------------------------------------------------------------------------------


def check_filters(filters: KpiFilters) -> None:
    """A period that ends before it starts is a mistake, not an empty report."""
    if filters.start > filters.end:
        raise ValueError("El periodo termina antes de empezar.")
    if (filters.end - filters.start).days > 3660:
        raise ValueError("El periodo no puede pasar de diez años.")


async def kpi_report(scope: TenantScope, filters: KpiFilters, currency: str) -> KpiReport:
    """Every KPI of the dashboard for ``currency``, narrowed to ``filters``."""
    check_filters(filters)
    tenant = await fresh_tenant(scope.tenant_id)
    zone = ZoneInfo(str(tenant.timezone or "America/Mexico_City"))
    ctx = _Context(currency.upper(), filters, datetime.now(zone).date(), zone)
    f = filters
    opening = f.start - timedelta(days=1)
    months = trend_months(f.at)
    weeks = trend_weeks(f.at)
    days = [opening, f.end, *[last for _first, last in months]]
    balances = await _balances(scope, ctx, days, [f.end], [(f.start, f.end), *months], weeks)
    aging = await _aging(scope, ctx)
    kept, broken = await _promises(scope, ctx)
    auto, matched = await _reconciled(scope, ctx)
    by_stage = await _recovered(scope, ctx, "stage")
    by_channel = await _recovered(scope, ctx, "channel")

    period_days = (f.end - f.start).days + 1
    sales = balances.sales[(f.start, f.end)]
    closing = balances.receivables[f.end]
    closing_current = balances.current[f.end]
    dso = dso_of(closing, sales, period_days)
    best = dso_of(closing_current, sales, period_days)
    open_balance = sum(b.amount for b in aging)
    trend = tuple(
        SeriesPoint(
            first,
            {
                "dso": dso_of(
                    balances.receivables[last],
                    balances.sales[(first, last)],
                    (last - first).days + 1,
                )
            },
        )
        for first, last in months
    )
    weekly = tuple(
        SeriesPoint(w, {"due": balances.due[w], "collected": balances.collected[w]}) for w in weeks
    )
    return KpiReport(
        currency=ctx.currency,
        filters=filters,
        open_balance=open_balance,
        overdue_balance=open_balance - aging[0].amount,
        dso=dso,
        cei=cei_of(balances.receivables[opening], sales, closing, closing_current),
        average_days_delinquent=(dso - best) if dso is not None and best is not None else None,
        promise_kept_rate=_ratio(kept, kept + broken, FRACTION),
        promises_due=kept + broken,
        promises_kept=kept,
        auto_reconciled_share=_ratio(auto, matched, FRACTION),
        aging=aging,
        recovered_by_stage=by_stage,
        recovered_by_channel=by_channel,
        dso_trend=trend,
        weekly=weekly,
        sales=sales,
        opening_receivables=balances.receivables[opening],
        closing_receivables=closing,
        closing_current=closing_current,
        reconciled=matched,
        auto_reconciled=auto,
    )


async def currencies_in_use(scope: TenantScope) -> list[str]:
    """The tenant's currency first, then every other currency it has invoiced in."""
    tenant = await fresh_tenant(scope.tenant_id)
    main = str(tenant.currency).upper()
    rows = await scope.raw(
        "SELECT DISTINCT currency FROM invoice WHERE tenant = {tenant} ORDER BY currency"
    )
    others = [str(r["currency"]).upper() for r in rows if str(r["currency"]).upper() != main]
    return [main, *others]


async def kpi_reports(scope: TenantScope, filters: KpiFilters) -> list[KpiReport]:
    """One report per currency in use, the tenant's own first."""
    return [await kpi_report(scope, filters, c) for c in await currencies_in_use(scope)]


# --- JSON ---------------------------------------------------------------------------------------


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _value(value: int | Decimal | None) -> int | str | None:
    return _dec(value) if isinstance(value, Decimal) or value is None else int(value)


def report_as_json(report: KpiReport) -> dict[str, Any]:
    """The one JSON shape of a report (CLI and API): money in integer minor units of
    ``currency``, rates and days as decimal strings, ``null`` when undefined."""
    f = report.filters
    return {
        "at": f.at.isoformat(),
        "period": {
            "start": f.start.isoformat(),
            "end": f.end.isoformat(),
            "days": (f.end - f.start).days + 1,
        },
        "filters": {"segment": f.segment, "collector_id": f.collector_id},
        "currency": report.currency,
        "dso": _dec(report.dso),
        "cei": _dec(report.cei),
        "average_days_delinquent": _dec(report.average_days_delinquent),
        "promise_kept_rate": _dec(report.promise_kept_rate),
        "promises_due": report.promises_due,
        "promises_kept": report.promises_kept,
        "auto_reconciled_share": _dec(report.auto_reconciled_share),
        "reconciled_payments": report.reconciled,
        "auto_reconciled_payments": report.auto_reconciled,
        "open_balance": report.open_balance,
        "overdue_balance": report.overdue_balance,
        "sales": report.sales,
        "opening_receivables": report.opening_receivables,
        "closing_receivables": report.closing_receivables,
        "closing_current_receivables": report.closing_current,
        "aging": {
            "currency": report.currency,
            "buckets": [
                {
                    "key": b.key,
                    "label": b.label,
                    "from_days": b.from_days,
                    "to_days": b.to_days,
                    "amount": b.amount,
                    "count": b.count,
                }
                for b in report.aging
            ],
        },
        "recovered_by_stage": [_amount_by(a) for a in report.recovered_by_stage],
        "recovered_by_channel": [_amount_by(a) for a in report.recovered_by_channel],
        "dso_trend": [
            {"period": p.period.isoformat(), "dso": _value(p.values.get("dso"))}
            for p in report.dso_trend
        ],
        "weekly": [
            {
                "period": p.period.isoformat(),
                "due": _value(p.values.get("due")),
                "collected": _value(p.values.get("collected")),
            }
            for p in report.weekly
        ],
    }


def _amount_by(a: AmountBy) -> dict[str, Any]:
    return {"key": a.key, "label": a.label, "amount": a.amount, "count": a.count}


def reports_as_json(reports: Sequence[KpiReport], tenant: str | None = None) -> dict[str, Any]:
    """The document ``recaudo kpis --json`` prints and ``GET /api/v1/kpis`` returns: the first
    report (the tenant's currency) at the top level, the others under ``other_currencies``."""
    if not reports:
        raise ValueError("no report")
    doc: dict[str, Any] = {"tenant": tenant}
    doc.update(report_as_json(reports[0]))
    doc["other_currencies"] = [report_as_json(r) for r in reports[1:]]
    return doc
