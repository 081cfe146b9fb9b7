"""Manual payments (cash, cheque, transfer) and write-offs, through the ledger.

``record_manual_payment`` and ``write_off`` are the services the back office and the REST API
call; these tests pin their behaviour: applied once per reference, partial allocation, write-off
effect on balance, status, the portal's statement and later refunds, and the audit trail.
"""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from recaudo.core.billing.invoices import status_for
from recaudo.core.billing.statement import customer_statement
from recaudo.core.common.jsonfield import loads
from recaudo.core.payments.ledger import PaymentError, create_payment
from recaudo.core.payments.manual import (
    customer_write_offs,
    invoice_write_offs,
    manual_details,
    record_manual_payment,
    write_off,
)
from recaudo.core.tables import (
    Allocation,
    AuditEvent,
    CreditEntry,
    Invoice,
    OutboxJob,
    Payment,
    PaymentTransition,
    WriteOff,
)
from recaudo.tenants.scoped import TenantScope
from tests.test_ledger import TODAY, World, world

ACTOR = "staff:1:ana@example.com"


async def check_money(scope: TenantScope) -> None:
    """The ledger's invariants with write-offs: applied = allocations net + write-offs."""
    invoices = await scope.objects(Invoice)
    allocations = await scope.objects(Allocation)
    offs = await scope.objects(WriteOff)
    for inv in invoices:
        net = sum(a.amount - a.reversed_amount for a in allocations if a.invoice == inv.id)
        written = sum(w.amount for w in offs if w.invoice == inv.id)
        assert inv.amount_applied == net + written, f"invoice {inv.id}"
        assert 0 <= inv.amount_applied <= inv.total
        assert inv.status == status_for(
            inv.total, inv.amount_applied, inv.status == "void", written
        )


async def manual(w: World, amount: int, reference: str, invoices: list[int] | None = None,
                 method: str = "cash") -> Payment:  # fmt: skip
    return await record_manual_payment(
        w.scope,
        customer_id=w.customer,
        currency=w.currency,
        amount=amount,
        method=method,
        reference=reference,
        invoice_ids=invoices,
        actor=ACTOR,
    )


async def test_a_manual_payment_is_applied_once_per_reference(database: str) -> None:
    w = await world()
    inv = await w.invoice(10_000)
    first = await manual(w, 10_000, "Recibo 15", [inv], method="cheque")
    again = await manual(w, 10_000, "Recibo 15", [inv], method="cheque")
    assert first.id == again.id
    assert await w.scope.count(Payment) == 1
    assert await w.applied(inv) == (10_000, "paid")
    assert first.status == "approved" and first.method == "cheque"
    assert manual_details(first)["reference"] == "Recibo 15"
    (transition,) = await w.scope.objects(PaymentTransition)
    assert transition.source == "staff" and transition.to_status == "approved"
    (event,) = await w.scope.objects(AuditEvent).where(AuditEvent.action == "payment.manual")
    assert event.actor == ACTOR and event.subject == f"payment:{first.id}"
    # The same reference for another amount is a mistake, not a second payment.
    with pytest.raises(PaymentError, match="reference"):
        await manual(w, 9_000, "Recibo 15", [inv], method="cheque")
    # The same number under another method is another document.
    await manual(w, 500, "Recibo 15", None, method="transfer")
    assert await w.scope.count(Payment) == 2
    await check_money(w.scope)


async def test_a_manual_payment_ends_the_pending_checkout_for_its_invoices(database: str) -> None:
    """Cash at the counter for an invoice the customer had started paying by transfer: the
    portal must not keep showing that transfer "in process" next to a paid invoice."""
    w = await world()
    inv, other = await w.invoice(10_000), await w.invoice(5_000)
    transfer = await create_payment(
        w.scope, customer_id=w.customer, method="banktransfer", currency=w.currency,
        idempotency_key="checkout-1", invoice_ids=[inv],
    )  # fmt: skip
    unrelated = await create_payment(
        w.scope, customer_id=w.customer, method="banktransfer", currency=w.currency,
        idempotency_key="checkout-2", invoice_ids=[other],
    )  # fmt: skip
    await manual(w, 10_000, "Recibo 16", [inv])
    assert (await w.scope.get(Payment, transfer.id)).status == "cancelled"
    assert (await w.scope.get(Payment, unrelated.id)).status == "pending"
    await check_money(w.scope)


async def test_concurrent_requests_with_one_reference_record_one_payment(database: str) -> None:
    w = await world()
    inv = await w.invoice(10_000)
    results = await asyncio.gather(
        *[manual(w, 4_000, "T-777", [inv], method="transfer") for _ in range(4)]
    )
    assert len({int(p.id) for p in results}) == 1
    assert await w.applied(inv) == (4_000, "partially_paid")
    await check_money(w.scope)


async def test_partial_allocation_and_overpayment(database: str) -> None:
    w = await world()
    older = await w.invoice(6_000, due_in=-30)
    newer = await w.invoice(8_000, due_in=10)
    chosen = await manual(w, 5_000, "caja-1", [newer])
    assert await w.applied(newer) == (5_000, "partially_paid")
    assert await w.applied(older) == (0, "open")
    # Without invoices the money goes oldest due first, and what is left is credit.
    await manual(w, 10_000, "caja-2", None)
    assert await w.applied(older) == (6_000, "paid")
    assert await w.applied(newer) == (8_000, "paid")
    assert await w.credit() == 1_000
    assert chosen.requested_total == 8_000
    await check_money(w.scope)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("method", {"method": "bitcoin"}),
        ("reference", {"reference": "  "}),
        ("reference", {"reference": "x" * 81}),
        ("amount", {"amount": 0}),
        ("amount", {"amount": -5}),
        ("amount", {"amount": 1.5}),
        ("currency", {"currency": "XXQ"}),
        ("invoice", {"invoice_ids": [999_999]}),
        ("customer", {"customer_id": 999_999}),
        ("actor", {"actor": ""}),
    ],
)
async def test_bad_manual_payments_are_refused_naming_the_field(
    database: str, field: str, kwargs: dict
) -> None:
    w = await world()
    await w.invoice(1_000)
    args = {
        "customer_id": w.customer,
        "currency": w.currency,
        "amount": 1_000,
        "method": "cash",
        "reference": "R-1",
        "invoice_ids": None,
        "actor": ACTOR,
        **kwargs,
    }
    with pytest.raises(PaymentError, match=field):
        await record_manual_payment(w.scope, **args)
    assert await w.scope.count(Payment) == 0
    assert await w.scope.count(AuditEvent) == 0


async def test_another_tenants_invoice_is_not_found(database: str) -> None:
    a = await world()
    b = await world()
    theirs = await b.invoice(1_000)
    with pytest.raises(PaymentError, match="not found"):
        await manual(a, 1_000, "R-1", [theirs])
    with pytest.raises(PaymentError, match="not found"):
        await write_off(a.scope, theirs, None, "Incobrable", ACTOR)
    assert await b.applied(theirs) == (0, "open")


async def test_a_full_write_off_closes_the_invoice(database: str) -> None:
    w = await world()
    inv = await w.invoice(10_000, due_in=-100)
    other = await w.invoice(3_000, due_in=5)
    await manual(w, 4_000, "caja-9", [inv])
    row = await write_off(w.scope, inv, None, "Cliente en quiebra", ACTOR)
    assert row.amount == 6_000
    assert await w.applied(inv) == (10_000, "written_off")
    invoice = await w.scope.get(Invoice, inv)
    assert invoice is not None and invoice.balance == 0
    # The portal's statement no longer shows it as owed.
    statement = await customer_statement(w.scope, w.customer, TODAY)
    assert [i.id for i in statement.open_invoices] == [other]
    assert statement.balance_due == 3_000 and statement.overdue == 0
    # Timeline, audit and the invoice event.
    assert [r.amount for r in await invoice_write_offs(w.scope, inv)] == [6_000]
    (listed,) = await customer_write_offs(w.scope, w.customer)
    assert listed["reason"] == "Cliente en quiebra" and listed["invoice_number"]
    (event,) = await w.scope.objects(AuditEvent).where(AuditEvent.action == "invoice.write_off")
    assert event.actor == ACTOR and loads(event.data)["amount"] == 6_000
    keys = [j.key for j in await w.scope.objects(OutboxJob)]
    assert f"invoice_event:{inv}:written_off:10000" in keys
    # Nothing left to write off, and no payment can be chosen for it.
    with pytest.raises(PaymentError, match="nothing left"):
        await write_off(w.scope, inv, 1, "otra vez", ACTOR)
    with pytest.raises(PaymentError, match="written off"):
        await manual(w, 100, "caja-10", [inv])
    await check_money(w.scope)


async def test_a_partial_write_off_reduces_the_balance(database: str) -> None:
    w = await world()
    inv = await w.invoice(10_000)
    await write_off(w.scope, inv, 2_500, "Descuento por pronto arreglo", ACTOR)
    assert await w.applied(inv) == (2_500, "open")  # nothing paid yet: still open
    statement = await customer_statement(w.scope, w.customer, TODAY)
    assert statement.balance_due == 7_500
    await manual(w, 7_500, "caja-1", [inv])
    assert await w.applied(inv) == (10_000, "written_off")
    with pytest.raises(PaymentError, match="amount"):
        await write_off(w.scope, await w.invoice(1_000), 1_001, "más del saldo", ACTOR)
    await check_money(w.scope)


async def test_a_refund_after_a_write_off_reopens_only_the_refunded_money(database: str) -> None:
    w = await world()
    inv = await w.invoice(10_000)
    payment = await w.intent(6_000, [inv])
    await w.apply(w.state(payment, 6_000))
    await write_off(w.scope, inv, None, "Resto incobrable", ACTOR)
    assert await w.applied(inv) == (10_000, "written_off")
    await w.apply(w.state(payment, 6_000, status="refunded", refunded=6_000))
    assert await w.applied(inv) == (4_000, "open")
    invoice = await w.scope.get(Invoice, inv)
    assert invoice is not None and invoice.balance == 6_000
    await check_money(w.scope)


async def test_write_off_refusals_change_nothing(database: str) -> None:
    w = await world()
    inv = await w.invoice(1_000)
    for amount, reason, field in (
        (0, "x", "amount"),
        (-1, "x", "amount"),
        (100, "", "reason"),
        (100, "r" * 501, "reason"),
    ):
        with pytest.raises(PaymentError, match=field):
            await write_off(w.scope, inv, amount, reason, ACTOR)
    with pytest.raises(PaymentError, match="not found"):
        await write_off(w.scope, 0, None, "x", ACTOR)
    await w.scope.update(Invoice, {Invoice.plan_id: 1}).where(Invoice.id == inv)
    with pytest.raises(PaymentError, match="plan"):
        await write_off(w.scope, inv, None, "x", ACTOR)
    assert await w.scope.count(WriteOff) == 0
    assert await w.applied(inv) == (0, "open")
    assert await w.scope.count(CreditEntry) == 0


def test_status_rule() -> None:
    assert status_for(100, 0) == "open"
    assert status_for(100, 40) == "partially_paid"
    assert status_for(100, 100) == "paid"
    assert status_for(100, 100, written_off=30) == "written_off"
    assert status_for(100, 30, written_off=30) == "open"
    assert status_for(100, 50, written_off=30) == "partially_paid"
    assert status_for(100, 100, voided=True, written_off=100) == "void"


def test_received_on_in_the_future_is_refused() -> None:
    scope = TenantScope(1)

    async def go() -> None:
        await record_manual_payment(
            scope,
            customer_id=1,
            currency="MXN",
            amount=1,
            method="cash",
            reference="r",
            invoice_ids=None,
            actor=ACTOR,
            received_on=date(2999, 1, 1),
        )

    with pytest.raises(PaymentError, match="received_on"):
        asyncio.run(go())


async def test_credit_notes_and_write_offs_share_the_status_rule(database: str) -> None:
    from recaudo.core.billing.credit_notes import issue_credit_note

    w = await world()
    inv = await w.invoice(10_000)
    await write_off(w.scope, inv, 3_000, "Parte incobrable", ACTOR)
    await issue_credit_note(w.scope, inv, 2_000, "Descuento", ACTOR)
    assert await w.applied(inv) == (3_000, "open")  # nothing paid: still open, 5,000 owed
    await issue_credit_note(w.scope, inv, 5_000, "Devolución", ACTOR)
    assert await w.applied(inv) == (3_000, "written_off")  # closed, partly by a write-off
    await check_money(w.scope)
