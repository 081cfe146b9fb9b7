"""Six months of paid history for the demo tenants, so the collector's workspace (KPIs, the
forecast's back-test, credit scores) has something to measure on a fresh ``make run``.

Everything goes through the ledger's own services (invoices, staff payments, promises); only the
timestamps a real past would have carried are moved back afterwards (when the money arrived).
Each demo customer keeps a habit: the first pays a little early, the second about two weeks late
and keeps its promise, the third a month late and breaks one. Idempotent: a tenant that already
has history is left alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.collections.promises import check_promises, create_promise
from recaudo.core.db import transaction
from recaudo.core.payments.ledger import record_staff_payment
from recaudo.core.tables import (
    Allocation,
    Customer,
    Invoice,
    Payment,
    PaymentPromise,
    PaymentTransition,
    StaffUser,
    WorkTask,
)
from recaudo.tenants.scoped import TenantScope

MONTHS = 6
#: Days after the due date each demo customer pays (by its position in the demo).
HABITS = (-2, 12, 34)
#: (customer position, months back, days after due promised): the second customer keeps its
#: promise (pays before the promised day), the third breaks it.
PROMISES = ((1, 3, 14), (2, 4, 20))
PREFIX = "H"


def _at(day: date) -> datetime:
    return datetime.combine(day, time(17, 0), tzinfo=UTC)


async def _backdate_payment(scope: TenantScope, payment_id: int, when: datetime) -> None:
    """The payment, its allocations and transitions carry the day the money arrived."""
    await scope.update(Payment, {Payment.created_at: when, Payment.updated_at: when}).where(
        Payment.id == payment_id
    )
    await scope.update(Allocation, {Allocation.created_at: when}).where(
        Allocation.payment == payment_id
    )
    await scope.update(PaymentTransition, {PaymentTransition.created_at: when}).where(
        PaymentTransition.payment == payment_id
    )


async def seed_history(
    scope: TenantScope,
    *,
    slug: str,
    currency: str,
    tax_rate_pct: int,
    products: tuple[tuple[str, int], ...],
    timezone: str,
    today: date,
) -> int:
    """Past invoices, payments and promises for the tenant's demo customers; how many invoices."""
    code = slug[:3].upper()
    if await scope.exists(Invoice).where(Invoice.number.like(f"{code}-{PREFIX}%")):
        return 0
    customers = await scope.objects(Customer).order_by(Customer.id)
    collector = (
        await scope.objects(StaffUser)
        .where(StaffUser.role == "collector")
        .order_by(StaffUser.id)
        .first()
    )
    made = 0
    for position, customer in enumerate(customers[: len(HABITS)]):
        delay = HABITS[position]
        for back in range(MONTHS, 0, -1):
            due = today - timedelta(days=30 * back)
            description, unit = products[(position + back) % len(products)]
            qty = 2 + (position + back) % 3
            subtotal = qty * unit
            invoice = await create_invoice(
                scope,
                NewInvoice(
                    customer_id=int(customer.id),
                    number=f"{code}-{PREFIX}{position + 1}{back:02d}",
                    issue_date=due - timedelta(days=30),
                    due_date=due,
                    currency=currency,
                    lines=(NewLine(description, qty, unit),),
                    tax=(subtotal * tax_rate_pct + 50) // 100,
                    description=description,
                ),
            )
            await scope.update(Invoice, {Invoice.created_at: _at(due - timedelta(days=30))}).where(
                Invoice.id == invoice.id
            )
            made += 1
            for p_position, p_back, p_days in PROMISES:
                if (p_position, p_back) == (position, back):
                    promise = await create_promise(
                        scope,
                        int(customer.id),
                        [int(invoice.id)],
                        due + timedelta(days=p_days),
                        int(invoice.total),
                        currency,
                        source="staff",
                        actor="demo",
                        note="Promesa registrada en una llamada (historial de demostración).",
                    )
                    # Made in the past; staff heard of a broken one back then, not today.
                    await scope.update(
                        PaymentPromise,
                        {
                            PaymentPromise.created_at: _at(due + timedelta(days=2)),
                            PaymentPromise.staff_told: True,
                        },
                    ).where(PaymentPromise.id == promise.id)
            paid_on = due + timedelta(days=delay)
            if paid_on >= today:
                continue  # not paid yet: part of today's overdue balance
            payment = await record_staff_payment(
                scope,
                customer_id=int(customer.id),
                currency=currency,
                amount=int(invoice.total),
                method="banktransfer",
                reference=f"DEMO-{invoice.number}",
                invoice_ids=[int(invoice.id)],
                source="demo",
            )
            await _backdate_payment(scope, int(payment.id), _at(paid_on))
        if collector is not None and position > 0:
            await scope.update(Customer, {Customer.collector_id: int(collector.id)}).where(
                Customer.id == customer.id
            )
    if collector is not None and len(customers) >= len(HABITS):
        async with transaction():
            await scope.add(
                WorkTask(
                    customer=int(customers[len(HABITS) - 1].id),
                    assignee=int(collector.id),
                    title="Llamar para confirmar la fecha de pago",
                    kind="call",
                    due_date=today + timedelta(days=1),
                    status="open",
                    created_by="demo",
                    created_at=datetime.now(UTC),
                )
            )
    await check_promises(scope, timezone, datetime.now(UTC))
    return made
