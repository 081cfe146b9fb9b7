"""Credit evaluation: a risk score per customer from their own history, explained in words.

A transparent points model (``docs/forecast-and-credit.md``): a customer with payment history
starts at 100 and loses documented points per factor, each factor capped, the total bounded to
0..100. A customer with no history starts at a neutral 60 and the reasons say so. Staff see every
factor as a sentence with its numbers and points, so the score can be argued with.

:func:`risk_scores` (the work queue ranks hundreds of customers) and :func:`evaluate` (one
customer's page) share :func:`_facts` — a handful of grouped queries for any number of ids — and
:func:`_score`, so they always agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.common.money import display_exponent, format_minor
from recaudo.core.db import engine, transaction
from recaudo.core.tables import CreditDecision, Customer, StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope

# --- the model: every number here is in docs/forecast-and-credit.md -----------------------------
NEUTRAL_SCORE = 60  # no payment history yet: neither trusted nor distrusted
POINTS_PER_DAY_LATE = 1  # per day of amount-weighted average lateness
MAX_LATE_POINTS = 40
POINTS_PER_BROKEN_PROMISE = 8
MAX_PROMISE_POINTS = 24
POINTS_PER_OPEN_DISPUTE = 5
POINTS_PER_CLOSED_DISPUTE = 2
MAX_DISPUTE_POINTS = 15
POINTS_PER_PLAN_DEFAULT = 10
MAX_PLAN_POINTS = 20
PLAN_GRACE_DAYS = 15  # an installment this late and unpaid puts its active plan in default
POINTS_PER_WRITE_OFF = 15
MAX_WRITE_OFF_POINTS = 30
NEW_CUSTOMER_DAYS = 180
NEW_CUSTOMER_POINTS = 5

# Grade by score band (lowest score of the band), terms and limit factor by grade.
GRADES: tuple[tuple[str, int], ...] = (("A", 85), ("B", 70), ("C", 55), ("D", 40), ("E", 0))
TERMS_BY_GRADE = {"A": 30, "B": 30, "C": 15, "D": 7, "E": 0}
LIMIT_FACTOR = {
    "A": Decimal(2),
    "B": Decimal("1.5"),
    "C": Decimal(1),
    "D": Decimal("0.5"),
    "E": Decimal(0),
}
HISTORY_MONTHS = 12  # the average monthly invoiced amount is taken over this window

DECISIONS = ("approved", "adjusted", "refused", "hold")
DECISION_LABELS = {
    "approved": "Aprobar la sugerencia",
    "adjusted": "Ajustar con mis valores",
    "refused": "Rechazar crédito",
    "hold": "Dejar en espera",
}
MAX_LIMIT = 10**15  # minor units: far above any real credit line, below BigInt's range
MAX_TERMS_DAYS = 365
MAX_NOTE = 500
ID_CHUNK = 500  # ids bound per query


class CreditError(ValueError):
    """Bad input to a credit decision; the message is Spanish and shown as is."""


@dataclass(frozen=True)
class Reason:
    """One factor of the score in words: a Spanish ``template`` (also the msgid of its English
    translation) and its values. ``text`` is the Spanish sentence."""

    template: str
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.template % self.values


@dataclass(frozen=True)
class CreditEvaluation:
    customer_id: int
    currency: str
    score: int  # 0 (worst) .. 100 (best)
    grade: str  # A .. E
    explained: tuple[Reason, ...]
    suggested_limit: int  # minor units of currency
    suggested_terms_days: int
    credit_limit: int | None  # what staff last granted; None = never decided
    credit_terms_days: int | None
    open_balance: int  # in currency
    monthly_invoiced: int  # average over the window, in currency

    @property
    def reasons(self) -> list[str]:
        """The reasons as Spanish sentences with their numbers."""
        return [r.text for r in self.explained]

    @property
    def exceeded(self) -> int:
        """How much the open balance is above the granted limit (0 when within or no limit)."""
        if self.credit_limit is None:
            return 0
        return max(0, self.open_balance - self.credit_limit)


@dataclass
class _Facts:
    """What the score is computed from, for one customer."""

    settled: int = 0  # invoices fully paid by ``at``
    on_time: int = 0  # of those, last payment on or before the due date
    paid_amount: int = 0
    paid_late_weight: int = 0  # Σ amount × days late of each payment
    overdue_count: int = 0
    overdue_amount: int = 0
    overdue_weight: int = 0  # Σ balance × days past due
    kept: int = 0
    broken: int = 0
    open_disputes: int = 0
    closed_disputes: int = 0
    plan_defaults: int = 0
    write_offs: int = 0
    customer_days: int | None = None

    @property
    def has_history(self) -> bool:
        return self.settled > 0 or self.overdue_count > 0

    @property
    def average_days_late(self) -> Decimal:
        weight = self.paid_amount + self.overdue_amount
        if weight <= 0:
            return Decimal(0)
        return Decimal(self.paid_late_weight + self.overdue_weight) / Decimal(weight)


def _postgres() -> bool:
    return engine().engine_type in ("postgres", "cockroach")


def day_sql(column: str) -> str:
    """``column`` (a date or timestamp) as a day number equal to ``date.toordinal()``, on both
    databases (timestamps taken at the database session's UTC day)."""
    if _postgres():
        return f"(CAST({column} AS DATE) - DATE '0001-01-01' + 1)"
    return f"CAST(julianday({column}) - 1721424.5 AS INTEGER)"


def _in(ids: Sequence[int]) -> str:
    return "(" + ", ".join("{}" for _ in ids) + ")"


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    unique = sorted({int(i) for i in ids})
    return [unique[n : n + ID_CHUNK] for n in range(0, len(unique), ID_CHUNK)]


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


async def _facts(scope: TenantScope, customer_ids: Sequence[int], at: date) -> dict[int, _Facts]:
    """The score's inputs for every id, in seven grouped queries per chunk of ids."""
    facts: dict[int, _Facts] = {}
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)  # constants, not input
    today = at.toordinal()
    paid_day, due_day = day_sql("a.created_at"), day_sql("i.due_date")
    for ids in _chunks(customer_ids):
        where_ids = _in(ids)
        for r in await scope.raw(
            f"SELECT id, created_at FROM customer WHERE tenant = {{tenant}} AND id IN {where_ids}",
            *ids,
        ):
            created = _as_datetime(r["created_at"])
            facts[int(r["id"])] = _Facts(
                customer_days=(at - created.date()).days if created is not None else None
            )
        ids = [i for i in ids if i in facts]
        if not ids:
            continue
        where_ids = _in(ids)
        # Paid history: per invoice, what was paid by ``at``, when last, and how late weighted.
        for r in await scope.raw(
            f"""
            SELECT x.customer,
                   SUM(CASE WHEN x.paid >= x.total THEN 1 ELSE 0 END) AS settled,
                   SUM(CASE WHEN x.paid >= x.total AND x.last_day <= x.due THEN 1 ELSE 0 END)
                       AS on_time,
                   SUM(x.paid) AS paid, SUM(x.late) AS late
            FROM (
                SELECT i.customer, i.id, i.total, {due_day} AS due,
                       MAX({paid_day}) AS last_day,
                       SUM(a.amount - a.reversed_amount) AS paid,
                       SUM((a.amount - a.reversed_amount) * CASE WHEN {paid_day} > {due_day}
                           THEN {paid_day} - {due_day} ELSE 0 END) AS late
                FROM allocation a
                JOIN invoice i ON i.id = a.invoice AND i.tenant = {{tenant}}
                WHERE a.tenant = {{tenant}} AND i.customer IN {where_ids}
                  AND a.amount > a.reversed_amount AND {paid_day} <= {{}}
                GROUP BY i.customer, i.id, i.total, i.due_date
            ) x
            GROUP BY x.customer
            """,
            *ids,
            today,
        ):
            f = facts[int(r["customer"])]
            f.settled, f.on_time = int(r["settled"] or 0), int(r["on_time"] or 0)
            f.paid_amount, f.paid_late_weight = int(r["paid"] or 0), int(r["late"] or 0)
        # Open invoices past due on ``at``, weighted by their balance and days past due.
        for r in await scope.raw(
            f"""
            SELECT customer, COUNT(*) AS n, SUM(total - amount_applied) AS balance,
                   SUM((total - amount_applied) * ({{}} - {day_sql("due_date")})) AS weight
            FROM invoice
            WHERE tenant = {{tenant}} AND customer IN {where_ids}
              AND status IN ({statuses}) AND total > amount_applied AND due_date < {{}}
            GROUP BY customer
            """,
            today,
            *ids,
            at,
        ):
            f = facts[int(r["customer"])]
            f.overdue_count, f.overdue_amount = int(r["n"]), int(r["balance"] or 0)
            f.overdue_weight = int(r["weight"] or 0)
        for r in await scope.raw(
            f"SELECT customer, status, COUNT(*) AS n FROM payment_promise "
            f"WHERE tenant = {{tenant}} AND customer IN {where_ids} "
            "AND status IN ('kept', 'broken') GROUP BY customer, status",
            *ids,
        ):
            f = facts[int(r["customer"])]
            if r["status"] == "kept":
                f.kept = int(r["n"])
            else:
                f.broken = int(r["n"])
        for r in await scope.raw(
            f"SELECT customer, CASE WHEN status = 'open' THEN 1 ELSE 0 END AS open, "
            f"COUNT(*) AS n FROM dispute WHERE tenant = {{tenant}} AND customer IN {where_ids} "
            "GROUP BY customer, CASE WHEN status = 'open' THEN 1 ELSE 0 END",
            *ids,
        ):
            f = facts[int(r["customer"])]
            if int(r["open"]):
                f.open_disputes = int(r["n"])
            else:
                f.closed_disputes = int(r["n"])
        for r in await scope.raw(
            f"""
            SELECT p.customer, COUNT(*) AS n FROM payment_plan p
            WHERE p.tenant = {{tenant}} AND p.customer IN {where_ids}
              AND (p.status = 'defaulted' OR (p.status = 'active' AND EXISTS (
                  SELECT 1 FROM plan_installment pi
                  WHERE pi.tenant = {{tenant}} AND pi.plan = p.id AND pi.status = 'open'
                    AND pi.amount > pi.amount_paid AND pi.due_date < {{}})))
            GROUP BY p.customer
            """,
            *ids,
            at - timedelta(days=PLAN_GRACE_DAYS),
        ):
            facts[int(r["customer"])].plan_defaults = int(r["n"])
        for r in await scope.raw(
            f"SELECT customer, COUNT(*) AS n FROM write_off "
            f"WHERE tenant = {{tenant}} AND customer IN {where_ids} GROUP BY customer",
            *ids,
        ):
            facts[int(r["customer"])].write_offs = int(r["n"])
    return facts


def _days(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _score(f: _Facts) -> tuple[int, list[Reason]]:
    """The points model: the score and the reasons behind it."""
    reasons: list[Reason] = []
    if f.has_history:
        score = 100
        late = _days(f.average_days_late)
        points = min(MAX_LATE_POINTS, late * POINTS_PER_DAY_LATE)
        score -= points
        reasons.append(
            Reason(
                "Pagó %(on_time)d de %(settled)d facturas a tiempo; en promedio %(days)d días "
                "tarde (−%(points)d puntos).",
                {"on_time": f.on_time, "settled": f.settled, "days": late, "points": points},
            )
        )
        if f.overdue_count:
            reasons.append(
                Reason(
                    "Tiene %(count)d facturas vencidas sin pagar, con %(days)d días de atraso en "
                    "promedio (cuentan en el promedio anterior).",
                    {
                        "count": f.overdue_count,
                        "days": _days(Decimal(f.overdue_weight) / Decimal(f.overdue_amount)),
                    },
                )
            )
    else:
        score = NEUTRAL_SCORE
        reasons.append(
            Reason(
                "Sin historial de pagos todavía: puntaje neutral de %(score)d.",
                {"score": NEUTRAL_SCORE},
            )
        )
    if f.kept or f.broken:
        points = min(MAX_PROMISE_POINTS, f.broken * POINTS_PER_BROKEN_PROMISE)
        score -= points
        reasons.append(
            Reason(
                "Cumplió %(kept)d de %(total)d promesas de pago (−%(points)d puntos).",
                {"kept": f.kept, "total": f.kept + f.broken, "points": points},
            )
        )
    if f.open_disputes or f.closed_disputes:
        points = min(
            MAX_DISPUTE_POINTS,
            f.open_disputes * POINTS_PER_OPEN_DISPUTE
            + f.closed_disputes * POINTS_PER_CLOSED_DISPUTE,
        )
        score -= points
        reasons.append(
            Reason(
                "Tiene %(open)d disputas abiertas y %(closed)d cerradas (−%(points)d puntos).",
                {"open": f.open_disputes, "closed": f.closed_disputes, "points": points},
            )
        )
    if f.plan_defaults:
        points = min(MAX_PLAN_POINTS, f.plan_defaults * POINTS_PER_PLAN_DEFAULT)
        score -= points
        reasons.append(
            Reason(
                "Incumplió %(count)d planes de pago (−%(points)d puntos).",
                {"count": f.plan_defaults, "points": points},
            )
        )
    if f.write_offs:
        points = min(MAX_WRITE_OFF_POINTS, f.write_offs * POINTS_PER_WRITE_OFF)
        score -= points
        reasons.append(
            Reason(
                "Se dieron por incobrables %(count)d facturas (−%(points)d puntos).",
                {"count": f.write_offs, "points": points},
            )
        )
    if f.customer_days is not None:
        if f.customer_days < NEW_CUSTOMER_DAYS:
            score -= NEW_CUSTOMER_POINTS
            reasons.append(
                Reason(
                    "Es cliente desde hace %(days)d días, menos de 6 meses (−%(points)d puntos).",
                    {"days": max(0, f.customer_days), "points": NEW_CUSTOMER_POINTS},
                )
            )
        else:
            reasons.append(
                Reason("Es cliente desde hace %(months)d meses.", {"months": f.customer_days // 30})
            )
    return max(0, min(100, score)), reasons


def grade_of(score: int) -> str:
    return next(g for g, low in GRADES if score >= low)


async def risk_scores(scope: TenantScope, customer_ids: Sequence[int], at: date) -> dict[int, int]:
    """Score 0 (worst)..100 (best) of each customer of this tenant among ``customer_ids`` (ids
    of other tenants are left out), in a few grouped queries whatever the number of ids."""
    return {cid: _score(f)[0] for cid, f in (await _facts(scope, customer_ids, at)).items()}


def _round_limit(amount: int, currency: str) -> int:
    """Round down to two significant digits of whole currency units (12,345.67 → 12,000)."""
    unit = 10 ** display_exponent(currency)
    whole = amount // unit
    if whole < 100:
        return whole * unit
    step = 10 ** (len(str(whole)) - 2)
    return (whole // step) * step * unit


async def _tenant_currency(scope: TenantScope) -> str:
    row = await Tenant.select(Tenant.currency).where(Tenant.id == scope.tenant_id).first()
    return str(row["currency"]) if row else "MXN"


async def evaluate(scope: TenantScope, customer_id: int, at: date) -> CreditEvaluation | None:
    """The customer's score, grade, reasons and suggested limit and terms (``None`` when the id
    is not a customer of this tenant). Limits are in the tenant's currency."""
    customer = await scope.get(Customer, customer_id)
    if customer is None:
        return None
    cid = int(customer.id)
    facts = (await _facts(scope, [cid], at)).get(cid, _Facts())
    score, reasons = _score(facts)
    grade = grade_of(score)
    currency = await _tenant_currency(scope)
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    window_start = at - timedelta(days=HISTORY_MONTHS * 365 // 12)
    rows = await scope.raw(
        f"""
        SELECT COALESCE(SUM(CASE WHEN status IN ({statuses}) THEN total - amount_applied
                                 ELSE 0 END), 0) AS open_balance,
               COALESCE(SUM(CASE WHEN issue_date >= {{}} AND issue_date <= {{}}
                                 AND status <> 'void' THEN total ELSE 0 END), 0) AS invoiced,
               MIN(CASE WHEN issue_date >= {{}} AND issue_date <= {{}} AND status <> 'void'
                        THEN issue_date END) AS first_issue
        FROM invoice WHERE tenant = {{tenant}} AND customer = {{}} AND currency = {{}}
        """,
        window_start,
        at,
        window_start,
        at,
        cid,
        currency,
    )
    row = rows[0]
    first = row["first_issue"]
    months = 1
    if first is not None:
        first_day = first if isinstance(first, date) else date.fromisoformat(str(first)[:10])
        months = max(1, min(HISTORY_MONTHS, round((at - first_day).days / 30.4)))
    monthly = int(row["invoiced"]) // months
    suggested = _round_limit(int(Decimal(monthly) * LIMIT_FACTOR[grade]), currency)
    if monthly:
        reasons.append(
            Reason(
                "Facturó en promedio %(amount)s al mes en los últimos %(months)d meses.",
                {"amount": format_minor(monthly, currency), "months": months},
            )
        )
    return CreditEvaluation(
        customer_id=cid,
        currency=currency,
        score=score,
        grade=grade,
        explained=tuple(reasons),
        suggested_limit=suggested,
        suggested_terms_days=TERMS_BY_GRADE[grade],
        credit_limit=None if customer.credit_limit is None else int(customer.credit_limit),
        credit_terms_days=(
            None if customer.credit_terms_days is None else int(customer.credit_terms_days)
        ),
        open_balance=int(row["open_balance"]),
        monthly_invoiced=monthly,
    )


# --- decisions ----------------------------------------------------------------------------------


def _check_decision(
    decision: str, credit_limit: int | None, terms_days: int | None, note: str
) -> None:
    if decision not in DECISIONS:
        raise CreditError("Elige aprobar, ajustar, rechazar o dejar en espera.")
    if decision == "adjusted":
        if credit_limit is None or terms_days is None:
            raise CreditError("Para ajustar escribe el límite y el plazo.")
    if credit_limit is not None and not 0 <= credit_limit <= MAX_LIMIT:
        raise CreditError("El límite debe ser un monto de 0 o más, dentro de lo razonable.")
    if terms_days is not None and not 0 <= terms_days <= MAX_TERMS_DAYS:
        raise CreditError("El plazo debe ser de 0 a 365 días.")
    if len(note) > MAX_NOTE:
        raise CreditError("La nota admite hasta 500 caracteres.")


async def decide(
    scope: TenantScope,
    customer_id: int,
    staff: StaffUser,
    decision: str,
    credit_limit: int | None,
    terms_days: int | None,
    note: str,
    at: date,
    shown: CreditEvaluation | None = None,
) -> CreditDecision | None:
    """Record a staff decision with the evaluation it was made on, update the customer's credit
    and audit it, in one transaction. ``None`` when the customer is not this tenant's.

    approved: the suggestion; adjusted: staff's own limit and terms; refused: limit 0, terms 0;
    hold: nothing changes on the customer (the decision is still recorded)."""
    if staff.role not in ("owner", "collector") or int(staff.tenant) != scope.tenant_id:  # type: ignore[attr-defined]
        raise PermissionError("viewers cannot decide credit")
    note = (note or "").strip()
    _check_decision(decision, credit_limit, terms_days, note)
    evaluation = shown or await evaluate(scope, customer_id, at)
    if evaluation is None:
        return None
    if decision == "approved":
        credit_limit, terms_days = evaluation.suggested_limit, evaluation.suggested_terms_days
    elif decision == "refused":
        credit_limit, terms_days = 0, 0
    elif decision == "hold":
        credit_limit, terms_days = evaluation.credit_limit, evaluation.credit_terms_days
    row = CreditDecision(
        customer=evaluation.customer_id,
        currency=evaluation.currency,
        score=evaluation.score,
        grade=evaluation.grade,
        reasons=[{"template": r.template, "values": r.values} for r in evaluation.explained],
        suggested_limit=evaluation.suggested_limit,
        suggested_terms_days=evaluation.suggested_terms_days,
        decision=decision,
        credit_limit=credit_limit,
        credit_terms_days=terms_days,
        note=note,
        decided_by=int(staff.id),
    )
    async with transaction():
        await scope.add(row)
        if decision != "hold":
            await scope.update(
                Customer,
                {Customer.credit_limit: credit_limit, Customer.credit_terms_days: terms_days},
            ).where(Customer.id == evaluation.customer_id)
        await record(
            scope,
            f"staff:{staff.id}",
            "credit.decided",
            f"customer:{evaluation.customer_id}",
            decision=decision,
            credit_limit=credit_limit,
            credit_terms_days=terms_days,
            previous_limit=evaluation.credit_limit,
            previous_terms_days=evaluation.credit_terms_days,
            score=evaluation.score,
            grade=evaluation.grade,
            note=note,
        )
    return row


@dataclass(frozen=True)
class DecisionView:
    id: int
    created_at: datetime
    staff_name: str
    decision: str
    score: int
    grade: str
    explained: tuple[Reason, ...]
    suggested_limit: int
    suggested_terms_days: int
    credit_limit: int | None
    credit_terms_days: int | None
    currency: str
    note: str


async def history(scope: TenantScope, customer_id: int, limit: int = 50) -> list[DecisionView]:
    """The customer's credit decisions, newest first, with what the decider saw."""
    rows = await (
        scope.objects(CreditDecision)
        .where(CreditDecision.customer == customer_id)
        .order_by(CreditDecision.id, ascending=False)
        .limit(limit)
    )
    staff_ids = sorted({int(r.decided_by) for r in rows if r.decided_by is not None})
    names: dict[int, str] = {}
    if staff_ids:
        for s in await scope.select(StaffUser, StaffUser.id, StaffUser.name, StaffUser.email).where(
            StaffUser.id.is_in(staff_ids)
        ):
            names[int(s["id"])] = str(s["name"] or s["email"])
    views = []
    for r in rows:
        reasons = tuple(
            Reason(str(x.get("template", "")), dict(x.get("values") or {}))
            for x in loads(r.reasons, [])
            if isinstance(x, dict)
        )
        views.append(
            DecisionView(
                id=int(r.id),
                created_at=r.created_at,
                staff_name=names.get(int(r.decided_by), "—") if r.decided_by else "—",
                decision=str(r.decision),
                score=int(r.score),
                grade=str(r.grade),
                explained=reasons,
                suggested_limit=int(r.suggested_limit),
                suggested_terms_days=int(r.suggested_terms_days),
                credit_limit=None if r.credit_limit is None else int(r.credit_limit),
                credit_terms_days=None if r.credit_terms_days is None else int(r.credit_terms_days),
                currency=str(r.currency),
                note=str(r.note),
            )
        )
    return views


# --- the warning on new invoices ----------------------------------------------------------------


async def limit_warning(
    scope: TenantScope,
    customer_id: int,
    new_amount: int,
    currency: str,
    *,
    exclude_invoice: int | None = None,
) -> str | None:
    """A Spanish warning when the customer's open balance plus ``new_amount`` goes over the
    credit limit staff granted; ``None`` when within it or no limit was ever set."""
    reason = await limit_check(
        scope, customer_id, new_amount, currency, exclude_invoice=exclude_invoice
    )
    return reason.text if reason is not None else None


async def limit_check(
    scope: TenantScope,
    customer_id: int,
    new_amount: int,
    currency: str,
    *,
    exclude_invoice: int | None = None,
) -> Reason | None:
    """:func:`limit_warning` as a translatable :class:`Reason`. Only invoices in the limit's
    currency (the tenant's) count; the new invoice is not refused either way (staff decide).
    ``exclude_invoice``: the new invoice when it is already saved (not counted twice)."""
    customer = await scope.get(Customer, customer_id)
    if customer is None or customer.credit_limit is None:
        return None
    if currency != await _tenant_currency(scope):
        return None
    balances = await _open_balances(scope, [int(customer.id)], currency, [exclude_invoice or 0])
    balance = balances.get(int(customer.id), 0)
    return _over_limit(balance, new_amount, int(customer.credit_limit), currency)


async def _open_balances(
    scope: TenantScope, customers: Sequence[int], currency: str, exclude: Sequence[int]
) -> dict[int, int]:
    """Open balance in ``currency`` of each of ``customers`` (absent: nothing open), leaving
    out the invoices ``exclude`` (new ones, counted by the caller)."""
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    who = ", ".join("{}" for _ in customers)
    skip = ", ".join("{}" for _ in exclude) or "0"
    rows = await scope.raw(
        f"SELECT customer, SUM(total - amount_applied) AS balance FROM invoice "
        f"WHERE tenant = {{tenant}} AND customer IN ({who}) AND currency = {{}} "
        f"AND status IN ({statuses}) AND id NOT IN ({skip}) GROUP BY customer",
        *customers,
        currency,
        *exclude,
    )
    return {int(r["customer"]): int(r["balance"] or 0) for r in rows}


def _over_limit(balance: int, new_amount: int, limit: int, currency: str) -> Reason | None:
    """The warning when ``balance`` plus ``new_amount`` goes over ``limit``; else ``None``."""
    if balance + new_amount <= limit:
        return None
    return Reason(
        LIMIT_WARNING,
        {
            "total": format_minor(balance + new_amount, currency),
            "limit": format_minor(limit, currency),
            "over": format_minor(balance + new_amount - limit, currency),
        },
    )


@dataclass(frozen=True)
class NewInvoiceAmount:
    """An invoice just created, as the limit check needs it."""

    id: int
    customer: int
    amount: int
    currency: str


async def limit_warnings(scope: TenantScope, batch: Sequence[NewInvoiceAmount]) -> dict[int, str]:
    """:func:`limit_warning` for invoices created together (a bulk API call), by invoice id.

    Taken in the batch's order: an invoice is warned about when the customer's open balance
    before the batch, plus the batch's invoices up to and including it, goes over the limit. Two
    queries whatever the batch's size."""
    main = await _tenant_currency(scope)
    ids = sorted({b.customer for b in batch if b.currency == main})
    if not ids:
        return {}
    marks = ", ".join("{}" for _ in ids)
    limits = {
        int(r["id"]): int(r["credit_limit"])
        for r in await scope.raw(
            f"SELECT id, credit_limit FROM customer WHERE tenant = {{tenant}} AND id IN ({marks}) "
            "AND credit_limit IS NOT NULL",
            *ids,
        )
    }
    if not limits:
        return {}
    balances = await _open_balances(scope, list(limits), main, [b.id for b in batch])
    warnings: dict[int, str] = {}
    for b in batch:
        if b.customer not in limits or b.currency != main:
            continue
        before = balances.get(b.customer, 0)
        reason = _over_limit(before, b.amount, limits[b.customer], main)
        balances[b.customer] = before + b.amount
        if reason is not None:
            warnings[b.id] = reason.text
    return warnings


LIMIT_WARNING = (
    "Con esta factura el saldo abierto del cliente (%(total)s) supera su límite de crédito "
    "(%(limit)s) por %(over)s."
)
