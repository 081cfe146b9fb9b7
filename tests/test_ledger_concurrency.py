"""Concurrent deliveries: webhooks, polls and staff racing on the same payment or customer.

``asyncio.gather`` runs the calls as separate transactions (each task has its own context, so its
own Piccolo transaction and connection): SQLite serialises them with ``BEGIN IMMEDIATE``,
PostgreSQL with row locks and the unique indexes.
"""

from __future__ import annotations

import asyncio

import pytest

from recaudo.core.payments.ledger import (
    PaymentError,
    apply_credit,
    create_payment,
    record_staff_payment,
)
from recaudo.core.tables import Allocation, CreditEntry, OutboxJob, Payment, PaymentTransition
from tests.test_ledger import METHOD, check_ledger, count, world

pytestmark = pytest.mark.slow


async def test_same_approved_state_five_times_at_once_applies_once(database: str) -> None:
    w = await world()
    a = await w.invoice(7_000, due_in=-10)
    b = await w.invoice(3_000, due_in=-5)
    pid = await w.intent(amount=12_000, invoices=[b])
    state = w.state(pid, 12_000)
    results = await asyncio.gather(*[w.apply(state, "webhook") for _ in range(5)])
    assert {r.id for r in results if r is not None} == {pid}
    assert await w.applied(a) == (7_000, "paid") and await w.applied(b) == (3_000, "paid")
    assert await w.credit() == 2_000
    assert await count(w.scope, Allocation) == 2
    assert await count(w.scope, CreditEntry) == 1
    assert await count(w.scope, PaymentTransition) == 1
    jobs = await w.scope.select(OutboxJob, OutboxJob.actor)
    # One payment event; per invoice one "created" and one "paid" event, never five.
    assert sorted(j["actor"] for j in jobs) == ["invoice_event"] * 4 + ["payment_event"]
    await check_ledger(w.scope)


async def test_state_known_only_by_our_id_claims_provider_id_once(database: str) -> None:
    w = await world()
    inv = await w.invoice(1_000)
    pid = await w.intent(invoices=[inv])
    await asyncio.gather(*[w.apply(w.state(pid, 1_000, provider_id="mp-77")) for _ in range(5)])
    payment = await w.payment(pid)
    assert (payment.provider_payment_id, payment.status) == ("mp-77", "approved")
    assert await count(w.scope, Payment) == 1 and await count(w.scope, Allocation) == 1
    await check_ledger(w.scope)


async def test_mixed_states_at_once_converge_on_the_final_one(database: str) -> None:
    w = await world()
    a = await w.invoice(6_000, due_in=-10)
    b = await w.invoice(4_000, due_in=-5)
    pid = await w.intent(amount=10_000)
    states = [
        w.state(pid, 10_000, "pending"),
        w.state(pid, 10_000, "approved"),
        w.state(pid, 10_000, "partially_refunded", 3_000),
        w.state(pid, 10_000, "in_process"),
        w.state(pid, 10_000, "approved"),
        w.state(pid, 10_000, "refunded", 10_000),
    ]
    await asyncio.gather(*[w.apply(s, "poll") for s in states])
    payment = await w.payment(pid)
    assert (payment.status, payment.amount_refunded) == ("refunded", 10_000)
    assert await w.applied(a) == (0, "open") and await w.applied(b) == (0, "open")
    assert await w.credit() == 0
    await check_ledger(w.scope)


async def test_concurrent_intents_and_staff_payments_are_idempotent(database: str) -> None:
    w = await world()
    inv = await w.invoice(5_000)
    intents = await asyncio.gather(
        *[
            create_payment(
                w.scope,
                customer_id=w.customer,
                method=METHOD,
                currency="MXN",
                idempotency_key="double-click",
                invoice_ids=[inv],
            )
            for _ in range(5)
        ]
    )
    assert len({p.id for p in intents}) == 1
    staff = await asyncio.gather(
        *[
            record_staff_payment(
                w.scope,
                customer_id=w.customer,
                currency="MXN",
                amount=2_000,
                method="banktransfer",
                reference="LINE-9",
                invoice_ids=[inv],
            )
            for _ in range(5)
        ]
    )
    assert len({p.id for p in staff}) == 1
    assert await count(w.scope, Payment) == 2
    assert await w.applied(inv) == (2_000, "partially_paid")
    await check_ledger(w.scope)


async def test_different_payments_of_one_customer_never_over_apply(database: str) -> None:
    w = await world()
    invoices = [await w.invoice(2_500, due_in=i) for i in range(4)]  # 10_000 owed
    pids = [await w.intent(amount=3_000) for _ in range(5)]  # 15_000 paid
    await asyncio.gather(*[w.apply(w.state(p, 3_000)) for p in pids])
    assert [await w.applied(i) for i in invoices] == [(2_500, "paid")] * 4
    assert await w.credit() == 5_000
    await check_ledger(w.scope)


async def test_credit_is_never_overdrawn_under_concurrency(database: str) -> None:
    w = await world()
    first = await w.invoice(1_000)
    pid = await w.intent(amount=2_500, invoices=[first])
    await w.apply(w.state(pid, 2_500))
    targets = [await w.invoice(1_000, due_in=5 + i) for i in range(5)]
    results = await asyncio.gather(
        *[apply_credit(w.scope, w.customer, t, 500) for t in targets], return_exceptions=True
    )
    ok = [r for r in results if r is None]
    assert len(ok) == 3
    assert all(isinstance(r, PaymentError) for r in results if r is not None)
    assert await w.credit() == 0
    await check_ledger(w.scope)


async def test_two_provider_attempts_with_money_at_once_keep_both(database: str) -> None:
    w = await world()
    inv = await w.invoice(1_000)
    pid = await w.intent(invoices=[inv])
    await asyncio.gather(
        w.apply(w.state(pid, 1_000, provider_id="try-a")),
        w.apply(w.state(pid, 1_000, provider_id="try-b")),
        w.apply(w.state(pid, 1_000, provider_id="try-a")),
        w.apply(w.state(pid, 1_000, provider_id="try-b")),
    )
    assert await count(w.scope, Payment) == 2
    assert await w.applied(inv) == (1_000, "paid") and await w.credit() == 1_000
    await check_ledger(w.scope)
