"""``/api/v1/payments`` (list, get) and ``/api/v1/plans`` (list, get): read-only."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from litestar import get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, Parameter

from recaudo.core.tables import Payment, PaymentPlan, PlanInstallment
from recaudo.tenants.scoped import MAX_ID, TenantScope
from recaudo.web.api.common import page
from recaudo.web.api.customers import Cursor, Limit
from recaudo.web.api.errors import ERROR_RESPONSES
from recaudo.web.api.schemas import (
    InstallmentOut,
    PaymentOut,
    PaymentPage,
    PlanOut,
    PlanPage,
)

CustomerFilter = Annotated[
    int | None, Parameter(ge=1, le=MAX_ID, description="Only this customer's.")
]
StatusFilter = Annotated[str | None, Parameter(max_length=20, description="Exact status.")]
DateParam = Annotated[date | None, Parameter(description="YYYY-MM-DD (UTC), inclusive.")]


def payment_out(p: Payment) -> PaymentOut:
    return PaymentOut(
        id=int(p.id),
        customer_id=int(p.customer),  # type: ignore[arg-type]
        method=str(p.method),
        status=str(p.status),
        currency=str(p.currency),
        amount=int(p.amount),
        amount_refunded=int(p.amount_refunded),
        created_at=p.created_at,
    )


@get(
    "/payments",
    responses=ERROR_RESPONSES,
    summary="List payments",
    description="Newest first; cursor-paginated.",
)
async def list_payments(
    api_scope: NamedDependency[TenantScope],
    limit: Limit = 50,
    cursor: Cursor = None,
    status: StatusFilter = None,
    customer_id: CustomerFilter = None,
    created_from: DateParam = None,
    created_to: DateParam = None,
) -> PaymentPage:
    query = api_scope.objects(Payment)
    if status is not None:
        query = query.where(Payment.status == status)
    if customer_id is not None:
        query = query.where(Payment.customer == customer_id)
    if created_from is not None:
        query = query.where(Payment.created_at >= datetime.combine(created_from, time(), UTC))
    if created_to is not None:
        end = datetime.combine(created_to + timedelta(days=1), time(), UTC)
        query = query.where(Payment.created_at < end)
    rows, nxt = await page(query, Payment.id, limit, cursor)
    return PaymentPage([payment_out(r) for r in rows], nxt)


@get("/payments/{payment_id:int}", responses=ERROR_RESPONSES, summary="Get a payment")
async def get_payment(
    api_scope: NamedDependency[TenantScope], payment_id: FromPath[int]
) -> PaymentOut:
    row = await api_scope.get(Payment, payment_id)
    if row is None:
        raise NotFoundException("payment: not found")
    return payment_out(row)


def _ids(value: Any) -> list[int]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = []
    return [int(x) for x in (value or []) if isinstance(x, int) and not isinstance(x, bool)]


async def plans_out(scope: TenantScope, rows: list[PaymentPlan]) -> list[PlanOut]:
    by_plan: dict[int, list[InstallmentOut]] = {int(r.id): [] for r in rows}
    if rows:
        found = (
            await scope.objects(PlanInstallment)
            .where(PlanInstallment.plan.is_in(list(by_plan)))
            .order_by(PlanInstallment.number)
        )
        for i in found:
            by_plan[int(i.plan)].append(  # type: ignore[arg-type]
                InstallmentOut(
                    int(i.number), i.due_date, int(i.amount), int(i.amount_paid), str(i.status)
                )
            )
    return [
        PlanOut(
            id=int(r.id),
            customer_id=int(r.customer),  # type: ignore[arg-type]
            status=str(r.status),
            currency=str(r.currency),
            total=int(r.total),
            down_payment=int(r.down_payment),
            installments_count=int(r.installments_count),
            invoice_ids=_ids(r.invoice_ids),
            installments=by_plan[int(r.id)],
            created_at=r.created_at,
        )
        for r in rows
    ]


@get(
    "/plans",
    responses=ERROR_RESPONSES,
    summary="List payment plans",
    description="Newest first; cursor-paginated.",
)
async def list_plans(
    api_scope: NamedDependency[TenantScope],
    limit: Limit = 50,
    cursor: Cursor = None,
    status: StatusFilter = None,
    customer_id: CustomerFilter = None,
) -> PlanPage:
    query = api_scope.objects(PaymentPlan)
    if status is not None:
        query = query.where(PaymentPlan.status == status)
    if customer_id is not None:
        query = query.where(PaymentPlan.customer == customer_id)
    rows, nxt = await page(query, PaymentPlan.id, limit, cursor)
    return PlanPage(await plans_out(api_scope, rows), nxt)


@get("/plans/{plan_id:int}", responses=ERROR_RESPONSES, summary="Get a payment plan")
async def get_plan(api_scope: NamedDependency[TenantScope], plan_id: FromPath[int]) -> PlanOut:
    row = await api_scope.get(PaymentPlan, plan_id)
    if row is None:
        raise NotFoundException("plan: not found")
    return (await plans_out(api_scope, [row]))[0]


ROUTES: list[Any] = [list_payments, get_payment, list_plans, get_plan]
