""" "No puedo pagar": payment plans within the tenant's policy, promises to pay, staff review.

A plan covers the customer's open, undisputed invoices of one currency. It is accepted on the
spot when it fits the tenant's limits (``Tenant.policy``: ``plan_max_installments``,
``plan_min_down_payment_bp``, ``plan_max_days``); anything else is a request for staff review.
Covered invoices get ``plan_id`` so reminders skip them.

Installment progress is *derived*, not pushed: whatever money is allocated to the covered
invoices after the plan started (portal payments, confirmed transfer proofs, bank lines) fills
the installments in order. :func:`sync_plans` is idempotent and cheap, so any read may call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.common.jsonfield import loads
from recaudo.core.common.money import split_evenly
from recaudo.core.db import transaction
from recaudo.core.tables import (
    Allocation,
    HardshipRequest,
    Invoice,
    PaymentPlan,
    PaymentPromise,
    PlanInstallment,
)
from recaudo.core.webhooks import events as webhook_events
from recaudo.tenants.scoped import TenantScope

REASONS = ("lost_income", "illness", "dispute", "other")
MAX_MESSAGE = 2000
DEFAULT_PROMISE_DAYS = 30
MAX_INSTALLMENT_STEP_DAYS = 30


class PlanError(ValueError):
    """A plan or promise the policy does not allow; the message is shown to the customer."""


@dataclass(frozen=True)
class PlanPolicy:
    """The tenant's limits, read defensively (staff type them; bad values mean "no plans")."""

    max_installments: int = 0
    min_down_payment_bp: int = 0
    max_days: int = 0
    promise_max_days: int = DEFAULT_PROMISE_DAYS
    advice_links: tuple[tuple[str, str], ...] = ()  # Spanish, or for every language
    # Links written for other languages: (("en", ((label, url), ...)), ...).
    advice_links_by_language: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    def advice_for(self, language: str) -> tuple[tuple[str, str], ...]:
        """The advice links in ``language``, or the Spanish ones when it has none."""
        for code, links in self.advice_links_by_language:
            if code == language and links:
                return links
        return self.advice_links

    @property
    def allows_plans(self) -> bool:
        return self.max_installments >= 1 and self.max_days >= 1


def _int(value: Any, low: int, high: int, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return default
    try:
        number = int(value)
    except ValueError:
        return default
    return min(max(number, low), high)


def policy_of(raw: Any) -> PlanPolicy:
    data = loads(raw, {}) or {}
    if not isinstance(data, dict):
        data = {}
    raw_links = data.get("advice_links") or []
    # Either one list for every language, or {"es": [...], "en": [...]} (Spanish is the default).
    by_language = raw_links if isinstance(raw_links, dict) else {"es": raw_links}
    other = tuple(
        (str(code)[:5], _advice_links(items))
        for code, items in list(by_language.items())[:10]
        if str(code) != "es"
    )
    return PlanPolicy(
        max_installments=_int(data.get("plan_max_installments"), 0, 60, 0),
        min_down_payment_bp=_int(data.get("plan_min_down_payment_bp"), 0, 10_000, 0),
        max_days=_int(data.get("plan_max_days"), 0, 3 * 365, 0),
        promise_max_days=_int(data.get("promise_max_days"), 1, 365, DEFAULT_PROMISE_DAYS),
        advice_links=_advice_links(by_language.get("es") or []),
        advice_links_by_language=other,
    )


def _advice_links(items: Any) -> tuple[tuple[str, str], ...]:
    links: list[tuple[str, str]] = []
    for item in items if isinstance(items, list | tuple) else []:
        if isinstance(item, list | tuple) and len(item) == 2:
            label, url = str(item[0])[:120], str(item[1])[:500]
            if url.startswith("https://") and not any(c in url for c in "\"'<> \\"):
                links.append((label, url))
    return tuple(links[:10])


def min_down_payment(total: int, policy: PlanPolicy) -> int:
    return -(-total * policy.min_down_payment_bp // 10_000)  # ceiling: never below the minimum


@dataclass(frozen=True)
class Offer:
    currency: str
    total: int
    invoice_ids: tuple[int, ...]
    min_down_payment: int
    max_installments: int
    max_days: int


async def _eligible(scope: TenantScope, customer_id: int) -> list[Invoice]:
    rows = await (
        scope.objects(Invoice)
        .where(
            Invoice.customer == customer_id,
            Invoice.status.is_in(list(OPEN_STATUSES)),
            Invoice.disputed == False,  # noqa: E712 - Piccolo needs the comparison
            Invoice.plan_id.is_null(),
        )
        .order_by(Invoice.due_date, Invoice.id)
    )
    rows = [row for row in rows if row.balance > 0]
    if not rows:
        return []
    currency = rows[0].currency
    return [row for row in rows if row.currency == currency]


async def has_active_plan(scope: TenantScope, customer_id: int) -> bool:
    return await scope.exists(PaymentPlan).where(
        PaymentPlan.customer == customer_id, PaymentPlan.status == "active"
    )


async def plan_offer(scope: TenantScope, customer_id: int, policy: PlanPolicy) -> Offer | None:
    """The plan the policy allows right now, or ``None`` (no plans, nothing owed, one active)."""
    if not policy.allows_plans or await has_active_plan(scope, customer_id):
        return None
    invoices = await _eligible(scope, customer_id)
    total = sum(row.balance for row in invoices)
    if total <= 0:
        return None
    return Offer(
        currency=invoices[0].currency,
        total=total,
        invoice_ids=tuple(int(row.id) for row in invoices),
        min_down_payment=min_down_payment(total, policy),
        max_installments=min(policy.max_installments, policy.max_days),
        max_days=policy.max_days,
    )


def schedule(
    total: int, down_payment: int, installments: int, today: date, policy: PlanPolicy
) -> list[tuple[int, date, int]]:
    """``(number, due date, amount)``; number 0 is the down payment, due today.

    Installments are spaced evenly (at most monthly) so the last one falls within the term.
    """
    if not 1 <= installments <= min(policy.max_installments, policy.max_days):
        raise PlanError("Ese número de pagos no está permitido. Elige uno de la lista.")
    minimum = min_down_payment(total, policy)
    if down_payment < minimum:
        raise PlanError("El pago inicial es menor que el mínimo permitido.")
    if down_payment > total - installments:
        raise PlanError("El pago inicial no puede cubrir todo el saldo: paga tus facturas.")
    step = min(MAX_INSTALLMENT_STEP_DAYS, policy.max_days // installments)
    rows: list[tuple[int, date, int]] = []
    if down_payment > 0:
        rows.append((0, today, down_payment))
    for i, amount in enumerate(split_evenly(total - down_payment, installments), 1):
        rows.append((i, today + timedelta(days=step * i), amount))
    return rows


def _reason(reason: str) -> str:
    if reason not in REASONS:
        raise PlanError("Elige un motivo de la lista.")
    return reason


async def accept_plan(
    scope: TenantScope,
    customer_id: int,
    today: date,
    policy: PlanPolicy,
    *,
    installments: int,
    down_payment: int,
    reason: str,
) -> PaymentPlan:
    """Create the plan, its installments and the hardship record, and mark covered invoices."""
    reason = _reason(reason)
    async with transaction():
        plan = await create_plan(
            scope,
            customer_id,
            today,
            policy,
            installments=installments,
            down_payment=down_payment,
            reason=reason,
        )
        await scope.add(
            HardshipRequest(
                customer=customer_id,
                reason=reason,
                outcome="plan",
                plan=plan.id,
                status="accepted",
                created_at=plan.created_at,
            )
        )
    return plan


async def create_plan(
    scope: TenantScope,
    customer_id: int,
    today: date,
    policy: PlanPolicy,
    *,
    installments: int,
    down_payment: int,
    reason: str,
) -> PaymentPlan:
    """An active plan over the customer's current offer, within the policy (the caller's
    transaction): accepted by the customer on the spot, or granted by staff on a review."""
    offer = await plan_offer(scope, customer_id, policy)
    if offer is None:
        raise PlanError("No hay un plan de pagos disponible para tu cuenta en este momento.")
    rows = schedule(offer.total, down_payment, installments, today, policy)
    now = datetime.now(UTC)
    plan = PaymentPlan(
        customer=customer_id,
        status="active",
        currency=offer.currency,
        total=offer.total,
        down_payment=down_payment,
        installments_count=installments,
        invoice_ids=list(offer.invoice_ids),
        reason=reason,
        created_at=now,
    )
    await scope.add(plan)
    await scope.add(
        *[
            PlanInstallment(
                plan=plan.id,
                number=n,
                due_date=due,
                amount=amount,
                amount_paid=0,
                status="open",
            )
            for n, due, amount in rows
        ]
    )
    await scope.update(Invoice, {Invoice.plan_id: int(plan.id)}).where(
        Invoice.id.is_in(list(offer.invoice_ids))
    )
    await webhook_events.emit(
        scope, "plan.created", "plan", int(plan.id), key=f"plan:{plan.id}:created"
    )
    return plan


async def record_promise(
    scope: TenantScope,
    customer_id: int,
    today: date,
    policy: PlanPolicy,
    *,
    reason: str,
    promise_date: date,
    message: str = "",
) -> PaymentPromise:
    """The customer's "No puedo pagar" promise: the hardship record (their words, the staff
    timeline) and the :class:`PaymentPromise` that is tracked, in one transaction."""
    reason = _reason(reason)
    if not today < promise_date <= today + timedelta(days=policy.promise_max_days):
        raise PlanError("Elige una fecha a partir de mañana y dentro del plazo indicado.")
    from recaudo.core.collections.promises import promise_from_hardship

    async with transaction():
        row = HardshipRequest(
            customer=customer_id,
            reason=reason,
            message=message[:MAX_MESSAGE],
            outcome="promise",
            promise_date=promise_date,
            status="open",
            created_at=datetime.now(UTC),
        )
        await scope.add(row)
        # The tracked promise (kept/broken, reminders paused); it announces promise.created.
        promise = await promise_from_hardship(
            scope, customer_id, promise_date, int(row.id), message
        )
        if promise is None:  # rolls the hardship record back too
            raise PlanError("No tienes facturas pendientes que prometer pagar.")
    return promise


async def request_review(
    scope: TenantScope, customer_id: int, *, reason: str, message: str
) -> HardshipRequest:
    reason = _reason(reason)
    row = HardshipRequest(
        customer=customer_id,
        reason=reason,
        message=message[:MAX_MESSAGE],
        outcome="review",
        status="open",
        created_at=datetime.now(UTC),
    )
    await scope.add(row)
    return row


# --- progress -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallmentView:
    id: int
    number: int
    due_date: date
    amount: int
    amount_paid: int
    status: str

    @property
    def balance(self) -> int:
        return max(self.amount - self.amount_paid, 0)


@dataclass(frozen=True)
class PlanView:
    id: int
    status: str
    currency: str
    total: int
    down_payment: int
    invoice_ids: tuple[int, ...]
    installments: list[InstallmentView] = field(default_factory=list)

    @property
    def paid(self) -> int:
        return sum(i.amount_paid for i in self.installments)

    @property
    def next_installment(self) -> InstallmentView | None:
        return next((i for i in self.installments if i.balance > 0), None)


async def _paid_towards(scope: TenantScope, plan: PaymentPlan) -> int:
    ids = [int(i) for i in loads(plan.invoice_ids, []) or []]
    if not ids:
        return 0
    rows = await scope.select(
        Allocation, Allocation.amount, Allocation.reversed_amount, Allocation.created_at
    ).where(Allocation.invoice.is_in(ids))
    since = plan.created_at if plan.created_at.tzinfo else plan.created_at.replace(tzinfo=UTC)
    total = 0
    for r in rows:
        created = r["created_at"]
        created = created if created.tzinfo else created.replace(tzinfo=UTC)
        if created >= since:
            total += int(r["amount"]) - int(r["reversed_amount"])
    return total


def fill(amounts: list[int], paid: int) -> list[int]:
    """Spread ``paid`` over installments in order: what each one has received."""
    out = []
    for amount in amounts:
        take = min(max(paid, 0), amount)
        out.append(take)
        paid -= take
    return out


async def sync_plans(
    scope: TenantScope, customer_id: int
) -> list[tuple[PaymentPlan, list[PlanInstallment]]]:
    """Bring installments of the customer's active plans up to date with the ledger.

    Returns the plans still active afterwards, with their installments, so readers need no
    second query.
    """
    plans = await (
        scope.objects(PaymentPlan)
        .where(PaymentPlan.customer == customer_id, PaymentPlan.status == "active")
        .order_by(PaymentPlan.id)
    )
    active: list[tuple[PaymentPlan, list[PlanInstallment]]] = []
    for plan in plans:
        installments = await (
            scope.objects(PlanInstallment)
            .where(PlanInstallment.plan == plan.id)
            .order_by(PlanInstallment.number)
        )
        paid = fill([int(i.amount) for i in installments], await _paid_towards(scope, plan))
        for row, amount_paid in zip(installments, paid, strict=True):
            status = "paid" if amount_paid >= int(row.amount) else "open"
            if int(row.amount_paid) != amount_paid or row.status != status:
                await scope.update(
                    PlanInstallment,
                    {PlanInstallment.amount_paid: amount_paid, PlanInstallment.status: status},
                ).where(PlanInstallment.id == row.id)
                row.amount_paid, row.status = amount_paid, status
        done = all(p >= int(i.amount) for p, i in zip(paid, installments, strict=True))
        if installments and done:
            await scope.update(PaymentPlan, {PaymentPlan.status: "completed"}).where(
                PaymentPlan.id == plan.id
            )
            await webhook_events.emit(
                scope, "plan.completed", "plan", int(plan.id), key=f"plan:{plan.id}:completed"
            )
        else:
            active.append((plan, installments))
    return active


async def active_plans(scope: TenantScope, customer_id: int) -> list[PlanView]:
    views = []
    for plan, installments in await sync_plans(scope, customer_id):
        views.append(
            PlanView(
                id=int(plan.id),
                status=str(plan.status),
                currency=str(plan.currency),
                total=int(plan.total),
                down_payment=int(plan.down_payment),
                invoice_ids=tuple(int(i) for i in loads(plan.invoice_ids, []) or []),
                installments=[
                    InstallmentView(
                        int(i.id),
                        int(i.number),
                        i.due_date,
                        int(i.amount),
                        int(i.amount_paid),
                        str(i.status),
                    )
                    for i in installments
                ],
            )
        )
    return views


async def customer_installment(
    scope: TenantScope, customer_id: int, installment_id: int
) -> tuple[PaymentPlan, PlanInstallment] | None:
    row = await scope.get(PlanInstallment, installment_id)
    if row is None:
        return None
    plan = await scope.get(PaymentPlan, int(row.plan))
    if plan is None or int(plan.customer) != int(customer_id) or plan.status != "active":
        return None
    return plan, row
