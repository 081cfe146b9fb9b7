"""Hand-made customer histories for the credit and forecast tests: invoices issued and paid on
chosen days (allocations and payments are back-dated after the ledger records them)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.payments.ledger import record_staff_payment
from recaudo.core.tables import Allocation, Customer, Payment
from recaudo.tenants.scoped import TenantScope

_refs = itertools.count(1)


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


async def customer(scope: TenantScope, number: str, since: date) -> int:
    row = await create_customer(scope, NewCustomer(number, f"Cliente {number}"), "MX")
    await scope.update(Customer, {Customer.created_at: noon(since)}).where(Customer.id == row.id)
    return int(row.id)


async def invoice(
    scope: TenantScope,
    customer_id: int,
    number: str,
    issued: date,
    due: date,
    amount: int,
    currency: str = "MXN",
) -> int:
    row = await create_invoice(
        scope,
        NewInvoice(customer_id, number, issued, due, currency, (NewLine("Servicio", 1, amount),)),
    )
    return int(row.id)


async def pay(
    scope: TenantScope,
    customer_id: int,
    invoice_id: int,
    amount: int,
    on: date,
    currency: str = "MXN",
) -> int:
    """Pay ``amount`` of the invoice as if it arrived on ``on``."""
    payment = await record_staff_payment(
        scope,
        customer_id=customer_id,
        currency=currency,
        amount=amount,
        method="transfer",
        reference=f"ref-{next(_refs)}",
        invoice_ids=[invoice_id],
    )
    await scope.update(Allocation, {Allocation.created_at: noon(on)}).where(
        Allocation.payment == payment.id
    )
    await scope.update(Payment, {Payment.created_at: noon(on)}).where(Payment.id == payment.id)
    return int(payment.id)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())
