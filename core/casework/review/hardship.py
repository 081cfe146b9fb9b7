""" "No puedo pagar": hardship requests and plans waiting for staff, and the decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from recaudo.core.casework.review.common import (
    Conflict,
    InboxError,
    _decided,
    _get,
    _reason,
    _tell_customer,
    actor,
)
from recaudo.core.collections.plans import PlanError, PlanPolicy, create_plan, sync_plans
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.db import transaction
from recaudo.core.tables import (
    Customer,
    HardshipRequest,
    Invoice,
    PaymentPlan,
    PlanInstallment,
    StaffUser,
)
from recaudo.core.webhooks import events as webhook_events
from recaudo.tenants.scoped import TenantScope

REVIEW_DECISIONS = {"approve": "approved", "approve_plan": "approved", "decline": "declined"}


@dataclass(frozen=True)
class PlanTerms:
    """The plan staff grant when approving a request: checked against the tenant's policy."""

    installments: int
    down_payment: int
    today: date
    policy: PlanPolicy


async def hardship_to_review(scope: TenantScope) -> list[dict[str, Any]]:
    return (
        await scope.select(
            HardshipRequest,
            HardshipRequest.id,
            HardshipRequest.reason,
            HardshipRequest.message,
            HardshipRequest.promise_date,
            HardshipRequest.created_at,
            HardshipRequest.customer.name.as_alias("customer_name"),
        )
        .where((HardshipRequest.status == "open") & (HardshipRequest.outcome == "review"))
        .order_by(HardshipRequest.id)
    )


async def plans_to_review(scope: TenantScope) -> list[dict[str, Any]]:
    return (
        await scope.select(
            PaymentPlan,
            PaymentPlan.id,
            PaymentPlan.total,
            PaymentPlan.currency,
            PaymentPlan.installments_count,
            PaymentPlan.down_payment,
            PaymentPlan.reason,
            PaymentPlan.created_at,
            PaymentPlan.customer.name.as_alias("customer_name"),
        )
        .where(PaymentPlan.status == "review")
        .order_by(PaymentPlan.id)
    )


async def hardship(scope: TenantScope, request_id: int) -> tuple[HardshipRequest, Customer]:
    row = await _get(scope, HardshipRequest, request_id, "Solicitud no encontrada.")
    customer = await _get(scope, Customer, int(row.customer), "Cliente no encontrado.")
    return row, customer


async def plan(scope: TenantScope, plan_id: int) -> tuple[PaymentPlan, Customer, list[Any]]:
    row = await _get(scope, PaymentPlan, plan_id, "Plan no encontrado.")
    customer = await _get(scope, Customer, int(row.customer), "Cliente no encontrado.")
    if row.status == "active":
        await sync_plans(scope, int(customer.id))  # what each installment has received so far
        row = await _get(scope, PaymentPlan, plan_id, "Plan no encontrado.")
    installments = (
        await scope.objects(PlanInstallment)
        .where(PlanInstallment.plan == row.id)
        .order_by(PlanInstallment.number)
    )
    return row, customer, installments


def _decision(value: str | None) -> str:
    if value not in REVIEW_DECISIONS:
        raise InboxError("Elige aprobar o rechazar.")
    return REVIEW_DECISIONS[value]


async def _decide_plan(scope: TenantScope, row: PaymentPlan, status: str) -> None:
    """Approve (activate, mark its invoices) or decline (cancel, release them) a plan."""
    if status == "approved":
        await scope.update(PaymentPlan, {PaymentPlan.status: "active"}).where(
            PaymentPlan.id == row.id
        )
        ids = [i for i in loads(row.invoice_ids, []) if isinstance(i, int)]
        if ids:
            await scope.update(Invoice, {Invoice.plan_id: row.id}).where(
                Invoice.id.is_in(ids)
                & (Invoice.customer == row.customer)
                & Invoice.plan_id.is_null()
            )
        await webhook_events.emit(
            scope, "plan.created", "plan", int(row.id), key=f"plan:{row.id}:created"
        )
    else:
        await scope.update(PaymentPlan, {PaymentPlan.status: "cancelled"}).where(
            PaymentPlan.id == row.id
        )
        await scope.update(Invoice, {Invoice.plan_id: None}).where(Invoice.plan_id == row.id)
        await scope.update(PlanInstallment, {PlanInstallment.status: "cancelled"}).where(
            (PlanInstallment.plan == row.id) & (PlanInstallment.status == "open")
        )
        await webhook_events.emit(
            scope, "plan.cancelled", "plan", int(row.id), key=f"plan:{row.id}:cancelled"
        )


async def review_hardship(
    scope: TenantScope,
    user: StaffUser,
    request_id: int,
    decision: str | None,
    note: str | None,
    terms: PlanTerms | None = None,
) -> HardshipRequest:
    """Decide a request; ``approve_plan`` with ``terms`` grants the customer a plan."""
    status = _decision(decision)
    text = _reason(note, required=False)
    if decision == "approve_plan" and terms is None:
        raise InboxError("Indica el enganche y las cuotas del plan.")
    row, _customer = await hardship(scope, request_id)
    if row.status == status:
        return row
    if row.status != "open":
        raise Conflict("Esta solicitud ya fue revisada.")
    granted: int | None = None
    async with transaction():
        if decision == "approve_plan" and terms is not None and row.plan is None:
            try:
                plan_row = await create_plan(
                    scope,
                    int(row.customer),
                    terms.today,
                    terms.policy,
                    installments=terms.installments,
                    down_payment=terms.down_payment,
                    reason=str(row.reason),
                )
            except PlanError as exc:
                raise InboxError(str(exc)) from None
            granted = int(plan_row.id)
        changes: dict[Any, Any] = {
            HardshipRequest.status: status,
            **_decided(HardshipRequest, user, text),
        }
        if granted is not None:
            changes[HardshipRequest.plan] = granted
        await scope.update(HardshipRequest, changes).where(HardshipRequest.id == row.id)
        if row.plan is not None:
            linked = await scope.get(PaymentPlan, row.plan)
            if linked is not None and linked.status == "review":
                await _decide_plan(scope, linked, status)
        await record(
            scope,
            actor(user),
            f"hardship.{status}",
            f"hardship_request:{row.id}",
            note=text,
            plan_id=granted,
        )
        await _tell_customer(scope, "hardship", int(row.id))
    row.status = status
    if granted is not None:
        row.plan = granted
    return row


async def review_plan(
    scope: TenantScope, user: StaffUser, plan_id: int, decision: str | None, note: str | None
) -> PaymentPlan:
    status = _decision(decision)
    text = _reason(note, required=False)
    row, _customer, _installments = await plan(scope, plan_id)
    target = "active" if status == "approved" else "cancelled"
    if row.status == target:
        return row
    if row.status != "review":
        raise Conflict("Este plan ya fue revisado.")
    async with transaction():
        await _decide_plan(scope, row, status)
        await scope.update(
            HardshipRequest,
            {HardshipRequest.status: status, **_decided(HardshipRequest, user, text)},
        ).where((HardshipRequest.plan == row.id) & (HardshipRequest.status == "open"))
        await record(scope, actor(user), f"plan.{status}", f"payment_plan:{row.id}", note=text)
        await _tell_customer(scope, "plan", int(row.id))
    row.status = target
    return row
