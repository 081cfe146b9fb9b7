"""The statement read model: what a customer owes, per currency, from the ledger's own totals.

Reads only; :mod:`recaudo.core.payments.ledger` writes. ``Invoice.amount_applied`` and the credit
entries are kept exact by the ledger, so a statement is two or three small queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from piccolo.query import Sum

from recaudo.core.common.money import check_currency
from recaudo.core.payments.errors import PaymentError
from recaudo.core.tables import CreditEntry, Invoice
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope, as_id

OPEN_STATUSES = ("open", "partially_paid")


async def sum_credit(scope: TenantScope, *where: Any) -> int:
    row = (
        await scope.select(CreditEntry, Sum(CreditEntry.amount, alias="total"))
        .where(*where)
        .first()
    )
    return int((row or {}).get("total") or 0)


async def customer_credit(scope: TenantScope, customer_id: int, currency: str) -> int:
    """The customer's credit balance in ``currency`` (minor units)."""
    return await sum_credit(
        scope, CreditEntry.customer == customer_id, CreditEntry.currency == currency
    )


async def invoice_balance(scope: TenantScope, invoice_id: int) -> int:
    """What is still owed on an invoice (zero when paid or void)."""
    row = (
        await scope.select(Invoice, Invoice.total, Invoice.amount_applied, Invoice.status)
        .where(Invoice.id == (as_id(invoice_id) or 0))
        .first()
    )
    if row is None:
        raise PaymentError(f"invoice {invoice_id}: not found")
    if row["status"] == "void":
        return 0
    return int(row["total"]) - int(row["amount_applied"])


@dataclass(frozen=True)
class OpenInvoice:
    id: int
    number: str
    due_date: date
    total: int
    balance: int
    status: str
    disputed: bool
    overdue: bool
    in_plan: bool = False


@dataclass(frozen=True)
class Statement:
    """What a customer owes in one currency, for the portal's header and home page."""

    currency: str
    balance_due: int
    overdue: int
    next_due_date: date | None  # earliest due date today or later among open invoices
    open_invoices: list[OpenInvoice] = field(default_factory=list)
    credit: int = 0
    other_currencies: tuple[str, ...] = ()  # open invoices in other currencies exist

    @property
    def to_pay(self) -> int:
        """Balance after the customer's credit (never below zero)."""
        return max(self.balance_due - max(self.credit, 0), 0)


async def customer_statement(
    scope: TenantScope, customer_id: int, today: date, currency: str | None = None
) -> Statement:
    """The customer's open invoices and totals; two or three small queries.

    Without ``currency`` it uses the currency of the customer's oldest-due open invoice, or the
    tenant's currency when nothing is open.
    """
    rows = (
        await scope.select(
            Invoice,
            Invoice.id,
            Invoice.number,
            Invoice.due_date,
            Invoice.currency,
            Invoice.total,
            Invoice.amount_applied,
            Invoice.status,
            Invoice.disputed,
            Invoice.plan_id,
        )
        .where(Invoice.customer == customer_id, Invoice.status.is_in(list(OPEN_STATUSES)))
        .order_by(Invoice.due_date, Invoice.id)
    )
    if currency is None:
        if rows:
            currency = str(rows[0]["currency"])
        else:
            tenant = (
                await Tenant.select(Tenant.currency).where(Tenant.id == scope.tenant_id).first()
            )
            currency = str(tenant["currency"]) if tenant else "MXN"
    currency = check_currency(currency)
    items = [
        OpenInvoice(
            id=int(r["id"]),
            number=str(r["number"]),
            due_date=r["due_date"],
            total=int(r["total"]),
            balance=int(r["total"]) - int(r["amount_applied"]),
            status=str(r["status"]),
            disputed=bool(r["disputed"]),
            overdue=r["due_date"] < today,
            in_plan=r["plan_id"] is not None,
        )
        for r in rows
        if r["currency"] == currency
    ]
    upcoming = [item.due_date for item in items if item.due_date >= today]
    return Statement(
        currency=currency,
        balance_due=sum(item.balance for item in items),
        overdue=sum(item.balance for item in items if item.overdue),
        next_due_date=min(upcoming) if upcoming else None,
        open_invoices=items,
        credit=await customer_credit(scope, customer_id, currency),
        other_currencies=tuple(sorted({str(r["currency"]) for r in rows} - {currency})),
    )
