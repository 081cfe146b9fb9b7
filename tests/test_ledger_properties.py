"""Property tests: the allocation arithmetic, status precedence, and whole ledger scenarios.

The pure functions get many examples; the database scenarios (random invoices, payments and
provider states delivered in random order, plus credit use) get fewer, on SQLite, each one checked
against the ledger invariants of ``tests/test_ledger.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recaudo.core import db
from recaudo.core.payments.allocation import (
    STATUS_RANK,
    AllocationError,
    Position,
    plan_allocation,
    plan_credit_use,
    plan_reversal,
    position,
)
from recaudo.core.payments.ledger import PaymentError, apply_credit
from recaudo.core.tables import Invoice
from tests.test_ledger import World, check_ledger, world

pytestmark = pytest.mark.slow

amounts = st.integers(min_value=0, max_value=10**12)
balances = st.lists(
    st.tuples(st.integers(1, 30), st.integers(min_value=-50, max_value=10**9)), max_size=12
)
FAST = settings(max_examples=400, deadline=None)


# --- allocation ---------------------------------------------------------------------------------


@FAST
@given(amount=amounts, invoices=balances)
def test_allocation_is_exact_and_never_over_applies(
    amount: int, invoices: list[tuple[int, int]]
) -> None:
    plan = plan_allocation(amount, invoices)
    assert plan.allocated + plan.credit == amount
    assert plan.credit >= 0
    first_balance: dict[int, int] = {}
    for invoice_id, balance in invoices:
        first_balance.setdefault(invoice_id, balance)
    ids = [i for i, _ in plan.allocations]
    assert len(ids) == len(set(ids))
    for invoice_id, allocated in plan.allocations:
        assert isinstance(allocated, int)
        assert 0 < allocated <= first_balance[invoice_id]
    # Priority order: every allocation but the last fills its invoice completely.
    for invoice_id, allocated in plan.allocations[:-1]:
        assert allocated == first_balance[invoice_id]
    if plan.credit:  # money is credit only once every invoice is paid
        assert plan.allocated == sum(max(b, 0) for b in first_balance.values())


@given(amount=st.one_of(st.integers(max_value=-1), st.floats(), st.booleans()))
def test_allocation_refuses_non_money(amount: object) -> None:
    with pytest.raises(AllocationError):
        plan_allocation(amount, [(1, 10)])  # type: ignore[arg-type]


@FAST
@given(
    amount=amounts,
    unused=amounts,
    allocations=st.lists(
        st.tuples(st.integers(1, 99), st.integers(0, 10**9)), max_size=10, unique_by=lambda a: a[0]
    ),
)
def test_reversal_takes_credit_first_then_newest_and_is_exact(
    amount: int, unused: int, allocations: list[tuple[int, int]]
) -> None:
    plan = plan_reversal(amount, unused, allocations)
    assert plan.credit + sum(a for _, a in plan.reversals) + plan.shortfall == amount
    assert 0 <= plan.credit <= unused
    assert plan.credit == min(unused, amount)
    reversible = dict(allocations)
    for allocation_id, taken in plan.reversals:
        assert 0 < taken <= reversible[allocation_id]
    # Newest first: the reversed allocations are, in order, the first ones with anything left,
    # and all but the last are reversed completely.
    assert [i for i, _ in plan.reversals] == [i for i, r in allocations if r > 0][
        : len(plan.reversals)
    ]
    for allocation_id, taken in plan.reversals[:-1]:
        assert taken == reversible[allocation_id]
    if plan.shortfall:
        assert plan.credit == unused
        assert sum(a for _, a in plan.reversals) == sum(r for _, r in allocations)


@FAST
@given(
    amount=amounts,
    sources=st.lists(st.tuples(st.none() | st.integers(1, 9), st.integers(-100, 10**6))),
)
def test_credit_use_never_overdraws(amount: int, sources: list[tuple[int | None, int]]) -> None:
    available = sum(max(a, 0) for _, a in sources)
    if amount > available:
        with pytest.raises(AllocationError):
            plan_credit_use(amount, sources)
        return
    uses = plan_credit_use(amount, sources)
    assert sum(t for _, t in uses) == amount
    assert all(t > 0 for _, t in uses)


# --- status precedence --------------------------------------------------------------------------

statuses = st.sampled_from(sorted(STATUS_RANK))


@FAST
@given(
    amount=st.integers(1, 10**9),
    states=st.lists(st.tuples(statuses, st.integers(0, 2 * 10**9)), min_size=1, max_size=8),
    data=st.data(),
)
def test_any_delivery_order_converges_on_the_maximum(
    amount: int, states: list[tuple[str, int]], data: st.DataObject
) -> None:
    positions = [position(s, amount, r) for s, r in states]
    order = data.draw(st.permutations(positions))
    current = position("pending", amount, 0)
    money_entries = 0
    for new in order:
        if new > current:
            if new.has_money and not current.has_money:
                money_entries += 1
            current = new
    assert current == max([*positions, position("pending", amount, 0)])
    assert money_entries == (1 if current.has_money else 0)  # allocate exactly once
    assert 0 <= current.refunded <= amount
    if current.status in ("refunded", "charged_back"):
        assert current.refunded == amount
    assert not (current.status in ("pending", "in_process") and any(p.rank > 1 for p in order))


def test_position_readings() -> None:
    assert position("approved", 100, 0) == Position(STATUS_RANK["approved"], 0)
    assert position("approved", 100, 40).status == "partially_refunded"
    assert position("approved", 100, 100).status == "refunded"
    assert position("refunded", 100, 0) == Position(STATUS_RANK["refunded"], 100)
    assert position("refunded", 100, 30).status == "partially_refunded"
    assert position("partially_refunded", 100, 500).refunded == 100
    assert position("charged_back", 100, 0).refunded == 100
    assert position("rejected", 100, 50).refunded == 0
    with pytest.raises(AllocationError):
        position("lost", 100, 0)


# --- whole-ledger scenarios on SQLite -----------------------------------------------------------

_DB_DIR = Path(tempfile.mkdtemp(prefix="ledger-props-"))
_MIGRATED: set[str] = set()


async def _database() -> None:
    url = f"sqlite:///{_DB_DIR}/props.sqlite3"
    db.configure(url)
    if url not in _MIGRATED:
        with contextlib.redirect_stdout(io.StringIO()):
            await db.migrate()
        _MIGRATED.add(url)


def _state_kinds(amount: int) -> st.SearchStrategy[tuple[str, int]]:
    refund = st.integers(1, max(amount - 1, 1))
    return st.one_of(
        st.sampled_from(
            [
                ("approved", 0),
                ("pending", 0),
                ("in_process", 0),
                ("rejected", 0),
                ("refunded", 0),
                ("charged_back", 0),
                ("approved", 0),
            ]
        ),
        refund.map(lambda r: ("partially_refunded", r)),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    currency = draw(st.sampled_from(["CLP", "COP", "MXN"]))
    invoices = draw(
        st.lists(st.tuples(st.integers(1, 10**7), st.integers(-60, 60)), min_size=1, max_size=5)
    )
    payments = []
    for _ in range(draw(st.integers(1, 4))):
        chosen = draw(st.lists(st.integers(0, len(invoices) - 1), max_size=3, unique=True))
        amount = draw(st.integers(1, 2 * 10**7))
        states = draw(st.lists(_state_kinds(amount), min_size=1, max_size=4))
        payments.append((chosen, amount, states))
    events = [(i, s) for i, (_, _, states) in enumerate(payments) for s in states]
    events = draw(st.permutations(events))
    credit_uses = draw(
        st.lists(st.tuples(st.integers(0, len(invoices) - 1), st.integers(1, 10**7)), max_size=3)
    )
    # Credit uses happen at random points between the provider events.
    uses_at = [draw(st.integers(0, len(events))) for _ in credit_uses]
    return {
        "currency": currency,
        "invoices": invoices,
        "payments": payments,
        "events": events,
        "credit_uses": list(zip(uses_at, credit_uses, strict=True)),
    }


async def _run_scenario(sc: dict) -> None:
    await _database()
    country = {"CLP": "CL", "COP": "CO", "MXN": "MX"}[sc["currency"]]
    w = await world(currency=sc["currency"], country=country)
    invoice_ids = [await w.invoice(total, due) for total, due in sc["invoices"]]
    pids = []
    for chosen, amount, _ in sc["payments"]:
        pids.append(await w.intent(amount=amount, invoices=[invoice_ids[i] for i in chosen]))
    # An intent starts pending, or cancelled when a later one for a shared invoice superseded it.
    start = {pid: str((await w.payment(pid)).status) for pid in pids}
    seen: dict[int, list[Position]] = {pid: [] for pid in pids}
    for step, (index, (status, refunded)) in enumerate(sc["events"]):
        for at, (inv_index, use) in sc["credit_uses"]:
            if at == step:
                await _try_credit(w, invoice_ids[inv_index], use)
        amount = sc["payments"][index][1]
        pid = pids[index]
        await w.apply(w.state(pid, amount, status, refunded), "webhook")
        seen[pid].append(position(status, amount, refunded))
        await check_ledger(w.scope)
    for at, (inv_index, use) in sc["credit_uses"]:
        if at == len(sc["events"]):
            await _try_credit(w, invoice_ids[inv_index], use)
    await check_ledger(w.scope)
    for pid, positions in seen.items():
        payment = await w.payment(pid)
        expected = max([position(start[pid], int(payment.amount), 0), *positions])
        assert (payment.status, payment.amount_refunded) == (expected.status, expected.refunded)
    # The customer's total: what was invoiced minus what stayed paid, plus what was refunded.
    rows = await w.scope.select(Invoice, Invoice.total, Invoice.amount_applied)
    assert sum(r["total"] - r["amount_applied"] for r in rows) >= 0


async def _try_credit(w: World, invoice_id: int, amount: int) -> None:
    with contextlib.suppress(PaymentError):  # more than the credit or the balance: refused
        await apply_credit(w.scope, w.customer, invoice_id, amount)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sc=scenarios())
def test_random_ledger_scenarios_keep_every_invariant(sc: dict) -> None:
    asyncio.run(_run_scenario(sc))
