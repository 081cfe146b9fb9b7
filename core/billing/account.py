"""What a customer sees of their account: the statement with ages and plans, invoices, payments.

Built on :func:`recaudo.core.billing.statement.customer_statement` (the ledger's own totals), plus
what the portal adds: aging buckets, which invoices a payment plan covers, payments in flight and
the payment history. Everything is read through the tenant scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from recaudo.core.billing.invoices import age_bucket
from recaudo.core.billing.statement import Statement, customer_statement
from recaudo.core.collections.plans import PlanView, active_plans
from recaudo.core.common.jsonfield import loads
from recaudo.core.payments import expiry
from recaudo.core.payments.expiry import expires_at, live_where
from recaudo.core.tables import Allocation, Invoice, InvoiceLine, Payment
from recaudo.tenants.scoped import TenantScope

IN_FLIGHT = ("pending", "in_process")
MAX_IN_FLIGHT_SHOWN = 5


@dataclass(frozen=True)
class InvoiceRow:
    id: int
    number: str
    due_date: date
    total: int
    balance: int
    status: str
    bucket: str
    days_overdue: int
    disputed: bool
    in_plan: bool


@dataclass(frozen=True)
class AccountView:
    statement: Statement
    invoices: list[InvoiceRow]
    plans: list[PlanView]
    pending_payments: list[Payment] = field(default_factory=list)
    # When the first shown checkout stops being live: a rendering is stale from then on.
    valid_until: datetime | None = None

    @property
    def currency(self) -> str:
        return self.statement.currency


def with_plans(statement: Statement, plans: list[PlanView], today: date) -> Statement:
    """The statement as the customer now owes it: invoices a plan covers are due by installment.

    A plan replaces the covered invoices' due dates with its own, so "overdue" counts only the
    uncovered invoices past due plus the plan's installments past due, and the next due date is
    the earliest upcoming one of either.
    """
    plans = [p for p in plans if p.currency == statement.currency]
    if not plans:
        return statement
    free = [i for i in statement.open_invoices if not i.in_plan]
    due = [(i.due_date, i.balance) for p in plans for i in p.installments if i.balance > 0]
    upcoming = [i.due_date for i in free if i.due_date >= today]
    upcoming += [when for when, _ in due if when >= today]
    return replace(
        statement,
        overdue=sum(i.balance for i in free if i.overdue)
        + sum(left for when, left in due if when < today),
        next_due_date=min(upcoming) if upcoming else None,
    )


async def account_view(
    scope: TenantScope, customer_id: int, today: date, now: datetime | None = None
) -> AccountView:
    """The statement as the portal shows it; payments in flight are the live checkouts only
    (one per checkout; expired or superseded ones are left out even before the sweep marks them).
    """
    now = now or expiry.now()
    statement = await customer_statement(scope, customer_id, today)
    plans = await active_plans(scope, customer_id)
    statement = with_plans(statement, plans, today)
    invoices = [
        InvoiceRow(
            id=item.id,
            number=item.number,
            due_date=item.due_date,
            total=item.total,
            balance=item.balance,
            status=item.status,
            # a covered invoice is not late: the plan's installments carry its due dates now
            bucket="plan" if item.in_plan else age_bucket(item.due_date, today),
            days_overdue=0 if item.in_plan else max((today - item.due_date).days, 0),
            disputed=item.disputed,
            in_plan=item.in_plan,
        )
        for item in statement.open_invoices
    ]
    pending = (
        await scope.objects(Payment)
        .where(Payment.customer == customer_id, live_where(now))
        .order_by(Payment.id, ascending=False)
        .limit(MAX_IN_FLIGHT_SHOWN)
    )
    ends = [expires_at(p) for p in pending if p.status == "pending"]
    return AccountView(
        statement,
        invoices,
        plans,
        pending,
        valid_until=min(ends) if ends else None,
    )


def stamp_sql(customer: str) -> str:
    """The account stamp as an SQL expression for ``TenantScope.raw``: the one definition, read
    alone here and inside the session lookup (``customer`` is ``{}`` or a column such as ``c.id``).
    """
    return (
        "(SELECT COALESCE(SUM(a.weight), 0) FROM account_change a"
        f" WHERE a.tenant = {{tenant}} AND a.customer = {customer})"
    )


ACCOUNT_STAMP = f"SELECT {stamp_sql('{}')} AS stamp"


async def account_stamp(scope: TenantScope, customer_id: int) -> int:
    """How many changes the customer's statement has had: equal stamps, equal statements.

    Database triggers count every write to invoices, payments, credit and plans (see
    :class:`~recaudo.core.tables.AccountChange`), so this is exact across processes.
    """
    rows = await scope.raw(ACCOUNT_STAMP, customer_id)
    return int(rows[0]["stamp"]) if rows else 0


async def customer_invoice(scope: TenantScope, customer_id: int, invoice_id: int) -> Invoice | None:
    """The invoice if it is this customer's; another customer's or tenant's is simply absent."""
    invoice = await scope.get(Invoice, invoice_id)
    if invoice is None or int(invoice.customer) != int(customer_id):
        return None
    return invoice


async def invoice_lines(scope: TenantScope, invoice_id: int) -> list[InvoiceLine]:
    return await (
        scope.objects(InvoiceLine)
        .where(InvoiceLine.invoice == invoice_id)
        .order_by(InvoiceLine.position)
    )


async def invoice_payments(scope: TenantScope, invoice_id: int) -> list[dict[str, Any]]:
    """Money applied to an invoice: ``{payment, amount, reversed, created_at, method, status}``."""
    rows = await (
        scope.select(
            Allocation,
            Allocation.payment,
            Allocation.amount,
            Allocation.reversed_amount,
            Allocation.created_at,
        )
        .where(Allocation.invoice == invoice_id)
        .order_by(Allocation.id)
    )
    if not rows:
        return []
    payments = {
        int(p.id): p
        for p in await scope.objects(Payment).where(
            Payment.id.is_in(sorted({int(r["payment"]) for r in rows}))
        )
    }
    out = []
    for r in rows:
        payment = payments.get(int(r["payment"]))
        out.append(
            {
                "payment": int(r["payment"]),
                "amount": int(r["amount"]),
                "reversed": int(r["reversed_amount"]),
                "created_at": r["created_at"],
                "method": payment.method if payment else "",
                "status": payment.status if payment else "",
            }
        )
    return out


async def payment_history(scope: TenantScope, customer_id: int, limit: int = 50) -> list[Payment]:
    rows = await (
        scope.objects(Payment)
        .where(Payment.customer == customer_id)
        .order_by(Payment.id, ascending=False)
        .limit(limit)
    )
    now = expiry.now()
    return [expiry.as_seen(row, now) for row in rows]


async def customer_payment(scope: TenantScope, customer_id: int, payment_id: int) -> Payment | None:
    payment = await scope.get(Payment, payment_id)
    if payment is None or int(payment.customer) != int(customer_id):
        return None
    return payment


async def payment_allocations(scope: TenantScope, payment_id: int) -> list[dict[str, Any]]:
    """Which invoices a payment paid (the receipt): ``{invoice, number, amount, reversed}``."""
    rows = await (
        scope.select(Allocation, Allocation.invoice, Allocation.amount, Allocation.reversed_amount)
        .where(Allocation.payment == payment_id)
        .order_by(Allocation.id)
    )
    if not rows:
        return []
    numbers = {
        int(r["id"]): str(r["number"])
        for r in await scope.select(Invoice, Invoice.id, Invoice.number).where(
            Invoice.id.is_in(sorted({int(r["invoice"]) for r in rows}))
        )
    }
    return [
        {
            "invoice": int(r["invoice"]),
            "number": numbers.get(int(r["invoice"]), ""),
            "amount": int(r["amount"]),
            "reversed": int(r["reversed_amount"]),
        }
        for r in rows
    ]


def checkout_of(payment: Payment) -> dict[str, Any]:
    value = loads(payment.checkout, {})
    return value if isinstance(value, dict) else {}
