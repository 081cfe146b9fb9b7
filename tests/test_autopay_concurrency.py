"""Two (or more) workers at once never charge the same invoice or installment twice.

``asyncio.gather`` runs each "worker" as its own task, so its own transaction and connection:
PostgreSQL decides with the unique key of ``autopay_charge`` and the ledger's idempotency key,
SQLite by serialising the transactions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from recaudo.core.payments.autopay import plan_tenant, run_charge
from recaudo.core.tables import Allocation, AutopayCharge, Invoice, Payment
from recaudo.plugins.sandbox.tables import SandboxCharge
from tests.portal_support import Env, open_env
from tests.test_autopay import enroll

pytestmark = pytest.mark.slow


@pytest.fixture
async def env(database: str, host: object) -> AsyncIterator[Env]:
    e = await open_env(database)
    yield e
    await e.client.aclose()


async def worker(env: Env, now: datetime) -> list[str]:
    """One worker's hour: the sweep, then every open charge it can see (as a redelivered job
    would make it run a charge another worker is running)."""
    await plan_tenant(env.shop.scope, now)
    rows = await env.shop.scope.select(AutopayCharge, AutopayCharge.id).where(
        AutopayCharge.attempt > 0
    )
    return [await run_charge(env.shop.scope, int(r["id"])) for r in rows]


async def test_four_workers_at_once_charge_each_invoice_once(env: Env) -> None:
    await enroll(env, what="invoices")
    now = datetime.now(UTC)
    ids = env.invoice_ids()
    await asyncio.gather(*[worker(env, now) for _ in range(4)])
    # And once more, after everything settled: still nothing new.
    await asyncio.gather(*[worker(env, now) for _ in range(2)])

    scope = env.shop.scope
    rows = await scope.objects(AutopayCharge).where(AutopayCharge.attempt > 0)
    assert sorted(int(r.target_id) for r in rows) == sorted(ids[:2]), "one charge per invoice"
    assert {r.status for r in rows} == {"approved"}
    pays = await scope.objects(Payment)
    assert len(pays) == 2, [(p.idempotency_key, p.status, p.checkout) for p in pays]
    assert await scope.count(SandboxCharge) == 2, "the provider was charged once per invoice"
    assert await scope.count(Allocation) == 2
    for invoice_id in ids[:2]:
        invoice = await scope.get(Invoice, invoice_id)
        assert invoice.status == "paid" and int(invoice.amount_applied) == int(invoice.total)
