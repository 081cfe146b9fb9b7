"""``recaudo demo`` seeds six months of paid history, so a fresh ``make run`` shows KPIs, a
back-test and credit scores with something behind them: payments dated when the money arrived,
one kept and one broken promise per tenant, collectors on the late payers. Seeding twice adds
nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from recaudo.core.config import Settings
from recaudo.core.tables import Allocation, Customer, Invoice, PaymentPromise, WorkTask
from recaudo.demo import seed_demo
from recaudo.tenants.resolve import tenant_by_slug
from recaudo.tenants.scoped import TenantScope

pytestmark = pytest.mark.slow
TODAY = date(2026, 11, 30)


async def test_history_is_dated_in_the_past_and_seeded_once(settings: Settings) -> None:
    await seed_demo(settings, TODAY, history=True)
    tenant = await tenant_by_slug("ferreteria-norte")
    assert tenant is not None
    scope = TenantScope(int(tenant.id))
    history = await scope.objects(Invoice).where(Invoice.number.like("FER-H%"))
    assert len(history) == 18  # three customers × six months
    paid = [i for i in history if i.status == "paid"]
    assert len(paid) == 17  # the month-late payer has not paid last month's yet
    old = await scope.select(Allocation, Allocation.created_at).where(
        Allocation.invoice.is_in([int(i.id) for i in paid])
    )
    assert old and all(r["created_at"] < datetime(2026, 11, 30, tzinfo=UTC) for r in old)
    earliest = min(r["created_at"] for r in old).date()
    assert earliest <= TODAY - timedelta(days=150)

    promises = await scope.select(PaymentPromise, PaymentPromise.status, PaymentPromise.staff_told)
    assert sorted(r["status"] for r in promises) == ["broken", "kept"]
    assert all(r["staff_told"] for r in promises if r["status"] == "broken")
    assigned = await scope.count(Customer).where(Customer.collector_id.is_not_null())
    assert assigned == 2
    assert await scope.count(WorkTask) == 1

    await seed_demo(settings, TODAY, history=True)  # already there: nothing added
    assert await scope.count(Invoice).where(Invoice.number.like("FER-H%")) == 18
    assert await scope.count(PaymentPromise) == 2
