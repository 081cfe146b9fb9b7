"""Collection KPIs (DSO, CEI, aging, average days delinquent, promises, reconciliation, money
recovered by stage and channel) for one tenant and currency, computed set-based in SQL.

A report is a handful of grouped queries whatever the number of invoices (docs/kpis.md lists
them): invoices by issue date, invoices due per week, the ledger's dated movements since the
oldest day the report looks at, promises, bank lines, and the money recovered with its last
dunning stage and contact; the independent ones run side by side on the pool. SQL only compares
dates and timestamps (computed here), so it runs unchanged on SQLite and PostgreSQL.

**Balances on a past day.** An invoice's balance today is ``total - amount_applied`` (what the API
reports). A past balance is rebuilt backwards from it: every movement dated after the day is
undone — allocations (net of reversals), write-offs and credit notes are added back, late fees
taken off (and a waiver given back). A reversal has no date of its own, so it counts as of its
allocation's date; a voided invoice counts on no day. Days are the tenant's calendar days.
"""

from __future__ import annotations

import asyncio
import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from recaudo.core.common.money import check_currency
from recaudo.core.db import engine
from recaudo.core.tenant_settings.tenant_rows import fresh_tenant
from recaudo.core.workspace.values import (
    AgingBucket,
    AmountBy,
    KpiFilters,
    KpiReport,
    SeriesPoint,
)
from recaudo.tenants.scoped import TenantScope, as_id

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


def _bucket_case(column: str, at: date, sql: _Sql) -> str:
    """``CASE`` naming the aging bucket of the due date in ``column`` at ``at``."""
    case = ["CASE"]
    for key, _label, _lo, hi in BUCKETS:
        if hi is None:
            case.append(f"ELSE '{key}'")
        else:
            case.append(f"WHEN {column} >= {{}} THEN '{key}'")
            sql.args.append(at - timedelta(days=hi))
    case.append("END")
    return " ".join(case)


def _buckets(rows: dict[str, tuple[int, int]]) -> tuple[AgingBucket, ...]:
    return tuple(
        AgingBucket(key, label, lo, hi, *rows.get(key, (0, 0))) for key, label, lo, hi in BUCKETS
    )


async def _aging(scope: TenantScope, ctx: _Context) -> tuple[AgingBucket, ...]:
    """Open balance at a past ``at`` per bucket of days past due: each invoice's balance is
    rebuilt from the movements after ``at`` first. (From today on, :func:`_balances` has it.)"""
    at = ctx.filters.at
    sql = _Sql()
    case = _bucket_case("x.due_date", at, sql)
    head = (
        f"SELECT {case} AS bucket, SUM(x.bal) AS amount, "
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
    rows = await scope.raw(text, *sql.args)
    return _buckets({str(r["bucket"]): (int(r["amount"] or 0), int(r["n"] or 0)) for r in rows})


@dataclass(frozen=True)
class _Balances:
    """Receivables on each day the report needs, and sales and amounts due per period."""

    receivables: dict[date, int]
    current: dict[date, int]  # of those, not yet overdue
    sales: dict[tuple[date, date], int]
    due: dict[date, int]  # per week (Monday)
    collected: dict[date, int]  # per week (Monday)
    aging: tuple[AgingBucket, ...]  # at ``at`` when it is today or later, else empty


async def _balances(
    scope: TenantScope,
    ctx: _Context,
    days: Sequence[date],
    periods: Sequence[tuple[date, date]],
    weeks: Sequence[date],
) -> _Balances:
    """Three grouped queries, each one pass: invoices by issue date (balances today, what is
    not yet due at the period's end, totals), invoices falling due in the weeks shown, and the
    movements since the oldest day by issue date and by the slot between two of the instants the
    report looks at. Python adds the groups up per day; the SQL never holds a column per day."""
    end, at = ctx.filters.end, ctx.filters.at
    sql = _Sql()
    bucket = _bucket_case("i.due_date", at, sql)
    text = (
        f"SELECT i.issue_date AS issued, {bucket} AS bucket, "
        "SUM(i.total - i.amount_applied) AS bal, "
        "SUM(CASE WHEN i.due_date >= {} THEN i.total - i.amount_applied ELSE 0 END) AS cur, "
        "SUM(i.total) AS total, "
        "SUM(CASE WHEN i.total <> i.amount_applied THEN 1 ELSE 0 END) AS n FROM invoice i"
    )
    sql.args.append(end)
    text += ctx.customers("i", sql)
    text += " WHERE i.tenant = {tenant} AND i.currency = {} AND i.status <> 'void'"
    text += " GROUP BY 1, 2"
    sql.args.append(ctx.currency)
    issued_q = (text, sql.args)

    sql = _Sql()
    text = "SELECT i.due_date AS due, SUM(i.total) AS total FROM invoice i"
    text += ctx.customers("i", sql)
    text += (
        " WHERE i.tenant = {tenant} AND i.currency = {} AND i.status <> 'void' "
        "AND i.due_date >= {} AND i.due_date <= {} GROUP BY i.due_date"
    )
    sql.args.extend([ctx.currency, weeks[0], weeks[-1] + timedelta(days=6)])
    due_q = (text, sql.args)

    # instants that split time into slots: slot k holds the movements in [edges[k-1], edges[k])
    edges = sorted(
        {ctx.end_of(d) for d in days}
        | {_start_of(ctx, w) for w in weeks}
        | {ctx.end_of(w + timedelta(days=6)) for w in weeks}
    )
    slot = {edge: k + 1 for k, edge in enumerate(edges)}  # moment >= edge <=> slot >= this
    sql = _Sql()
    whens = []
    for k in range(len(edges) - 1, -1, -1):
        whens.append(f"WHEN mv.moment >= {{}} THEN {k + 1}")
        sql.args.append(edges[k])
    head = (
        f"SELECT i.issue_date AS issued, CASE {' '.join(whens)} ELSE 0 END AS slot, "
        "CASE WHEN i.due_date >= {} THEN 1 ELSE 0 END AS cur, mv.money AS money, "
        "SUM(mv.amt) AS amt"
    )
    sql.args.append(end)
    inner = _movements(ctx, edges[0], sql)
    text = f"{head} FROM ({inner}) mv JOIN invoice i ON i.id = mv.invoice AND i.tenant = {{tenant}}"
    text += ctx.customers("i", sql)
    text += " WHERE i.currency = {} AND i.status <> 'void' GROUP BY 1, 2, 3, 4"
    sql.args.append(ctx.currency)
    moved_q = (text, sql.args)

    # the three at once, on three connections of the pool
    grouped, due_rows, moved_rows = await asyncio.gather(
        *(scope.raw(q, *args) for q, args in (issued_q, due_q, moved_q))
    )
    by_issue = [
        (_as_date(r["issued"]), int(r["bal"] or 0), int(r["cur"] or 0), int(r["total"] or 0))
        for r in grouped
    ]
    aging: dict[str, tuple[int, int]] = {}
    for r in grouped:  # every non-void invoice: the open balance from today on
        amount, count = aging.get(str(r["bucket"]), (0, 0))
        aging[str(r["bucket"])] = (amount + int(r["bal"] or 0), count + int(r["n"] or 0))

    due: dict[date, int] = dict.fromkeys(weeks, 0)
    for r in due_rows:
        day = _as_date(r["due"])
        monday = day - timedelta(days=day.weekday())
        due[monday] = due.get(monday, 0) + int(r["total"] or 0)

    moved = [
        (_as_date(r["issued"]), int(r["slot"]), int(r["cur"]), int(r["money"]), int(r["amt"] or 0))
        for r in moved_rows
    ]

    def receivables(day: date, current_only: bool = False) -> int:
        limit, after = ctx.issued_by(day), slot[ctx.end_of(day)]
        base = sum(cur if current_only else bal for d, bal, cur, _t in by_issue if d <= limit)
        back = sum(
            amt
            for d, k, cur, _m, amt in moved
            if d <= limit and k > after - 1 and (cur or not current_only)
        )
        return base + back

    def collected(monday: date) -> int:
        first = slot[_start_of(ctx, monday)]
        last = slot[ctx.end_of(monday + timedelta(days=6))]
        return sum(amt for _d, k, _c, money, amt in moved if money and first <= k < last)

    return _Balances(
        receivables={d: receivables(d) for d in days},
        current={end: receivables(end, current_only=True)},
        sales={(a, b): sum(t for d, _b, _c, t in by_issue if a <= d <= b) for a, b in periods},
        due={w: due.get(w, 0) for w in weeks},
        collected={w: collected(w) for w in weeks},
        aging=_buckets(aging) if at >= ctx.today else (),
    )


def _as_date(value: object) -> date:
    """A DATE column's value: a ``date`` from PostgreSQL, ISO text from SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


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


async def _recovered(
    scope: TenantScope, ctx: _Context
) -> tuple[tuple[AmountBy, ...], tuple[AmountBy, ...]]:
    """Money applied in the period by the last dunning stage of its invoice and by the last
    contact sent to its customer, each in the 30 days before the payment.

    One query: every (allocation, mark, contact) in the window, ranked latest mark first and,
    for that mark, latest contact first, so the first row of each allocation carries both
    answers. Hash joins and one sort rather than a lookup per payment."""
    f = ctx.filters
    sql = _Sql()
    since, until = _start_of(ctx, f.start), ctx.end_of(f.end)
    earliest = since - timedelta(days=LOOK_BACK_DAYS + 1)  # lets the database skip old rows
    back = _minus_days("a.created_at", LOOK_BACK_DAYS)
    text = (
        "SELECT x.stage AS stage, x.channel AS channel, SUM(x.amt) AS amount, COUNT(*) AS n "
        "FROM (SELECT m.stage AS stage, t.channel AS channel, "
        "a.amount - a.reversed_amount AS amt, ROW_NUMBER() OVER (PARTITION BY a.id "
        "ORDER BY m.created_at DESC, m.id DESC, t.sent_at DESC, t.id DESC) AS pos "
        "FROM allocation a JOIN invoice i ON i.id = a.invoice AND i.tenant = {tenant}"
    )
    text += ctx.customers("i", sql)
    text += (
        " LEFT JOIN dunning_mark m ON m.tenant = {tenant} AND m.invoice = a.invoice "
        "AND m.status = 'sent' AND m.created_at >= {} AND m.created_at <= a.created_at "
        f"AND m.created_at >= {back}"
        " LEFT JOIN contact_attempt t ON t.tenant = {tenant} AND t.customer = i.customer "
        "AND t.status IN ('sent', 'delivered') AND t.sent_at >= {} "
        f"AND t.sent_at <= a.created_at AND t.sent_at >= {back}"
        " WHERE a.tenant = {tenant} AND i.currency = {} AND a.created_at >= {} "
        "AND a.created_at < {} AND a.amount > a.reversed_amount) x WHERE x.pos = 1 "
        "GROUP BY x.stage, x.channel"
    )
    sql.args.extend([earliest, earliest, ctx.currency, since, until])
    rows = await scope.raw(text, *sql.args)
    stage_ids = sorted({int(r["stage"]) for r in rows if r["stage"] is not None})
    names: dict[int, str] = {}
    if stage_ids:  # a policy has a handful of stages: their names in one small query
        marks = ", ".join("{}" for _ in stage_ids)
        found = await scope.raw(
            f"SELECT id, name FROM dunning_stage WHERE tenant = {{tenant}} AND id IN ({marks})",
            *stage_ids,
        )
        names = {int(r["id"]): str(r["name"] or "") for r in found}
    stages: dict[str, tuple[int, int]] = {}
    channels: dict[str, tuple[int, int]] = {}
    for r in rows:
        amount, count = int(r["amount"] or 0), int(r["n"] or 0)
        stage = names.get(int(r["stage"]), "") if r["stage"] is not None else ""
        channel = str(r["channel"] or "")
        for into, key in ((stages, stage), (channels, channel)):
            before = into.get(key, (0, 0))
            into[key] = (before[0] + amount, before[1] + count)
    return (
        _amounts(stages, NO_STAGE, lambda name: name),
        _amounts(channels, NO_CONTACT, lambda c: CHANNEL_LABELS.get(c, c.capitalize())),
    )


def _amounts(
    sums: dict[str, tuple[int, int]], none: tuple[str, str], label: Callable[[str], str]
) -> tuple[AmountBy, ...]:
    """Largest first; the money with no stage or contact last."""
    out = [AmountBy(k, label(k), a, n) for k, (a, n) in sums.items() if k]
    out.sort(key=lambda x: (-x.amount, x.label))
    if "" in sums:
        out.append(AmountBy(none[0], none[1], *sums[""]))
    return tuple(out)


# --- input from people (CLI options, API query parameters) ------------------------------------


class KpiInputError(ValueError):
    """A filter that names nothing or is not a date; the message (Spanish) says which."""


def parse_day(value: str | None, name: str) -> date | None:
    """``YYYY-MM-DD`` or nothing; anything else is a :class:`KpiInputError` naming ``name``."""
    if value is None or not str(value).strip():
        return None
    try:
        day = date.fromisoformat(str(value).strip())
    except ValueError:
        raise KpiInputError(f"{name}: «{str(value)[:20]}» no es una fecha AAAA-MM-DD.") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise KpiInputError(f"{name}: la fecha debe estar entre 1900-01-01 y 2999-12-31.")
    return day


async def tenant_today(scope: TenantScope) -> date:
    """Today on the tenant's calendar: the day balances are taken by default."""
    tenant = await fresh_tenant(scope.tenant_id)
    return datetime.now(ZoneInfo(str(tenant.timezone or "America/Mexico_City"))).date()


async def collector_id_of(scope: TenantScope, value: str | int | None) -> int | None:
    """A collector named by id or e-mail, as their staff id; one of another tenant (or nobody)
    is a :class:`KpiInputError`."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if text.isdigit():
        rows = await scope.raw(
            "SELECT id FROM staff_user WHERE tenant = {tenant} AND id = {}", as_id(text) or 0
        )
    else:
        rows = await scope.raw(
            "SELECT id FROM staff_user WHERE tenant = {tenant} AND lower(email) = {}",
            text.lower(),
        )
    if not rows:
        raise KpiInputError(f"collector: no hay nadie del equipo «{text[:100]}».")
    return int(rows[0]["id"])


async def filters_from(
    scope: TenantScope,
    *,
    at: str | None = None,
    start: str | None = None,
    end: str | None = None,
    segment: str | None = None,
    collector: str | int | None = None,
) -> KpiFilters:
    """Filters from text as people type it: ``at`` defaults to the tenant's today, ``end`` to
    ``at`` and ``start`` to 90 days before ``end`` (the default period)."""
    day = parse_day(at, "at") or await tenant_today(scope)
    first, last = parse_day(start, "start"), parse_day(end, "end")
    last = last or day
    first = first or default_filters(last).start
    filters = KpiFilters(
        at=day,
        start=first,
        end=last,
        segment=(segment or "").strip()[:40],
        collector_id=await collector_id_of(scope, collector),
    )
    try:
        check_filters(filters)
    except ValueError as exc:
        raise KpiInputError(str(exc)) from None
    return filters


def currency_of(value: str | None) -> str | None:
    """An ISO 4217 code, upper case; a malformed one is a :class:`KpiInputError`."""
    if value is None or not value.strip():
        return None
    try:
        return check_currency(value.strip().upper())
    except ValueError:
        raise KpiInputError(f"currency: «{value[:10]}» no es un código ISO 4217.") from None


# --- the report ---------------------------------------------------------------------------------


#: Days a report may be about: a wider range is a typo (and near date.min/max, arithmetic fails).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def check_filters(filters: KpiFilters) -> None:
    """A period that ends before it starts is a mistake, not an empty report."""
    for day in (filters.at, filters.start, filters.end):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ValueError("Las fechas deben estar entre 1900-01-01 y 2999-12-31.")
    if filters.start > filters.end:
        raise ValueError("El periodo termina antes de empezar.")
    if (filters.end - filters.start).days > 3660:
        raise ValueError("El periodo no puede pasar de diez años.")


async def _nothing() -> tuple[AgingBucket, ...]:
    return ()


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
    # independent reads, run side by side on the pool's connections (the dashboard waits for
    # the slowest, not for the sum); they may see the ledger a few milliseconds apart
    (
        balances,
        past_aging,
        (kept, broken),
        (auto, matched),
        (by_stage, by_channel),
    ) = await asyncio.gather(
        _balances(scope, ctx, days, [(f.start, f.end), *months], weeks),
        _aging(scope, ctx) if f.at < ctx.today else _nothing(),
        _promises(scope, ctx),
        _reconciled(scope, ctx),
        _recovered(scope, ctx),
    )
    aging = balances.aging or past_aging

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
