"""What the back office sees of the payment plans and promises customers are living under.

The inbox lists only what waits for a decision; a plan accepted on the spot or a promise date
never does, yet staff must know them before calling a customer or chasing an invoice. This is
the tenant-wide book of active plans with their progress and next installment (promises to pay
are in :mod:`recaudo.core.collections.promises`). Plan progress is brought up to date first
(:func:`sync_plans`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from recaudo.core.collections.plans import sync_plans
from recaudo.core.tables import Customer, PaymentPlan
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
