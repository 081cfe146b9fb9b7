"""What the back office sees of the payment plans and promises customers are living under.

The inbox lists only what waits for a decision; a plan accepted on the spot or a promise date
never does, yet staff must know them before calling a customer or chasing an invoice. This is
the tenant-wide book: active plans with their progress and next installment, and open promises
with whether they were kept. Plan progress is brought up to date first (:func:`sync_plans`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.collections.plans import sync_plans
from recaudo.core.tables import Allocation, Customer, HardshipRequest, Invoice, PaymentPlan
from recaudo.tenants.scoped import TenantScope

MAX_ROWS = 500


@dataclass(frozen=True)
class PlanRow:
    id: int
    customer_id: int
    customer_name: str
    customer_number: str
    currency: str
    total: int
    down_payment: int
    installments_count: int
    paid: int
    next_due: date | None
    next_amount: int
    overdue: int  # installments past their date, unpaid
    created_at: datetime

    @property
    def state(self) -> str:
        """``late`` when an installment is past due and unpaid, else ``on_track``."""
        return "late" if self.overdue > 0 else "on_track"


@dataclass(frozen=True)
class PromiseRow:
    id: int
    customer_id: int
    customer_name: str
    customer_number: str
    promise_date: date
    created_at: datetime
    paid_since: int  # money applied to the customer's invoices since the promise
    balance_due: int
    currency: str
    message: str

    def state(self, today: date) -> str:
        """``kept`` (nothing owed any more), ``pending`` (date not reached) or ``missed``."""
        if self.balance_due <= 0:
            return "kept"
        return "pending" if self.promise_date >= today else "missed"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _customers(scope: TenantScope, ids: set[int]) -> dict[int, Customer]:
    if not ids:
        return {}
    rows = await scope.objects(Customer).where(Customer.id.is_in(sorted(ids)))
    return {int(c.id): c for c in rows}


async def active_plan_rows(scope: TenantScope, today: date) -> list[PlanRow]:
    """Every active plan of the tenant, the ones with a late installment first."""
    owners = await (
        scope.select(PaymentPlan, PaymentPlan.customer)
        .where(PaymentPlan.status == "active")
        .distinct()
        .limit(MAX_ROWS)
    )
    customers = await _customers(scope, {int(r["customer"]) for r in owners})
    rows: list[PlanRow] = []
    for customer_id, customer in customers.items():
        for plan, installments in await sync_plans(scope, customer_id):
            unpaid = [i for i in installments if int(i.amount) > int(i.amount_paid)]
            upcoming = next(iter(unpaid), None)
            rows.append(
                PlanRow(
                    id=int(plan.id),
                    customer_id=customer_id,
                    customer_name=str(customer.name),
                    customer_number=str(customer.number),
                    currency=str(plan.currency),
                    total=int(plan.total),
                    down_payment=int(plan.down_payment),
                    installments_count=int(plan.installments_count),
                    paid=sum(int(i.amount_paid) for i in installments),
                    next_due=upcoming.due_date if upcoming else None,
                    next_amount=int(upcoming.amount) - int(upcoming.amount_paid) if upcoming else 0,
                    overdue=sum(
                        int(i.amount) - int(i.amount_paid) for i in unpaid if i.due_date < today
                    ),
                    created_at=plan.created_at,
                )
            )
    rows.sort(key=lambda r: (r.state != "late", r.next_due or date.max, r.id))
    return rows


async def open_promise_rows(scope: TenantScope, currency: str) -> list[PromiseRow]:
    """Promises to pay not yet closed by staff, soonest date first (``currency``: the
    tenant's, for customers who owe nothing any more)."""
    promises = await (
        scope.objects(HardshipRequest)
        .where((HardshipRequest.outcome == "promise") & (HardshipRequest.status == "open"))
        .order_by(HardshipRequest.promise_date)
        .limit(MAX_ROWS)
    )
    customers = await _customers(scope, {int(p.customer) for p in promises})
    rows: list[PromiseRow] = []
    for promise in promises:
        customer_id = int(promise.customer)
        invoices = await scope.select(
            Invoice,
            Invoice.id,
            Invoice.currency,
            Invoice.total,
            Invoice.amount_applied,
            Invoice.status,
        ).where(Invoice.customer == customer_id)
        open_rows = [r for r in invoices if r["status"] in OPEN_STATUSES]
        owed_in = str(open_rows[0]["currency"]) if open_rows else currency
        ids = [int(r["id"]) for r in invoices]
        applied = (
            await scope.select(
                Allocation, Allocation.amount, Allocation.reversed_amount, Allocation.created_at
            ).where(Allocation.invoice.is_in(ids))
            if ids
            else []
        )
        since = _aware(promise.created_at)
        customer = customers.get(customer_id)
        rows.append(
            PromiseRow(
                id=int(promise.id),
                customer_id=customer_id,
                customer_name=str(customer.name) if customer else "",
                customer_number=str(customer.number) if customer else "",
                promise_date=promise.promise_date,
                created_at=promise.created_at,
                paid_since=sum(
                    int(a["amount"]) - int(a["reversed_amount"])
                    for a in applied
                    if _aware(a["created_at"]) >= since
                ),
                balance_due=sum(
                    int(r["total"]) - int(r["amount_applied"])
                    for r in open_rows
                    if r["currency"] == owed_in
                ),
                currency=owed_in,
                message=str(promise.message or ""),
            )
        )
    return rows
