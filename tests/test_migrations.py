"""Migrations run on SQLite and PostgreSQL, are idempotent and create the protecting indexes."""

from __future__ import annotations

import contextlib
import io

import pytest

from recaudo.core import db
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.tables import Payment
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant


async def test_migrate_twice_applies_nothing_new(database: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert await db.migrate() == []
    assert await db.ping()


async def test_unique_indexes_guard_idempotency_keys(database: str) -> None:
    tenant = await make_tenant("acme")
    scope = TenantScope(int(tenant.id))
    customer = await create_customer(scope, NewCustomer("C1", "Uno"), "MX")

    def payment() -> Payment:
        return Payment(
            customer=customer.id,
            method="sandbox",
            currency="MXN",
            amount=100,
            idempotency_key="same-key",
            requested_invoices=[],
            checkout={},
        )

    await scope.add(payment())
    with pytest.raises(Exception, match=r"(?i)unique"):
        await scope.add(payment())
    assert await scope.add_unless_exists(payment()) is None
    assert await scope.count(Payment) == 1
