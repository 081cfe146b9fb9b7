"""Disputes of an invoice: listing and the decision (reminders resume when rejected)."""

from __future__ import annotations

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
from recaudo.core.common.audit import record
from recaudo.core.db import transaction
from recaudo.core.tables import (
    Customer,
    Dispute,
    Invoice,
    StaffUser,
)
from recaudo.tenants.scoped import TenantScope

DISPUTE_DECISIONS = {"accept": "accepted", "reject": "rejected"}


async def open_disputes(scope: TenantScope) -> list[dict[str, Any]]:
    return (
        await scope.select(
            Dispute,
            Dispute.id,
            Dispute.reason,
            Dispute.message,
            Dispute.created_at,
            Dispute.customer.name.as_alias("customer_name"),
            Dispute.invoice.number.as_alias("invoice_number"),
            Dispute.invoice.total.as_alias("invoice_total"),
            Dispute.invoice.currency.as_alias("invoice_currency"),
        )
        .where(Dispute.status == "open")
        .order_by(Dispute.id)
    )


async def dispute(scope: TenantScope, dispute_id: int) -> tuple[Dispute, Invoice, Customer]:
    row = await _get(scope, Dispute, dispute_id, "Disputa no encontrada.")
    invoice = await _get(scope, Invoice, int(row.invoice), "Factura no encontrada.")
    customer = await _get(scope, Customer, int(row.customer), "Cliente no encontrado.")
    return row, invoice, customer


async def resolve_dispute(
    scope: TenantScope, user: StaffUser, dispute_id: int, decision: str | None, reason: str | None
) -> Dispute:
    """Accept or reject a dispute (see the module docstring for what each does to the invoice)."""
    if decision not in DISPUTE_DECISIONS:
        raise InboxError("Elige aceptar o rechazar.")
    status = DISPUTE_DECISIONS[decision]
    text = _reason(reason, required=decision == "reject")
    row, invoice, _customer = await dispute(scope, dispute_id)
    if row.status == status:
        return row
    if row.status != "open":
        raise Conflict("Esta disputa ya fue resuelta.")
    async with transaction():
        decided = {Dispute.status: status, **_decided(Dispute, user, text)}
        await scope.update(Dispute, decided).where(Dispute.id == row.id)
        if status == "rejected":
            others = await scope.exists(Dispute).where(
                (Dispute.invoice == invoice.id) & (Dispute.status == "open")
            )
            if not others:
                await scope.update(Invoice, {Invoice.disputed: False}).where(
                    Invoice.id == invoice.id
                )
        await record(
            scope,
            actor(user),
            f"dispute.{status}",
            f"dispute:{row.id}",
            invoice_id=int(invoice.id),
            reason=text,
        )
        await _tell_customer(scope, "dispute", int(row.id))
    row.status = status
    return row
