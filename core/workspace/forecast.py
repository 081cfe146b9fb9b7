"""The collection forecast: expected cash per week (Monday-based) for the next weeks, per currency,
and its back-test on the tenant's own past.

The method (``docs/forecast-and-credit.md``), run "as of" a day ``at`` with only what was known
then (invoices issued by ``at``, money applied before it):

- an open invoice is expected at its due date plus its customer's typical delay (the
  amount-weighted mean of days between due date and payment over their paid history; the
  tenant's when they have none), times the share of their matured invoices they actually paid;
  an invoice whose expected day has passed is expected in the first week;
- invoices of an active payment plan are replaced by the plan's open installments at their due
  dates, times the customer's installment kept rate;
- invoices a pending promise covers are replaced by the promise at its date, times the tenant's
  promise kept rate (what the promise leaves of their balance stays an invoice item);
- anything expected after the last week is reported as ``later``.

The back-test runs the same method as of each of the last weeks' Mondays and compares the first
week it forecast with what was collected that week on invoices known then.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.common.jsonfield import loads
from recaudo.core.common.money import check_currency
from recaudo.core.workspace.credit import day_sql
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope

WEEKS = 8
MAX_WEEKS = 26
BACKTEST_WEEKS = 12
MATURITY_DAYS = 60  # an invoice this long past due counts for the collected share
MIN_MATURED = 3  # a customer who never paid needs this many matured invoices to count as evidence
MAX_DELAY_DAYS = 365
DEFAULT_PROMISE_KEPT = Decimal("0.5")  # no promise resolved yet: a coin toss
ONE = Decimal(1)


@dataclass(frozen=True)
class ForecastWeek:
    start: date  # a Monday
    invoices: int
    plans: int
    promises: int

    @property
    def total(self) -> int:
        return self.invoices + self.plans + self.promises


@dataclass(frozen=True)
class Forecast:
    currency: str
    at: date
    weeks: tuple[ForecastWeek, ...]
    later: int  # expected after the last week
    open_balance: int  # what was owed on ``at`` (invoices known then)
    default_delay_days: int  # the tenant-wide delay used for customers without history
    promise_kept_rate: Decimal
    plan_kept_rate: Decimal

    @property
    def total(self) -> int:
        return sum(w.total for w in self.weeks)


@dataclass(frozen=True)
class BacktestPoint:
    week: date  # the Monday the forecast was made on, and the week it forecast
    forecast: int
    actual: int


@dataclass(frozen=True)
class Backtest:
    currency: str
    points: tuple[BacktestPoint, ...]

    @property
    def absolute_errors(self) -> list[int]:
        return [abs(p.forecast - p.actual) for p in self.points]

    @property
    def mae(self) -> int | None:
        """Mean absolute error per week, in minor units."""
        errors = self.absolute_errors
        return round(sum(errors) / len(errors)) if errors else None

    @property
    def wape(self) -> Decimal | None:
        """Weighted absolute percentage error: Σ|forecast − actual| / Σ actual (a fraction)."""
        actual = sum(p.actual for p in self.points)
        if actual <= 0:
            return None
        return (Decimal(sum(self.absolute_errors)) / Decimal(actual)).quantize(Decimal("0.0001"))

    @property
    def mape(self) -> Decimal | None:
        """Mean of |forecast − actual| / actual over the weeks something was collected."""
        ratios = [Decimal(abs(p.forecast - p.actual)) / p.actual for p in self.points if p.actual]
        if not ratios:
            return None
        return (sum(ratios, Decimal(0)) / len(ratios)).quantize(Decimal("0.0001"))


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _rate(hit: int, total: int, default: Decimal) -> Decimal:
    return Decimal(hit) / Decimal(total) if total > 0 else default


class _Bins:
    """Expected amounts (Decimal) by week index and kind; ``index == weeks`` is "later"."""

    def __init__(self, at: date, weeks: int) -> None:
        self.first = week_start(at)
        self.at = at
        self.weeks = weeks
        self.amounts: dict[str, list[Decimal]] = {
            k: [Decimal(0)] * (weeks + 1) for k in ("invoices", "plans", "promises")
        }

    def add(self, kind: str, day: date, amount: Decimal) -> None:
        index = min(self.weeks, max(0, (max(day, self.at) - self.first).days // 7))
        self.amounts[kind][index] += amount

    def result(self) -> tuple[tuple[ForecastWeek, ...], int]:
        def whole(value: Decimal) -> int:
            return int(value.quantize(ONE, rounding=ROUND_HALF_UP))

        weeks = tuple(
            ForecastWeek(
                self.first + timedelta(days=7 * n),
                whole(self.amounts["invoices"][n]),
                whole(self.amounts["plans"][n]),
                whole(self.amounts["promises"][n]),
            )
            for n in range(self.weeks)
        )
        later = sum(whole(self.amounts[k][self.weeks]) for k in self.amounts)
        return weeks, later


async def forecast(
    scope: TenantScope, currency: str, at: date, weeks: int = WEEKS, *, as_of: bool = False
) -> Forecast:
    """Expected collections in ``currency`` per week from the week of ``at``.

    ``as_of``: ``at`` is in the past (the back-test): balances are rebuilt as they stood then
    and future installments count whole, since only their current state is stored."""
    currency = check_currency(currency)
    weeks = max(1, min(MAX_WEEKS, weeks))
    today = at.toordinal()
    pay, due = day_sql("a.created_at"), day_sql("i.due_date")
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)  # constants, not input

    # Invoices known on ``at`` and what they still owed then (money applied since is added back).
    invoices = await scope.raw(
        f"""
        SELECT i.id, i.customer, i.due_date,
               i.total - i.amount_applied + COALESCE(later.amount, 0) AS balance
        FROM invoice i
        LEFT JOIN (
            SELECT a.invoice, SUM(a.amount - a.reversed_amount) AS amount
            FROM allocation a WHERE a.tenant = {{tenant}} AND {pay} >= {{}}
            GROUP BY a.invoice
        ) later ON later.invoice = i.id
        WHERE i.tenant = {{tenant}} AND i.currency = {{}} AND i.issue_date <= {{}}
          AND ((i.status IN ({statuses}) AND i.total > i.amount_applied)
               OR (i.status = 'paid' AND later.amount > 0))
        """,
        today,
        currency,
        at,
    )
    # Each customer's amount-weighted delay (days from due date to payment) before ``at``.
    delays: dict[int, Decimal] = {}
    weight_all, days_all = 0, 0
    for r in await scope.raw(
        f"""
        SELECT i.customer, SUM((a.amount - a.reversed_amount) * ({pay} - {due})) AS days,
               SUM(a.amount - a.reversed_amount) AS weight
        FROM allocation a JOIN invoice i ON i.id = a.invoice AND i.tenant = {{tenant}}
        WHERE a.tenant = {{tenant}} AND i.currency = {{}} AND {pay} < {{}}
          AND a.amount > a.reversed_amount
        GROUP BY i.customer
        """,
        currency,
        today,
    ):
        weight, days = int(r["weight"] or 0), int(r["days"] or 0)
        if weight > 0:
            delays[int(r["customer"])] = Decimal(days) / weight
            weight_all, days_all = weight_all + weight, days_all + days
    default_delay = Decimal(days_all) / weight_all if weight_all else Decimal(0)
    # Each customer's share of matured invoices actually collected before ``at``.
    shares: dict[int, Decimal] = {}
    billed_all, paid_all = 0, 0
    for r in await scope.raw(
        f"""
        SELECT i.customer, SUM(i.total) AS billed, SUM(COALESCE(p.amount, 0)) AS paid,
               COUNT(*) AS n
        FROM invoice i
        LEFT JOIN (
            SELECT a.invoice, SUM(a.amount - a.reversed_amount) AS amount
            FROM allocation a WHERE a.tenant = {{tenant}} AND {pay} < {{}}
            GROUP BY a.invoice
        ) p ON p.invoice = i.id
        WHERE i.tenant = {{tenant}} AND i.currency = {{}} AND i.status <> 'void'
          AND i.due_date < {{}} AND i.total > 0
        GROUP BY i.customer
        """,
        today,
        currency,
        at - timedelta(days=MATURITY_DAYS),
    ):
        billed, paid = int(r["billed"] or 0), int(r["paid"] or 0)
        if billed > 0 and (paid > 0 or int(r["n"]) >= MIN_MATURED):
            shares[int(r["customer"])] = min(ONE, Decimal(paid) / billed)
        billed_all, paid_all = billed_all + billed, paid_all + paid
    # Nothing ever collected (a new tenant, imported debts): no evidence, so no discount.
    default_share = min(ONE, Decimal(paid_all) / billed_all) if paid_all > 0 else ONE

    def delay_of(customer: int) -> int:
        value = delays.get(customer, default_delay)
        days = int(value.quantize(ONE, rounding=ROUND_HALF_UP))
        return max(-MAX_DELAY_DAYS, min(MAX_DELAY_DAYS, days))

    bins = _Bins(at, weeks)
    balances = {int(r["id"]): int(r["balance"]) for r in invoices}
    owners = {int(r["id"]): int(r["customer"]) for r in invoices}
    dues = {int(r["id"]): _as_date(r["due_date"]) for r in invoices}
    covered: set[int] = set()

    # Plans active on ``at``: their open installments replace their invoices.
    plan_rows = await scope.raw(
        f"""
        SELECT p.id, p.customer, p.invoice_ids FROM payment_plan p
        WHERE p.tenant = {{tenant}} AND p.currency = {{}} AND p.status IN ('active', 'completed')
          AND {day_sql("p.created_at")} < {{}}
        """,
        currency,
        today,
    )
    plan_customer = {int(p["id"]): int(p["customer"]) for p in plan_rows}
    for p in plan_rows:
        covered |= {int(i) for i in loads(p["invoice_ids"], []) if isinstance(i, int)}
    installments = await scope.raw(
        """
        SELECT pi.plan, pi.due_date, pi.amount, pi.amount_paid, pi.status
        FROM plan_installment pi
        JOIN payment_plan p ON p.id = pi.plan AND p.tenant = {tenant}
        WHERE pi.tenant = {tenant} AND p.currency = {} AND pi.status <> 'cancelled'
        """,
        currency,
    )
    kept_by: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for i in installments:
        if int(i["plan"]) in plan_customer and _as_date(i["due_date"]) < at:
            stat = kept_by[plan_customer[int(i["plan"])]]
            stat[1] += 1
            stat[0] += int(i["amount_paid"]) >= int(i["amount"])
    plan_hits = sum(s[0] for s in kept_by.values())
    plan_total = sum(s[1] for s in kept_by.values())
    plan_rate = _rate(plan_hits, plan_total, ONE)
    for i in installments:
        plan = int(i["plan"])
        if plan not in plan_customer:
            continue
        day = _as_date(i["due_date"])
        owed = int(i["amount"]) - int(i["amount_paid"])
        if as_of and day >= at:
            owed = int(i["amount"])
        if owed <= 0:
            continue
        hit, total = kept_by.get(plan_customer[plan], [0, 0])
        rate = _rate(hit, total, plan_rate)
        bins.add("plans", day, Decimal(owed) * rate)

    # Promises pending on ``at``: at their date, times the tenant's kept rate.
    stamp = day_sql("created_at")
    resolved = day_sql("resolved_at")
    promise_rows = await scope.raw(
        f"""
        SELECT id, amount, promised_date FROM payment_promise
        WHERE tenant = {{tenant}} AND currency = {{}} AND {stamp} < {{}}
          AND (status = 'pending' OR (resolved_at IS NOT NULL AND {resolved} >= {{}}))
        """,
        currency,
        today,
        today,
    )
    outcome = await scope.raw(
        f"""
        SELECT SUM(CASE WHEN status = 'kept' THEN 1 ELSE 0 END) AS kept, COUNT(*) AS n
        FROM payment_promise
        WHERE tenant = {{tenant}} AND currency = {{}} AND status IN ('kept', 'broken')
          AND resolved_at IS NOT NULL AND {resolved} < {{}}
        """,
        currency,
        today,
    )
    promise_rate = _rate(int(outcome[0]["kept"] or 0), int(outcome[0]["n"] or 0), ONE)
    if not int(outcome[0]["n"] or 0):
        promise_rate = DEFAULT_PROMISE_KEPT
    promised: dict[int, list[int]] = defaultdict(list)
    ids = [int(p["id"]) for p in promise_rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("{}" for _ in chunk)
        for r in await scope.raw(
            f"SELECT promise, invoice FROM promise_invoice "
            f"WHERE tenant = {{tenant}} AND promise IN ({marks})",
            *chunk,
        ):
            promised[int(r["promise"])].append(int(r["invoice"]))
    leftovers: list[tuple[int, int]] = []  # (invoice whose date it takes, amount)
    for p in promise_rows:
        linked = promised.get(int(p["id"]), [])
        own = [i for i in linked if i in balances and i not in covered]
        if linked and not own:
            continue  # its invoices were paid (or are in a plan): nothing left to promise
        bins.add("promises", _as_date(p["promised_date"]), Decimal(int(p["amount"])) * promise_rate)
        rest = sum(balances[i] for i in own) - int(p["amount"])
        covered |= set(own)
        if rest > 0 and own:
            leftovers.append((min(own, key=lambda i: dues[i]), rest))

    for invoice_id, balance in [
        *((i, b) for i, b in balances.items() if i not in covered),
        *leftovers,
    ]:
        if balance <= 0:
            continue
        customer = owners[invoice_id]
        expected = dues[invoice_id] + timedelta(days=delay_of(customer))
        bins.add("invoices", expected, Decimal(balance) * shares.get(customer, default_share))

    week_rows, later = bins.result()
    return Forecast(
        currency=currency,
        at=at,
        weeks=week_rows,
        later=later,
        open_balance=sum(b for b in balances.values() if b > 0),
        default_delay_days=int(default_delay.quantize(ONE, rounding=ROUND_HALF_UP)),
        promise_kept_rate=promise_rate.quantize(Decimal("0.0001")),
        plan_kept_rate=plan_rate.quantize(Decimal("0.0001")),
    )


async def collected(scope: TenantScope, currency: str, start: date, end: date) -> int:
    """Money applied in ``[start, end)`` to invoices issued by ``start`` (those a forecast made
    on ``start`` could know)."""
    pay = day_sql("a.created_at")
    rows = await scope.raw(
        f"""
        SELECT COALESCE(SUM(a.amount - a.reversed_amount), 0) AS amount
        FROM allocation a JOIN invoice i ON i.id = a.invoice AND i.tenant = {{tenant}}
        WHERE a.tenant = {{tenant}} AND i.currency = {{}} AND i.issue_date <= {{}}
          AND {pay} >= {{}} AND {pay} < {{}}
        """,
        check_currency(currency),
        start,
        start.toordinal(),
        end.toordinal(),
    )
    return int(rows[0]["amount"])


async def backtest(
    scope: TenantScope, currency: str, at: date, weeks: int = BACKTEST_WEEKS
) -> Backtest:
    """The method run as of each of the ``weeks`` Mondays before ``at``'s week: its first week
    against what was actually collected that week."""
    points = []
    this_week = week_start(at)
    for back in range(max(1, min(52, weeks)), 0, -1):
        monday = this_week - timedelta(days=7 * back)
        made = await forecast(scope, currency, monday, 1, as_of=True)
        actual = await collected(scope, currency, monday, monday + timedelta(days=7))
        points.append(BacktestPoint(monday, made.weeks[0].total, actual))
    return Backtest(check_currency(currency), tuple(points))


async def currencies(scope: TenantScope) -> list[str]:
    """The currencies the tenant invoices in, its own first."""
    tenant = await Tenant.select(Tenant.currency).where(Tenant.id == scope.tenant_id).first()
    own = str(tenant["currency"]) if tenant else ""
    rows = await scope.raw(
        "SELECT DISTINCT currency FROM invoice WHERE tenant = {tenant} AND status <> {}", "void"
    )
    found = sorted({str(r["currency"]) for r in rows} - {own})
    return [own, *found] if own else found


async def forecasts(
    scope: TenantScope, at: date, weeks: int = WEEKS, backtest_weeks: int = BACKTEST_WEEKS
) -> list[tuple[Forecast, Backtest]]:
    """The forecast and its back-test for each currency the tenant uses."""
    return [
        (await forecast(scope, c, at, weeks), await backtest(scope, c, at, backtest_weeks))
        for c in await currencies(scope)
    ]


def as_json(made: Forecast, test: Backtest) -> dict[str, Any]:
    """The one JSON shape of a forecast (CLI ``--json``)."""

    def rate(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "currency": made.currency,
        "at": made.at.isoformat(),
        "weeks": [
            {
                "week": w.start.isoformat(),
                "expected": w.total,
                "invoices": w.invoices,
                "plans": w.plans,
                "promises": w.promises,
            }
            for w in made.weeks
        ],
        "later": made.later,
        "open_balance": made.open_balance,
        "default_delay_days": made.default_delay_days,
        "promise_kept_rate": rate(made.promise_kept_rate),
        "plan_kept_rate": rate(made.plan_kept_rate),
        "backtest": {
            "weeks": [
                {"week": p.week.isoformat(), "forecast": p.forecast, "actual": p.actual}
                for p in test.points
            ],
            "wape": rate(test.wape),
            "mape": rate(test.mape),
            "mae": test.mae,
        },
    }
