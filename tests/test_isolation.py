"""Tenants never see each other's data.

Every tenant-owned table is listed from the schema (not by hand) — core's and those of every
installed plugin's Piccolo app — one row per tenant is written in each, and every read path of
:class:`TenantScope` is shown to return only its own tenant's rows. A plugin table without a tenant
must say it is platform-wide.
A second test reads the source and fails when code touches a tenant-owned table directly instead
of going through a scope (or an explicit, greppable ``unscoped``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Bytea,
    Date,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from recaudo.core import db
from recaudo.core.platform.apps import plugin_apps, unowned_tables
from recaudo.tenants.models import Tenant, TenantOwned
from recaudo.tenants.scoped import CrossTenantError, TenantScope

ROOT = Path(__file__).resolve().parent.parent


def test_every_tenant_table_is_covered() -> None:
    names = {t._meta.tablename for t in db.tenant_tables()}
    # The schema grows; this only guards that discovery works and finds core's and plugins' ones.
    assert {"customer", "invoice", "payment", "allocation", "chat_message", "outbox_job"} <= names
    assert "sandbox_charge" in names  # the sandbox plugin's own app
    for table in db.tenant_tables():
        column = table._meta.get_column_by_name("tenant")
        assert isinstance(column, ForeignKey)
        assert column._meta.null is False, f"{table.__name__}.tenant must be NOT NULL"


async def _row(scope: TenantScope, table: type[Table], made: dict[type[Table], Any], n: int) -> Any:
    """Insert a plausible row of ``table`` for ``scope``'s tenant, creating its parents first."""
    if table in made:
        return made[table]
    values: dict[str, Any] = {}
    for column in table._meta.columns:
        name = column._meta.name
        if isinstance(column, Serial) or name == "tenant":
            continue
        if isinstance(column, ForeignKey):
            parent = column._foreign_key_meta.resolved_references
            if column._meta.null:
                continue
            values[name] = (await _row(scope, parent, made, n)).id
        elif column._meta.null:
            continue
        elif isinstance(column, BigInt | Integer):
            values[name] = n
        elif isinstance(column, Boolean):
            values[name] = False
        elif isinstance(column, Timestamptz):
            values[name] = datetime.now(UTC)
        elif isinstance(column, Date):
            values[name] = date(2026, 1, n)
        elif isinstance(column, JSON):
            values[name] = {}
        elif isinstance(column, Bytea):
            values[name] = b"x"
        elif isinstance(column, Varchar | Text):
            length = getattr(column, "length", 30) or 30
            values[name] = f"{table._meta.tablename[:8]}-{scope.tenant_id}-{n}"[: min(length, 40)]
        else:
            values[name] = column.get_default_value()
    row = table(**values)
    await scope.add(row)
    made[table] = row
    return row


def test_plugin_tables_carry_a_tenant_or_say_they_are_platform_wide() -> None:
    assert unowned_tables(plugin_apps()) == []


@pytest.mark.slow
async def test_scope_never_returns_another_tenants_rows(
    two_tenants: tuple[TenantScope, TenantScope],
) -> None:
    await check_isolated(*two_tenants, db.tenant_tables())


async def check_isolated(a: TenantScope, b: TenantScope, tables: list[type[Table]]) -> None:
    """Write a row per tenant in each table, then read and write through A's scope only."""
    rows_a: dict[type[Table], Any] = {}
    rows_b: dict[type[Table], Any] = {}
    for table in tables:
        await _row(a, table, rows_a, 1)
        await _row(b, table, rows_b, 2)
    for table in tables:
        mine, theirs = rows_a[table], rows_b[table]
        selected = await a.select(table, table._meta.primary_key, table.tenant)
        assert {r["tenant"] for r in selected} == {a.tenant_id}, table.__name__
        # Triggers may have added rows of A's own (account_change): A sees all of them, no more.
        own = sorted(o.id for o in await a.objects(table))
        assert mine.id in own and theirs.id not in own, table.__name__
        assert await a.count(table) == len(own)
        raw = await a.raw(
            f'SELECT id, tenant FROM "{table._meta.tablename}" WHERE tenant = {{tenant}}'
        )
        assert sorted(r["id"] for r in raw) == own, f"{table.__name__}: hand-written SQL"
        assert await a.get(table, theirs.id) is None, f"{table.__name__}: read B's row from A"
        assert await a.get(table, mine.id) is not None
        assert not await a.exists(table).where(table._meta.primary_key == theirs.id)
        # Writes through A's scope cannot touch B's rows.
        await a.delete(table).where(table._meta.primary_key == theirs.id)
        assert await b.get(table, theirs.id) is not None, f"{table.__name__}: A deleted B's row"
        with pytest.raises(CrossTenantError):
            await a.save(theirs)


async def test_adding_a_row_that_names_another_tenant_is_refused(
    two_tenants: tuple[TenantScope, TenantScope],
) -> None:
    from recaudo.core.tables import FaqEntry

    a, b = two_tenants
    with pytest.raises(CrossTenantError):
        await a.add(FaqEntry(tenant=b.tenant_id, question="q", answer="a"))
    assert await b.count(FaqEntry) == 0


async def test_hand_written_sql_is_bound_to_the_scope(
    two_tenants: tuple[TenantScope, TenantScope],
) -> None:
    from recaudo.core.billing.account import account_stamp
    from recaudo.core.billing.customers import NewCustomer, create_customer

    a, b = two_tenants
    ana = await create_customer(a, NewCustomer("A-1", "Ana", email="ana@example.com"), "MX")
    rows = await a.raw("SELECT number, {} AS text FROM customer WHERE tenant = {tenant}", "{x}")
    assert rows == [{"number": "A-1", "text": "{x}"}]
    assert await b.raw("SELECT id FROM customer WHERE tenant = {tenant} AND id = {}", ana.id) == []
    await a.raw(
        "UPDATE customer SET name = {} WHERE tenant = {tenant} AND id = {}", "Ana R", ana.id
    )
    assert (await a.get(type(ana), ana.id)).name == "Ana R"  # type: ignore[union-attr]
    assert await account_stamp(b, int(ana.id)) == 0
    with pytest.raises(ValueError, match="tenant"):
        await a.raw("SELECT id FROM customer")
    with pytest.raises(ValueError, match="placeholders"):
        await a.raw("SELECT id FROM customer WHERE tenant = {tenant} AND id = {id}")
    with pytest.raises(ValueError, match="braces"):
        await a.raw("SELECT '{{x}}' FROM customer WHERE tenant = {tenant}")
    with pytest.raises(ValueError, match=re.escape("0 {} placeholders, 1 values")):
        await a.raw("SELECT id FROM customer WHERE tenant = {tenant}", 1)
    with pytest.raises(ValueError, match=re.escape("1 {} placeholders, 0 values")):
        await a.raw("SELECT id FROM customer WHERE tenant = {tenant} AND id = {}")


# --- the source never bypasses the scope ------------------------------------------------------

ALLOWED = {"tenants/scoped.py"}
DIRS = ("core", "tenants", "web", "workers", "plugins", "recaudo")


def test_code_reaches_tenant_tables_only_through_a_scope() -> None:
    names = [t.__name__ for t in db.tenant_tables()]
    direct = re.compile(
        r"(?<![\w.])("
        + "|".join(names)
        + r")\.(select|objects|update|delete|count|exists|insert|raw)\("
    )
    offenders = []
    for folder in DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ALLOWED or "/migrations/" in rel:
                continue
            for lineno, line in enumerate(path.read_text().splitlines(), 1):
                if direct.search(line):
                    offenders.append(f"{rel}:{lineno}: {line.strip()}")
    assert not offenders, "tenant-owned tables used without TenantScope:\n" + "\n".join(offenders)


def test_tenant_model_is_not_tenant_owned() -> None:
    assert not issubclass(Tenant, TenantOwned)
