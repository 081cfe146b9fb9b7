"""The work queue's ranking and next action, on hand-made data: bigger, older and riskier debts
first; customers with nothing past due absent; the filters; and a bounded number of queries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from recaudo.core.access.staff import create_staff
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.payments.ledger import record_staff_payment
from recaudo.core.tables import ContactAttempt, Customer, PaymentPromise, StaffUser, WorkTask
from recaudo.core.workspace import queue
from recaudo.core.workspace.queue import QueueFilters, priority, queue_page
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant

TODAY = date.today()
TZ = "America/Mexico_City"


@pytest.fixture
def risks(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[int, int]]:
    """Risk scores the test decides (the credit model is tested in its own files)."""
    chosen: dict[int, int] = {}
    seen: list[list[int]] = []

    async def fake(scope: TenantScope, ids: Sequence[int], at: date) -> dict[int, int]:
        seen.append(list(ids))
        return {i: chosen[i] for i in ids if i in chosen}

    monkeypatch.setattr(queue, "risk_scores", fake)
    yield chosen


async def _customer(
    scope: TenantScope, number: str, debts: list[tuple[int, int]], segment: str = ""
) -> int:
    """A customer with one invoice per ``(amount, days past due)`` (negative: not yet due)."""
    customer = await create_customer(
        scope, NewCustomer(number, f"Cliente {number}", segment=segment), "MX"
    )
    for n, (amount, days) in enumerate(debts):
        await create_invoice(
            scope,
            NewInvoice(
                int(customer.id),
                f"{number}-{n}",
                TODAY - timedelta(days=days + 30),
                TODAY - timedelta(days=days),
                "MXN",
                (NewLine("Servicio", 1, amount),),
            ),
        )
    return int(customer.id)


async def _tenant() -> tuple[TenantScope, StaffUser, StaffUser]:
    tenant = await make_tenant("cola-" + uuid.uuid4().hex[:6])
    scope = TenantScope(int(tenant.id))
    ana = await create_staff(scope, "ana@example.com", "clave-de-prueba-123", "collector", "Ana")
    beto = await create_staff(scope, "beto@example.com", "clave-de-prueba-123", "collector", "Beto")
    return scope, ana, beto


async def _order(
    scope: TenantScope, me: StaffUser, filters: QueueFilters | None = None
) -> list[int]:
    page = await queue_page(scope, filters or QueueFilters(), me, TODAY, "MXN", TZ)
    return [row.customer_id for row in page.rows]


def test_priority_formula() -> None:
    assert priority(100_000, 0, 100) == 100_000
    assert priority(100_000, 30, 100) == 200_000
    assert priority(100_000, 30, 0) == 400_000
    assert priority(100_000, 15, 50) == 225_000


async def test_bigger_older_riskier_first_and_current_customers_absent(
    database: str, risks: dict[int, int]
) -> None:
    scope, ana, _beto = await _tenant()
    small = await _customer(scope, "S", [(100_000, 10)])
    big = await _customer(scope, "B", [(300_000, 10)])
    old = await _customer(scope, "O", [(100_000, 100)])
    risky = await _customer(scope, "R", [(100_000, 10)])
    current = await _customer(scope, "C", [(900_000, -5)])  # due in 5 days
    paid = await _customer(scope, "P", [(500_000, 40)])
    await record_staff_payment(
        scope,
        customer_id=paid,
        currency="MXN",
        amount=500_000,
        method="cash",
        reference="caja-1",
        invoice_ids=None,
    )
    risks.update({small: 90, big: 90, old: 90, risky: 0})
    order = await _order(scope, ana)
    # old: 100k × (1 + 100/30) × 1.1 ≈ 476k; big: 300k × 1.33 × 1.1 = 440k;
    # risky: 100k × 1.33 × 2 = 267k; small: 100k × 1.33 × 1.1 = 147k.
    assert order == [old, big, risky, small]
    assert current not in order and paid not in order
    page = await queue_page(scope, QueueFilters(), ana, TODAY, "MXN", TZ)
    first = page.rows[0]
    assert (first.overdue, first.oldest_days, first.risk, first.grade) == (100_000, 100, 90, "A")
    assert page.total == 4 and not page.has_next


async def test_age_is_weighted_by_amount(database: str, risks: dict[int, int]) -> None:
    """One small old invoice does not make a large recent debt old."""
    scope, ana, _ = await _tenant()
    mixed = await _customer(scope, "M", [(10_000, 90), (290_000, 0 + 1)])
    page = await queue_page(scope, QueueFilters(), ana, TODAY, "MXN", TZ)
    row = page.rows[0]
    assert row.customer_id == mixed
    assert row.oldest_days == 90
    assert row.age_days == 4  # (10k × 90 + 290k × 1) / 300k ≈ 3.97


async def test_other_currencies_and_other_tenants_are_left_out(
    database: str, risks: dict[int, int]
) -> None:
    scope, ana, _ = await _tenant()
    other_scope, _, _ = await _tenant()
    await _customer(other_scope, "X", [(999_000, 50)])
    dollars = await create_customer(scope, NewCustomer("USD", "Dólares"), "MX")
    await create_invoice(
        scope,
        NewInvoice(
            int(dollars.id),
            "U-1",
            TODAY - timedelta(days=60),
            TODAY - timedelta(days=30),
            "USD",
            (NewLine("Servicio", 1, 50_000),),
        ),
    )
    mine = await _customer(scope, "A", [(1_000, 1)])
    assert await _order(scope, ana) == [mine]


async def test_filters_mine_collector_unassigned_segment(
    database: str, risks: dict[int, int]
) -> None:
    scope, ana, beto = await _tenant()
    a1 = await _customer(scope, "A1", [(100_000, 10)], segment="pymes")
    b1 = await _customer(scope, "B1", [(200_000, 10)], segment="hogar")
    free = await _customer(scope, "F1", [(300_000, 10)], segment="pymes")
    await scope.update(Customer, {Customer.collector_id: int(ana.id)}).where(Customer.id == a1)
    await scope.update(Customer, {Customer.collector_id: int(beto.id)}).where(Customer.id == b1)
    assert await _order(scope, ana, QueueFilters(collector="me")) == [a1]
    assert await _order(scope, beto, QueueFilters(collector="me")) == [b1]
    assert await _order(scope, ana, QueueFilters(collector=str(beto.id))) == [b1]
    assert await _order(scope, ana, QueueFilters(collector="none")) == [free]
    assert await _order(scope, ana, QueueFilters(segment="pymes")) == [free, a1]
    assert await _order(scope, ana) == [free, b1, a1]
    page = await queue_page(scope, QueueFilters(collector="me"), ana, TODAY, "MXN", TZ)
    assert page.rows[0].collector_name == "Ana"


def test_filters_from_query_ignore_junk() -> None:
    f = QueueFilters.from_query(
        {"cobrador": "robert'); drop", "segmento": "  a   b ", "pagina": "x"}
    )
    assert (f.collector, f.segment, f.page) == ("", "a b", 1)
    assert QueueFilters.from_query({"cobrador": "me", "pagina": "3"}).query() == {
        "cobrador": "me",
        "pagina": "3",
    }


async def test_next_action_is_the_earliest(database: str, risks: dict[int, int]) -> None:
    scope, ana, _ = await _tenant()
    task_first = await _customer(scope, "T", [(100_000, 10)])
    promise_first = await _customer(scope, "P", [(100_000, 10)])
    call_first = await _customer(scope, "L", [(100_000, 10)])
    nothing = await _customer(scope, "N", [(100_000, 10)])
    soon = datetime.now(UTC) + timedelta(days=1)

    async def task(customer: int, days: int, title: str) -> None:
        await scope.add(
            WorkTask(
                customer=customer,
                assignee=ana.id,
                title=title,
                due_date=TODAY + timedelta(days=days),
            )
        )

    async def promise(customer: int, days: int) -> None:
        await scope.add(
            PaymentPromise(
                customer=customer,
                currency="MXN",
                amount=1,
                promised_date=TODAY + timedelta(days=days),
            )
        )

    async def contact(customer: int, when: datetime, kind: str = "call") -> None:
        await scope.add(
            ContactAttempt(customer=customer, key=uuid.uuid4().hex, kind=kind, scheduled_for=when)
        )

    await task(task_first, -2, "Llamar otra vez")
    await promise(task_first, 3)
    await contact(task_first, soon)
    await task(promise_first, 5, "Revisar")
    await promise(promise_first, 0)
    await contact(call_first, soon + timedelta(days=1))
    await task(call_first, 9, "Más tarde")
    await contact(call_first, soon - timedelta(days=30), kind="letter")  # not work: ignored
    done = WorkTask(customer=call_first, assignee=ana.id, title="Ya", due_date=TODAY, status="done")
    await scope.add(done)
    page = await queue_page(scope, QueueFilters(), ana, TODAY, "MXN", TZ)
    by_id = {row.customer_id: row.next_action for row in page.rows}
    first = by_id[task_first]
    assert first is not None and (first.kind, first.label, first.late) == (
        "task",
        "Llamar otra vez",
        True,
    )
    second = by_id[promise_first]
    assert second is not None and (second.kind, second.on, second.late) == ("promise", TODAY, False)
    third = by_id[call_first]
    assert third is not None and third.kind == "call" and third.on > TODAY
    assert by_id[nothing] is None


class _Counter:
    def __init__(self) -> None:
        self.n = 0


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> _Counter:
    """Counts every statement the engine runs (Piccolo queries and ``scope.raw`` alike)."""
    counter = _Counter()
    engine_type: Any = type(Customer._meta.db)
    original = engine_type.run_querystring

    async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        counter.n += 1
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(engine_type, "run_querystring", counting)
    return counter


async def test_ranking_costs_the_same_for_5_or_35_customers(
    database: str, queries: _Counter
) -> None:
    """With the real credit scores: the number of statements does not grow with customers."""
    scope, ana, beto = await _tenant()

    async def seeded(count: int) -> int:
        for n in range(count):
            c = await _customer(scope, f"K{count}-{n}", [(1_000 + n, 5 + n)])
            await scope.update(Customer, {Customer.collector_id: int(beto.id)}).where(
                Customer.id == c
            )
            await scope.add(WorkTask(customer=c, assignee=ana.id, title="x", due_date=TODAY))
        queries.n = 0
        page = await queue_page(scope, QueueFilters(), ana, TODAY, "MXN", TZ)
        assert page.rows
        return queries.n

    few = await seeded(5)
    many = await seeded(30)
    assert 4 <= few == many <= 20
