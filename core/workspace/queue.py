"""The collectors' work queue: overdue customers ranked by what is at stake, with the next
action due, and what else waits for a person (hardship requests, plans, bank lines, chats, tasks).

Ranking (see docs/work-queue.md)::

    priority = overdue × (1 + age / 30) × (1 + (100 − risk) / 100)

``overdue`` is the customer's past-due balance in the tenant's currency (invoices in other
currencies are left out: amounts of different currencies do not add up), ``age`` the days past
due weighted by each invoice's balance (one old small invoice does not make a big recent debt
old), ``risk`` the credit score (0 worst .. 100 best) of :func:`credit.risk_scores`.

Set-based: one grouped query gives every overdue customer's balance and age, the risk scores
come in one call for all of them, and the page's 50 rows are dressed with a handful of queries
(names, collectors, tasks, promises, planned contacts) — never a query per customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.casework import review
from recaudo.core.collections import contact_log
from recaudo.core.common.atomic import is_postgres
from recaudo.core.db import transaction
from recaudo.core.reconciliation.review import count_lines
from recaudo.core.tables import (
    ContactAttempt,
    Customer,
    Invoice,
    PaymentPromise,
    StaffUser,
    WorkTask,
)
from recaudo.core.workspace.credit import grade_of, risk_scores
from recaudo.core.workspace.tasks import TaskNotFound, TaskRow, list_tasks
from recaudo.tenants.scoped import TenantScope, as_id

PAGE_SIZE = 50
#: Score given to a customer the credit model has no opinion on (a neutral middle).
NEUTRAL_RISK = 50
#: How many items of each kind "what waits for a person" lists (the counts are complete).
SHORT_LIST = 5
#: Planned contacts that count as a next action (``letter``/``upcoming_charge`` are not work).
CONTACT_KINDS = ("reminder", "call", "handoff")


@dataclass(frozen=True)
class QueueFilters:
    """``collector``: ``""`` everyone, ``me``, ``none`` (unassigned) or a staff id."""

    collector: str = ""
    segment: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, params: Any) -> QueueFilters:
        who = str(params.get("cobrador") or "").strip()[:12]
        page = as_id(params.get("pagina"))
        return cls(
            collector=who if who in ("", "me", "none") or as_id(who) else "",
            segment=" ".join(str(params.get("segmento") or "").split())[:40],
            page=min(page, 10_000) if page else 1,
        )

    def query(self, page: int | None = None) -> dict[str, str]:
        out = {
            "cobrador": self.collector,
            "segmento": self.segment,
            "pagina": str(page or self.page),
        }
        return {k: v for k, v in out.items() if v and not (k == "pagina" and v == "1")}


@dataclass(frozen=True)
class NextAction:
    """The earliest thing planned for a customer: ``kind`` is task, promise or a contact kind."""

    kind: str
    on: date
    label: str  # the task's title, or empty (the template words promises and contacts)
    ref: int  # the task / promise / contact id
    late: bool


@dataclass(frozen=True)
class QueueRow:
    customer_id: int
    number: str
    name: str
    segment: str
    overdue: int
    currency: str
    oldest_days: int
    age_days: int
    risk: int
    grade: str
    priority: int
    collector_id: int | None
    collector_name: str
    next_action: NextAction | None


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    page: int
    total: int  # overdue customers matching the filters
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


@dataclass(frozen=True)
class Waiting:
    """What waits for a person, gathered from the inbox's own services."""

    counts: review.Counts
    hardship: list[dict[str, Any]]
    plans: list[dict[str, Any]]
    chats: list[review.ChatThread]
    hardship_count: int
    plans_count: int
    unmatched_lines: int
    my_tasks: list[TaskRow] = field(default_factory=list)


def priority(overdue: int, age_days: float, risk: int) -> Decimal:
    """overdue × (1 + age/30) × (1 + (100 − risk)/100); risk is clamped to 0..100."""
    risk = max(0, min(100, int(risk)))
    age = Decimal(str(max(0.0, age_days)))
    return Decimal(overdue) * (1 + age / 30) * (1 + Decimal(100 - risk) / 100)


def _ordinal(column: str) -> str:
    """A date column as ``date.toordinal()`` (the databases disagree on date arithmetic)."""
    if is_postgres():
        return f"({column} - DATE '0001-01-01' + 1)"
    return f"CAST(julianday({column}) - 1721424.5 AS INTEGER)"


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def _overdue(
    scope: TenantScope, filters: QueueFilters, me: StaffUser, today: date, currency: str
) -> list[dict[str, Any]]:
    """Every overdue customer matching the filters: balance, weighted due day, oldest due date."""
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)  # constants, not input
    balance = "(i.total - i.amount_applied)"
    sql = (
        f"SELECT i.customer AS customer, SUM({balance}) AS overdue, "
        f"SUM(CAST({balance} AS NUMERIC) * {_ordinal('i.due_date')}) AS weighted, "
        "MIN(i.due_date) AS oldest "
        "FROM invoice i JOIN customer c ON c.id = i.customer AND c.tenant = {tenant} "
        f"WHERE i.tenant = {{tenant}} AND i.currency = {{}} AND i.status IN ({statuses}) "
        "AND i.due_date < {} AND i.total > i.amount_applied"
    )
    args: list[Any] = [currency, today]
    if filters.collector == "me":
        sql += " AND c.collector_id = {}"
        args.append(int(me.id))
    elif filters.collector == "none":
        sql += " AND c.collector_id IS NULL"
    elif filters.collector:
        sql += " AND c.collector_id = {}"
        args.append(as_id(filters.collector) or 0)
    if filters.segment:
        sql += " AND c.segment = {}"
        args.append(filters.segment)
    sql += " GROUP BY i.customer"
    return await scope.raw(sql, *args)


async def ranked(
    scope: TenantScope, filters: QueueFilters, me: StaffUser, today: date, currency: str
) -> list[tuple[int, int, int, int, int, Decimal]]:
    """All matching overdue customers, highest priority first:
    ``(customer_id, overdue, oldest_days, age_days, risk, priority)``."""
    rows = await _overdue(scope, filters, me, today, currency)
    ids = [int(r["customer"]) for r in rows]
    scores = await risk_scores(scope, ids, today) if ids else {}
    out = []
    for r in rows:
        overdue = int(r["overdue"])
        mean_due = Decimal(str(r["weighted"])) / overdue
        age = float(today.toordinal() - mean_due)
        oldest = (today - _as_date(r["oldest"])).days
        risk = max(0, min(100, int(scores.get(int(r["customer"]), NEUTRAL_RISK))))
        out.append(
            (int(r["customer"]), overdue, oldest, round(age), risk, priority(overdue, age, risk))
        )
    out.sort(key=lambda item: (-item[5], -item[1], item[0]))
    return out


def _local_day(value: object, zone: ZoneInfo) -> date:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(zone).date()
    return _as_date(value)


async def next_actions(
    scope: TenantScope, customer_ids: list[int], today: date, timezone: str
) -> dict[int, NextAction]:
    """For each customer, the earliest of: an open task's due date, a pending promise's date,
    the next planned reminder or call. Three queries for all the customers."""
    if not customer_ids:
        return {}
    zone = ZoneInfo(timezone)
    found: dict[int, NextAction] = {}

    def offer(customer: int, action: NextAction) -> None:
        current = found.get(customer)
        if current is None or action.on < current.on:
            found[customer] = action

    tasks = await (
        scope.select(WorkTask, WorkTask.id, WorkTask.customer, WorkTask.title, WorkTask.due_date)
        .where(WorkTask.customer.is_in(customer_ids), WorkTask.status == "open")
        .order_by(WorkTask.due_date)
    )
    for r in tasks:
        day = _as_date(r["due_date"])
        offer(
            int(r["customer"]), NextAction("task", day, str(r["title"]), int(r["id"]), day < today)
        )
    promises = await (
        scope.select(
            PaymentPromise, PaymentPromise.id, PaymentPromise.customer, PaymentPromise.promised_date
        )
        .where(PaymentPromise.customer.is_in(customer_ids), PaymentPromise.status == "pending")
        .order_by(PaymentPromise.promised_date)
    )
    for r in promises:
        day = _as_date(r["promised_date"])
        offer(int(r["customer"]), NextAction("promise", day, "", int(r["id"]), day < today))
    contacts = await (
        scope.select(
            ContactAttempt,
            ContactAttempt.id,
            ContactAttempt.customer,
            ContactAttempt.kind,
            ContactAttempt.scheduled_for,
        )
        .where(
            ContactAttempt.customer.is_in(customer_ids),
            ContactAttempt.status == "planned",
            ContactAttempt.kind.is_in(list(CONTACT_KINDS)),
        )
        .order_by(ContactAttempt.scheduled_for)
    )
    for r in contacts:
        day = _local_day(r["scheduled_for"], zone)
        offer(int(r["customer"]), NextAction(str(r["kind"]), day, "", int(r["id"]), day < today))
    return found


async def queue_page(
    scope: TenantScope,
    filters: QueueFilters,
    me: StaffUser,
    today: date,
    currency: str,
    timezone: str,
    page_size: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the ranked queue, each row with its collector and next action."""
    everything = await ranked(scope, filters, me, today, currency)
    start = (filters.page - 1) * page_size
    chosen = everything[start : start + page_size]
    ids = [item[0] for item in chosen]
    customers: dict[int, dict[str, Any]] = {}
    names: dict[int, str] = {}
    actions: dict[int, NextAction] = {}
    if ids:
        for r in await scope.select(
            Customer,
            Customer.id,
            Customer.number,
            Customer.name,
            Customer.segment,
            Customer.collector_id,
        ).where(Customer.id.is_in(ids)):
            customers[int(r["id"])] = r
        collector_ids = sorted(
            {int(r["collector_id"]) for r in customers.values() if r["collector_id"]}
        )
        if collector_ids:
            for s in await scope.select(
                StaffUser, StaffUser.id, StaffUser.name, StaffUser.email
            ).where(StaffUser.id.is_in(collector_ids)):
                names[int(s["id"])] = str(s["name"] or s["email"])
        actions = await next_actions(scope, ids, today, timezone)
    rows = []
    for customer_id, overdue, oldest, age, risk, score in chosen:
        c = customers[customer_id]
        collector = int(c["collector_id"]) if c["collector_id"] else None
        rows.append(
            QueueRow(
                customer_id=customer_id,
                number=str(c["number"]),
                name=str(c["name"]),
                segment=str(c["segment"] or ""),
                overdue=overdue,
                currency=currency,
                oldest_days=oldest,
                age_days=age,
                risk=risk,
                grade=grade_of(risk),
                priority=int(score),
                collector_id=collector,
                collector_name=names.get(collector, "") if collector else "",
                next_action=actions.get(customer_id),
            )
        )
    return QueuePage(rows, filters.page, len(everything), start + page_size < len(everything))


async def waiting(scope: TenantScope, me: StaffUser, today: date) -> Waiting:
    """Counts and short lists of what waits for a person, from the inbox's services, and the
    caller's own tasks due today or overdue."""
    hardship = await review.hardship_to_review(scope)
    plans = await review.plans_to_review(scope)
    chats = await review.chats_to_answer(scope)
    return Waiting(
        counts=await review.counts(scope),
        hardship=hardship[:SHORT_LIST],
        plans=plans[:SHORT_LIST],
        chats=chats[:SHORT_LIST],
        hardship_count=len(hardship),
        plans_count=len(plans),
        unmatched_lines=await count_lines(scope, "unmatched"),
        my_tasks=await list_tasks(scope, today, assignee_id=int(me.id), due_by=today),
    )


async def log_call(
    scope: TenantScope, actor: StaffUser, customer_id: object, outcome: str, note: str
) -> int:
    """Record a call a collector just made from the queue, through the contact log's own
    :func:`contact_log.record_call_outcome` (a note on the customer, audited). The customer's
    earliest planned call is closed; with none planned, the call is written as a new contact of
    the log, so it shows in *Envíos* like any other. Returns the contact id."""
    pk = as_id(customer_id)
    if not pk or await scope.get(Customer, pk) is None:
        raise TaskNotFound("Cliente no encontrado.")
    if outcome not in contact_log.OUTCOMES:
        raise review.InboxError("Elige el resultado de la llamada.")
    async with transaction():
        planned = await (
            scope.select(ContactAttempt, ContactAttempt.id)
            .where(
                ContactAttempt.customer == pk,
                ContactAttempt.status == "planned",
                ContactAttempt.kind.is_in(list(contact_log.CALL_KINDS)),
            )
            .order_by(ContactAttempt.scheduled_for)
            .limit(1)
        )
        if planned:
            contact_id = int(planned[0]["id"])
        else:
            now = datetime.now(UTC)
            attempt = ContactAttempt(
                customer=pk,
                key=f"staff-call:{pk}:{uuid4().hex}",
                kind="call",
                channel="phone",
                status="planned",
                scheduled_for=now,
                created_at=now,
                updated_at=now,
            )
            await scope.add(attempt)
            contact_id = int(attempt.id)
        try:
            await contact_log.record_call_outcome(scope, contact_id, outcome, note, actor)
        except contact_log.ContactError as exc:
            raise review.InboxError(str(exc)) from None
        except contact_log.ContactConflict as exc:
            raise review.Conflict(str(exc)) from None
    return contact_id


async def overdue_invoice_ids(
    scope: TenantScope, customer_id: int, today: date, currency: str
) -> list[int]:
    """The invoices a promise taken from the queue covers: the customer's past-due ones in the
    ranked currency, not in a plan (what the row's amount adds up)."""
    rows = await scope.select(Invoice, Invoice.id, Invoice.total, Invoice.amount_applied).where(
        Invoice.customer == customer_id,
        Invoice.currency == currency,
        Invoice.status.is_in(list(OPEN_STATUSES)),
        Invoice.plan_id.is_null(),
        Invoice.due_date < today,
    )
    return [int(r["id"]) for r in rows if int(r["total"]) > int(r["amount_applied"])]
