"""The payments ledger on a real database: intents, provider states, allocation, refunds, credit.

Every test runs on SQLite and, with ``RECAUDO_TEST_DATABASE_URL``, on PostgreSQL too. The helpers
at the top (``world``, ``ledger_snapshot``, ``check_ledger``) are shared with the property and
concurrency tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice, status_for
from recaudo.core.common.money import Money
from recaudo.core.common.outbox import enqueue
from recaudo.core.payments.allocation import MONEY_STATUSES
from recaudo.core.payments.ledger import (
    PaymentError,
    Statement,
    apply_credit,
    apply_provider_payment,
    create_payment,
    customer_credit,
    customer_statement,
    invoice_balance,
    record_staff_payment,
)
from recaudo.core.payments.method import ProviderPayment
from recaudo.core.tables import (
    Allocation,
    CreditEntry,
    Invoice,
    OutboxJob,
    Payment,
    PaymentTransition,
)
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant

TODAY = date(2026, 3, 15)
METHOD = "sandbox"


# --- helpers (shared with the other ledger test modules) ----------------------------------------


@dataclass
class World:
    scope: TenantScope
    customer: int
    currency: str

    async def invoice(self, total: int, due_in: int = 0, currency: str | None = None) -> int:
        invoice = await create_invoice(
            self.scope,
            NewInvoice(
                customer_id=self.customer,
                number="F-" + uuid.uuid4().hex[:10],
                issue_date=TODAY - timedelta(days=400),
                due_date=TODAY + timedelta(days=due_in),
                currency=currency or self.currency,
                lines=(NewLine("Servicio", 1, total),),
            ),
        )
        return int(invoice.id)

    async def intent(self, amount: int | None = None, invoices: list[int] | None = None) -> int:
        payment = await create_payment(
            self.scope,
            customer_id=self.customer,
            method=METHOD,
            currency=self.currency,
            idempotency_key=uuid.uuid4().hex,
            invoice_ids=invoices,
            amount=amount,
        )
        return int(payment.id)

    def state(
        self,
        payment_id: int,
        amount: int,
        status: str = "approved",
        refunded: int = 0,
        provider_id: str | None = None,
    ) -> ProviderPayment:
        return ProviderPayment(
            provider_payment_id=provider_id or f"prov-{payment_id}",
            status=status,
            amount=Money(self.currency, amount),
            amount_refunded=refunded,
            our_payment_id=payment_id,
        )

    async def apply(self, state: ProviderPayment, source: str = "webhook") -> Payment | None:
        return await apply_provider_payment(self.scope, METHOD, state, source)

    async def applied(self, invoice_id: int) -> tuple[int, str]:
        row = await self.scope.get(Invoice, invoice_id)
        assert row is not None
        return int(row.amount_applied), str(row.status)

    async def payment(self, payment_id: int) -> Payment:
        row = await self.scope.get(Payment, payment_id)
        assert row is not None
        return row

    async def credit(self) -> int:
        return await customer_credit(self.scope, self.customer, self.currency)


async def world(
    scope: TenantScope | None = None, currency: str = "MXN", country: str = "MX"
) -> World:
    if scope is None:
        tenant = await make_tenant("t-" + uuid.uuid4().hex[:8], country, currency)
        scope = TenantScope(int(tenant.id))
    customer = await create_customer(
        scope, NewCustomer(number="C-" + uuid.uuid4().hex[:8], name="Cliente"), country
    )
    return World(scope, int(customer.id), currency)


async def ledger_snapshot(scope: TenantScope) -> dict[str, Any]:
    """Everything money-related of a tenant, without ids that depend on arrival order."""
    invoices = await scope.select(
        Invoice, Invoice.id, Invoice.amount_applied, Invoice.status
    ).order_by(Invoice.id)
    payments = await scope.select(
        Payment, Payment.id, Payment.status, Payment.amount, Payment.amount_refunded
    ).order_by(Payment.id)
    allocations = await scope.select(
        Allocation,
        Allocation.payment,
        Allocation.invoice,
        Allocation.amount,
        Allocation.reversed_amount,
    )
    credits = await scope.select(
        CreditEntry, CreditEntry.payment, CreditEntry.amount, CreditEntry.reason
    )
    return {
        "invoices": [tuple(r.values()) for r in invoices],
        "payments": [tuple(r.values()) for r in payments],
        "allocations": sorted(tuple(int(v) for v in r.values()) for r in allocations),
        "credit": sorted((r["payment"], int(r["amount"]), r["reason"]) for r in credits),
    }


async def check_ledger(scope: TenantScope) -> None:
    """The ledger's invariants; every test that moves money ends by calling this."""
    invoices = await scope.objects(Invoice)
    allocations = await scope.objects(Allocation)
    payments = await scope.objects(Payment)
    credits = await scope.objects(CreditEntry)
    for a in allocations:
        assert isinstance(a.amount, int) and isinstance(a.reversed_amount, int)
        assert 0 < a.amount and 0 <= a.reversed_amount <= a.amount
    for inv in invoices:
        net = sum(a.amount - a.reversed_amount for a in allocations if a.invoice == inv.id)
        assert inv.amount_applied == net, f"invoice {inv.id}: applied != allocations"
        assert 0 <= inv.amount_applied <= inv.total, f"invoice {inv.id} over-applied"
        assert inv.status == status_for(inv.total, inv.amount_applied, inv.status == "void")
        mine = [a for a in allocations if a.invoice == inv.id]
        # balance = invoiced - applied + reopened
        invoiced_minus_applied = inv.total - sum(a.amount for a in mine)
        assert inv.balance == invoiced_minus_applied + sum(a.reversed_amount for a in mine)
    for p in payments:
        mine = [a for a in allocations if a.payment == p.id]
        own_credit = sum(c.amount for c in credits if c.payment == p.id)
        assert sum(a.amount for a in mine) <= p.amount, f"payment {p.id} over-allocated"
        covered = sum(a.amount - a.reversed_amount for a in mine) + own_credit
        expected = p.amount - p.amount_refunded if p.status in MONEY_STATUSES else 0
        assert covered == expected, f"payment {p.id} ({p.status}) covers {covered} != {expected}"
        assert 0 <= p.amount_refunded <= p.amount
    balances: dict[tuple[int, str], int] = {}
    for c in credits:
        balances[(c.customer, c.currency)] = balances.get((c.customer, c.currency), 0) + c.amount
    assert all(v >= 0 for v in balances.values()), balances


async def count(scope: TenantScope, table: Any) -> int:
    return int(await scope.count(table))


# --- creating intents ---------------------------------------------------------------------------


async def test_create_payment_defaults_to_balances_and_is_idempotent(database: str) -> None:
    w = await world()
    a = await w.invoice(10_000, due_in=-10)
    b = await w.invoice(2_550, due_in=5)
    p = await create_payment(
        w.scope,
        customer_id=w.customer,
        method=METHOD,
        currency="MXN",
        idempotency_key="k-1",
        invoice_ids=[b, a],
    )
    assert (p.status, p.amount, p.currency) == ("pending", 12_550, "MXN")
    assert p.requested_invoices == [b, a]
    again = await create_payment(
        w.scope,
        customer_id=w.customer,
        method=METHOD,
        currency="MXN",
        idempotency_key="k-1",
        invoice_ids=[a],
    )
    assert again.id == p.id and await count(w.scope, Payment) == 1
    other = await world(w.scope)
    with pytest.raises(PaymentError, match="another customer"):
        await create_payment(
            w.scope,
            customer_id=other.customer,
            method=METHOD,
            currency="MXN",
            idempotency_key="k-1",
            amount=100,
        )
    lower = await w.intent(amount=500, invoices=[a])
    assert (await w.payment(lower)).amount == 500
    only_amount = await w.intent(amount=700)
    assert (await w.payment(only_amount)).amount == 700
    assert await w.applied(a) == (0, "open")  # intents apply nothing


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown", "not found"),
        ("other_customer", "not found"),
        ("zero", "more than zero"),
        ("negative", "more than zero"),
        ("float", "whole number"),
        ("currency", "currency mismatch"),
        ("bad_currency", "currency"),
        ("paid", "already paid"),
        ("void", "void"),
        ("nothing", "amount: required"),
        ("no_customer", "not found"),
    ],
)
async def test_bad_input_raises_and_changes_nothing(database: str, case: str, message: str) -> None:
    w = await world()
    inv = await w.invoice(1_000)
    other = await world(w.scope)
    foreign = await other.invoice(1_000)
    paid = await w.invoice(300)
    await record_staff_payment(
        w.scope,
        customer_id=w.customer,
        currency="MXN",
        amount=300,
        method="transfer",
        reference="r1",
        invoice_ids=[paid],
    )
    void = await w.invoice(400)
    await w.scope.update(Invoice, {Invoice.status: "void"}).where(Invoice.id == void)
    usd = await w.invoice(500, currency="USD")
    kwargs: dict[str, Any] = {"invoice_ids": [inv], "amount": None}
    customer = w.customer
    currency = "MXN"
    if case == "unknown":
        kwargs["invoice_ids"] = [inv, 999_999]
    elif case == "other_customer":
        kwargs["invoice_ids"] = [foreign]
    elif case == "zero":
        kwargs["amount"] = 0
    elif case == "negative":
        kwargs["amount"] = -5
    elif case == "float":
        kwargs["amount"] = 10.5
    elif case == "currency":
        kwargs["invoice_ids"] = [inv, usd]
    elif case == "bad_currency":
        currency = "XXY"
    elif case == "paid":
        kwargs["invoice_ids"] = [paid]
    elif case == "void":
        kwargs["invoice_ids"] = [void]
    elif case == "nothing":
        kwargs["invoice_ids"] = []
    elif case == "no_customer":
        customer = 424_242
    before = await ledger_snapshot(w.scope)
    with pytest.raises(PaymentError, match=message):
        await create_payment(
            w.scope,
            customer_id=customer,
            method=METHOD,
            currency=currency,
            idempotency_key="bad",
            **kwargs,
        )
    assert await ledger_snapshot(w.scope) == before
    assert not await w.scope.exists(Payment).where(Payment.idempotency_key == "bad")


# --- applying provider states -------------------------------------------------------------------


async def test_approved_allocates_chosen_then_oldest_and_overpayment_becomes_credit(
    database: str,
) -> None:
    w = await world()
    old = await w.invoice(3_000, due_in=-40)
    newer = await w.invoice(5_000, due_in=-5)
    chosen = await w.invoice(2_000, due_in=30)
    disputed = await w.invoice(1_000, due_in=-90)
    await w.scope.update(Invoice, {Invoice.disputed: True}).where(Invoice.id == disputed)
    pid = await w.intent(amount=11_000, invoices=[chosen])
    payment = await w.apply(w.state(pid, 11_000))
    assert payment is not None and payment.status == "approved"
    assert payment.provider_payment_id == f"prov-{pid}"
    assert await w.applied(chosen) == (2_000, "paid")
    assert await w.applied(old) == (3_000, "paid")
    assert await w.applied(newer) == (5_000, "paid")
    assert await w.applied(disputed) == (0, "open")  # only when chosen explicitly
    assert await w.credit() == 1_000
    transitions = await w.scope.select(PaymentTransition).where(PaymentTransition.payment == pid)
    assert [(t["from_status"], t["to_status"], t["source"]) for t in transitions] == [
        ("pending", "approved", "webhook")
    ]
    jobs = await w.scope.select(OutboxJob).where(OutboxJob.actor == "payment_event")
    assert [j["key"] for j in jobs] == [f"payment_event:{pid}:approved:0"]
    # The same state again (a webhook retry, then a poll): nothing changes.
    before = await ledger_snapshot(w.scope)
    await w.apply(w.state(pid, 11_000), "poll")
    await w.apply(w.state(pid, 11_000, provider_id=f"prov-{pid}"), "webhook")
    assert await ledger_snapshot(w.scope) == before
    assert await count(w.scope, PaymentTransition) == 1
    await check_ledger(w.scope)


async def test_disputed_invoice_is_paid_when_chosen_and_partial_payments_work(
    database: str,
) -> None:
    w = await world()
    disputed = await w.invoice(1_000, due_in=-90)
    await w.scope.update(Invoice, {Invoice.disputed: True}).where(Invoice.id == disputed)
    pid = await w.intent(amount=400, invoices=[disputed])
    await w.apply(w.state(pid, 400))
    assert await w.applied(disputed) == (400, "partially_paid")
    assert await invoice_balance(w.scope, disputed) == 600
    await check_ledger(w.scope)


@pytest.mark.parametrize(
    "order",
    [
        ["approved", "refunded"],
        ["refunded", "approved"],
        ["approved", "pending"],
        ["pending", "in_process", "approved", "in_process", "pending"],
        ["rejected", "approved"],
        ["approved", "rejected", "cancelled"],
        ["partially_refunded", "approved", "refunded", "partially_refunded"],
        ["charged_back", "refunded", "approved"],
    ],
)
async def test_out_of_order_states_converge(database: str, order: list[str]) -> None:
    """Delivering states in ``order`` ends as delivering them sorted by precedence."""
    results = []
    for states in (order, sorted(order, key=_rank)):
        w = await world()
        a = await w.invoice(6_000, due_in=-20)
        b = await w.invoice(4_000, due_in=-10)
        pid = await w.intent(amount=10_000, invoices=[a, b])
        for status in states:
            refunded = 2_500 if status == "partially_refunded" else 0
            await w.apply(w.state(pid, 10_000, status, refunded))
            await check_ledger(w.scope)
        snap = await ledger_snapshot(w.scope)
        payment = await w.payment(pid)
        results.append(
            (
                payment.status,
                payment.amount_refunded,
                [(i[1], i[2]) for i in snap["invoices"]],
                [(x[2], x[3]) for x in snap["allocations"]],
                await w.credit(),
            )
        )
    assert results[0] == results[1]
    final = max(order, key=_rank)
    assert results[0][0] == final


def _rank(status: str) -> int:
    from recaudo.core.payments.allocation import STATUS_RANK

    return STATUS_RANK[status]


async def test_pending_never_overwrites_final(database: str) -> None:
    w = await world()
    inv = await w.invoice(1_000)
    pid = await w.intent(invoices=[inv])
    await w.apply(w.state(pid, 1_000, "rejected"))
    await w.apply(w.state(pid, 1_000, "pending"))
    await w.apply(w.state(pid, 1_000, "in_process"))
    assert (await w.payment(pid)).status == "rejected"
    assert await w.applied(inv) == (0, "open")


async def test_refund_reopens_newest_allocations_after_consuming_credit(database: str) -> None:
    w = await world()
    first = await w.invoice(3_000, due_in=-30)
    second = await w.invoice(2_000, due_in=-10)
    pid = await w.intent(amount=6_000, invoices=[first, second])  # 1_000 overpaid
    await w.apply(w.state(pid, 6_000))
    assert await w.credit() == 1_000
    # Partial refund of 1_500: 1_000 from unused credit, 500 from the newest invoice.
    await w.apply(w.state(pid, 6_000, "partially_refunded", 1_500))
    assert await w.credit() == 0
    assert await w.applied(second) == (1_500, "partially_paid")
    assert await w.applied(first) == (3_000, "paid")
    payment = await w.payment(pid)
    assert (payment.status, payment.amount_refunded) == ("partially_refunded", 1_500)
    # An older partial-refund notification arriving late changes nothing.
    await w.apply(w.state(pid, 6_000, "partially_refunded", 700))
    assert (await w.payment(pid)).amount_refunded == 1_500
    # Then the rest is refunded: everything reopens.
    await w.apply(w.state(pid, 6_000, "refunded", 6_000))
    assert await w.applied(second) == (0, "open")
    assert await w.applied(first) == (0, "open")
    keys = [
        j["key"]
        for j in await w.scope.select(OutboxJob, OutboxJob.key)
        .where(OutboxJob.actor == "payment_event")
        .order_by(OutboxJob.id)
    ]
    assert keys == [
        f"payment_event:{pid}:approved:0",
        f"payment_event:{pid}:partially_refunded:1500",
        f"payment_event:{pid}:refunded:6000",
    ]
    await check_ledger(w.scope)


async def test_chargeback_reverses_the_whole_payment(database: str) -> None:
    w = await world()
    inv = await w.invoice(8_000)
    pid = await w.intent(amount=8_000, invoices=[inv])
    await w.apply(w.state(pid, 8_000))
    await w.apply(w.state(pid, 8_000, "charged_back"))
    assert await w.applied(inv) == (0, "open")
    payment = await w.payment(pid)
    assert (payment.status, payment.amount_refunded) == ("charged_back", 8_000)
    await w.apply(w.state(pid, 8_000, "approved"))  # late approval cannot resurrect it
    assert await w.applied(inv) == (0, "open")
    await check_ledger(w.scope)


@pytest.mark.parametrize(
    ("currency", "country", "totals", "paid"),
    [
        ("CLP", "CL", [150_000, 89_990, 1], 239_991),  # 0 decimals
        ("COP", "CO", [1_234_567_800, 99], 1_234_567_900),
        ("MXN", "MX", [1_999, 10_001, 33_333], 45_334),
    ],
)
async def test_currencies_stay_exact(
    database: str, currency: str, country: str, totals: list[int], paid: int
) -> None:
    w = await world(currency=currency, country=country)
    ids = [await w.invoice(t, due_in=i) for i, t in enumerate(totals)]
    pid = await w.intent(amount=paid)
    await w.apply(w.state(pid, paid))
    applied = [(await w.applied(i))[0] for i in ids]
    assert sum(applied) + await w.credit() == paid
    assert all(isinstance(x, int) for x in applied)
    statement = await customer_statement(w.scope, w.customer, TODAY)
    assert statement.currency == currency
    assert statement.balance_due == sum(totals) - sum(applied)
    await check_ledger(w.scope)


async def test_provider_amount_is_authoritative_and_currency_must_match(database: str) -> None:
    w = await world()
    inv = await w.invoice(5_000)
    pid = await w.intent(invoices=[inv])
    with pytest.raises(PaymentError, match="currency mismatch"):
        await w.apply(ProviderPayment("px", "approved", Money("USD", 5_000), our_payment_id=pid))
    assert await w.applied(inv) == (0, "open") and (await w.payment(pid)).status == "pending"
    await w.apply(w.state(pid, 4_000))  # customer paid less than the intent
    assert await w.applied(inv) == (4_000, "partially_paid")
    assert (await w.payment(pid)).amount == 4_000
    await check_ledger(w.scope)


async def test_unknown_payment_and_bad_states(database: str) -> None:
    w = await world()
    assert await w.apply(w.state(987_654, 100)) is None
    assert await w.apply(ProviderPayment("nobody", "approved", Money("MXN", 100))) is None
    pid = await w.intent(amount=100)
    with pytest.raises(PaymentError, match="unknown"):
        await w.apply(w.state(pid, 100, "weird"))
    with pytest.raises(PaymentError, match="more than zero"):
        await w.apply(w.state(pid, 0))
    assert await apply_provider_payment(w.scope, "othermethod", w.state(pid, 100), "poll") is None
    assert (await w.payment(pid)).status == "pending"


async def test_second_provider_attempt_with_money_becomes_its_own_payment(database: str) -> None:
    w = await world()
    inv = await w.invoice(1_000)
    pid = await w.intent(invoices=[inv])
    await w.apply(w.state(pid, 1_000, "rejected", provider_id="att-1"))
    await w.apply(w.state(pid, 1_000, "approved", provider_id="att-2"))
    payment = await w.payment(pid)
    assert (payment.status, payment.provider_payment_id) == ("approved", "att-2")
    await w.apply(w.state(pid, 1_000, "rejected", provider_id="att-1"))  # stale, ignored
    assert (await w.payment(pid)).status == "approved"
    # The customer somehow paid twice: the money is kept, as a second payment and credit.
    twin = await w.apply(w.state(pid, 1_000, "approved", provider_id="att-3"))
    assert twin is not None and twin.id != pid and twin.status == "approved"
    again = await w.apply(w.state(pid, 1_000, "approved", provider_id="att-3"))
    assert again is not None and again.id == twin.id
    assert await w.applied(inv) == (1_000, "paid")
    assert await w.credit() == 1_000
    await check_ledger(w.scope)


# --- staff payments and credit ------------------------------------------------------------------


async def test_staff_payment_is_idempotent_on_reference(database: str) -> None:
    w = await world(currency="COP", country="CO")
    a = await w.invoice(500_000, due_in=-3)
    b = await w.invoice(250_000, due_in=10)
    args: dict[str, Any] = dict(
        customer_id=w.customer,
        currency="COP",
        amount=600_000,
        method="banktransfer",
        reference="EXTRACTO-0042",
        invoice_ids=[b],
        source="bank_statement",
    )
    p1 = await record_staff_payment(w.scope, **args)
    p2 = await record_staff_payment(w.scope, **args)
    assert p1.id == p2.id and p1.status == "approved"
    assert p1.idempotency_key == "banktransfer:EXTRACTO-0042"
    assert await w.applied(b) == (250_000, "paid")
    assert await w.applied(a) == (350_000, "partially_paid")
    transitions = await w.scope.select(PaymentTransition)
    assert [(t["to_status"], t["source"]) for t in transitions] == [("approved", "bank_statement")]
    await check_ledger(w.scope)


async def test_overpayment_credit_can_be_applied_and_refund_reopens_it(database: str) -> None:
    w = await world()
    first = await w.invoice(1_000, due_in=-5)
    pid = await w.intent(amount=3_000, invoices=[first])
    await w.apply(w.state(pid, 3_000))
    assert await w.credit() == 2_000
    later = await w.invoice(2_500, due_in=30)
    before = await ledger_snapshot(w.scope)
    with pytest.raises(PaymentError, match="credit balance"):
        await apply_credit(w.scope, w.customer, later, 2_001)
    with pytest.raises(PaymentError, match="invoice balance"):
        await apply_credit(w.scope, w.customer, later, 2_501)
    with pytest.raises(PaymentError, match="more than zero"):
        await apply_credit(w.scope, w.customer, later, 0)
    with pytest.raises(PaymentError, match="not found"):
        await apply_credit(w.scope, w.customer, 999_999, 10)
    with pytest.raises(PaymentError, match="paid"):
        await apply_credit(w.scope, w.customer, first, 1)
    assert await ledger_snapshot(w.scope) == before
    await apply_credit(w.scope, w.customer, later, 1_500)
    assert await w.applied(later) == (1_500, "partially_paid")
    assert await w.credit() == 500
    await check_ledger(w.scope)
    # Refunding 1_000: the 500 unused credit first, then the newest allocation (the credit use).
    await w.apply(w.state(pid, 3_000, "partially_refunded", 1_000))
    assert await w.credit() == 0
    assert await w.applied(later) == (1_000, "partially_paid")
    assert await w.applied(first) == (1_000, "paid")
    await check_ledger(w.scope)


async def test_statement(database: str) -> None:
    w = await world()
    overdue = await w.invoice(4_000, due_in=-10)
    soon = await w.invoice(1_000, due_in=3)
    later = await w.invoice(2_000, due_in=20)
    await w.invoice(999, currency="USD", due_in=1)
    pid = await w.intent(amount=5_500, invoices=[soon])
    await w.apply(w.state(pid, 5_500))  # soon paid, overdue paid, later 500
    await w.apply(w.state(pid, 5_500, "partially_refunded", 100))  # later back to 400
    statement = await customer_statement(w.scope, w.customer, TODAY, currency="MXN")
    assert isinstance(statement, Statement)
    assert [i.id for i in statement.open_invoices] == [later]
    assert statement.balance_due == 1_600 and statement.overdue == 0
    assert statement.next_due_date == TODAY + timedelta(days=20)
    assert statement.other_currencies == ("USD",) and statement.credit == 0
    assert await w.applied(overdue) == (4_000, "paid")
    empty = await customer_statement(w.scope, (await world(w.scope)).customer, TODAY)
    assert (empty.balance_due, empty.open_invoices, empty.currency) == (0, [], "MXN")
    w2 = await world()
    o = await w2.invoice(700, due_in=-1)
    s2 = await customer_statement(w2.scope, w2.customer, TODAY)
    assert (s2.overdue, s2.balance_due, s2.next_due_date, s2.to_pay) == (700, 700, None, 700)
    assert s2.open_invoices[0].id == o and s2.open_invoices[0].overdue


# --- tenant isolation ---------------------------------------------------------------------------


async def test_tenants_cannot_touch_each_others_money(
    two_tenants: tuple[TenantScope, TenantScope],
) -> None:
    scope_a, scope_b = two_tenants
    a = await world(scope_a)
    b = await world(scope_b, currency="COP", country="CO")
    inv_b = await b.invoice(10_000)
    pid_b = await b.intent(invoices=[inv_b])
    await b.apply(b.state(pid_b, 5_000))
    before = await ledger_snapshot(scope_b)
    inv_a = await a.invoice(10_000)

    with pytest.raises(PaymentError, match="not found"):
        await create_payment(
            scope_a,
            customer_id=a.customer,
            method=METHOD,
            currency="COP",
            idempotency_key="x",
            invoice_ids=[inv_b],
        )
    with pytest.raises(PaymentError, match="not found"):
        await create_payment(
            scope_a,
            customer_id=b.customer,
            method=METHOD,
            currency="COP",
            idempotency_key="y",
            amount=100,
        )
    with pytest.raises(PaymentError, match="not found"):
        await invoice_balance(scope_a, inv_b)
    with pytest.raises(PaymentError, match="not found"):
        await apply_credit(scope_a, b.customer, inv_b, 1)
    with pytest.raises(PaymentError, match="not found"):
        await apply_credit(scope_a, a.customer, inv_b, 1)
    with pytest.raises(PaymentError, match="not found"):
        await record_staff_payment(
            scope_a,
            customer_id=a.customer,
            currency="COP",
            amount=100,
            method="cash",
            reference="z",
            invoice_ids=[inv_b],
        )
    # B's payment id and provider id, handed to A's scope: not A's, so nothing happens.
    state = ProviderPayment(f"prov-{pid_b}", "refunded", Money("COP", 5_000), 5_000, "", "", pid_b)
    assert await apply_provider_payment(scope_a, METHOD, state, "webhook") is None
    assert await customer_credit(scope_a, b.customer, "COP") == 0
    statement = await customer_statement(scope_a, b.customer, TODAY)
    assert statement.open_invoices == [] and statement.balance_due == 0
    assert await ledger_snapshot(scope_b) == before
    assert await w_balance(scope_a, inv_a) == 10_000
    # B can still do it itself.
    await b.apply(b.state(pid_b, 5_000, "refunded", 5_000))
    assert await b.applied(inv_b) == (0, "open")
    await check_ledger(scope_a)
    await check_ledger(scope_b)


async def w_balance(scope: TenantScope, invoice_id: int) -> int:
    return await invoice_balance(scope, invoice_id)


async def test_outbox_job_commits_with_the_transition(database: str) -> None:
    w = await world()
    pid = await w.intent(amount=100)
    await w.apply(w.state(pid, 100))
    job = await w.scope.objects(OutboxJob).where(OutboxJob.actor == "payment_event").first()
    assert job is not None and job.status == "pending"
    assert not await enqueue(w.scope, "payment_event", {}, key=f"payment_event:{pid}:approved:0")
