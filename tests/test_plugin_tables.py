"""Plugins own tables and migrations (``recaudo_piccolo_app``), and the sandbox's moved out of core.

``recaudo migrate`` runs core's migrations, then each installed plugin's, once. The sandbox's
``sandbox_charge`` is created by its own migration on a fresh database and adopted, rows and all,
on a database that the old core migration 0003 had given it.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager
from piccolo.apps.migrations.tables import Migration
from piccolo.columns import Timestamptz, Varchar
from piccolo.conf.apps import AppConfig, Finder
from piccolo.table import Table

from recaudo.core import db
from recaudo.core.platform.apps import plugin_apps, unowned_tables
from recaudo.core.platform.host import PluginHost, set_host
from recaudo.plugins.sandbox.tables import SandboxCharge
from recaudo.tenants.scoped import TenantScope, unscoped
from tests.conftest import DB_PARAMS, PG_URL, _reset_postgres
from tests.fakes import notes_plugin
from tests.fakes.notes_plugin import Note, NoteKind
from tests.legacy import old_recaudo_0003_sandbox_charge as old_0003
from tests.test_isolation import check_isolated

SANDBOX_0001 = "sandbox:2026-12-01T00:00:01:000000"
CORE_0002 = "2026-11-23T00:00:02:000000"


async def _blank(engine: str, path: Path) -> str:
    """An empty database (no table at all), configured; returns its URL."""
    if engine == "sqlite":
        url = f"sqlite:///{path}"
    else:
        url = PG_URL
        await _reset_postgres(url)
    db.configure(url)
    await db.start_pool()
    return url


@pytest.fixture(params=DB_PARAMS)
async def blank(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    yield await _blank(request.param, tmp_path / "blank.sqlite3")
    await db.close_pool()


async def _migrate() -> list[str]:
    with contextlib.redirect_stdout(io.StringIO()):
        return await db.migrate()


async def _core(until: str = "all") -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        result = await ForwardsMigrationManager(app_name="recaudo", migration_id=until).run()
    assert result.success, result.message


async def _has_table(name: str) -> bool:
    if db.engine().engine_type == "sqlite":
        sql = f"SELECT name FROM sqlite_master WHERE type = 'table' AND name = '{name}'"
    else:
        sql = f"SELECT tablename FROM pg_tables WHERE tablename = '{name}'"
    return bool(await Migration.raw(sql).run())


async def _shape(table: str) -> tuple[set[tuple[str, bool]], set[tuple[str, bool]]]:
    """``{(column, nullable)}`` and ``{(index name, unique)}`` of a table, as the database says."""
    if db.engine().engine_type == "sqlite":
        cols = await Migration.raw(f"PRAGMA table_info({table})").run()
        idx = await Migration.raw(f"PRAGMA index_list({table})").run()
        return (
            {(c["name"], not c["notnull"] and not c["pk"]) for c in cols},
            {(i["name"], bool(i["unique"])) for i in idx},
        )
    cols = await Migration.raw(
        "SELECT column_name, is_nullable FROM information_schema.columns "
        f"WHERE table_schema = current_schema() AND table_name = '{table}'"
    ).run()
    idx = await Migration.raw(
        f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename = '{table}'"
    ).run()
    return (
        {(c["column_name"], c["is_nullable"] == "YES") for c in cols},
        {(i["indexname"], "UNIQUE" in i["indexdef"]) for i in idx},
    )


# --- the sandbox's table ------------------------------------------------------------------------


async def test_fresh_database_gets_sandbox_charge_from_the_plugin_after_core(blank: str) -> None:
    await _core()
    assert not await _has_table("sandbox_charge"), "core's migrations still create it"
    ran = await _migrate()
    assert [r for r in ran if r.startswith("sandbox:")] == [SANDBOX_0001]
    assert await _has_table("sandbox_charge")
    assert await _migrate() == []

    columns, indexes = await _shape("sandbox_charge")
    assert {name for name, _ in columns} == {
        c._meta.db_column_name for c in SandboxCharge._meta.columns
    }
    assert ("expires_at", True) in columns and ("tenant", False) in columns
    assert sum(unique for _, unique in indexes) >= 1  # provider_id (and the key on PostgreSQL)


async def test_a_blank_database_migrates_core_first_then_plugins(blank: str) -> None:
    ran = await _migrate()
    apps = [r.split(":", 1)[0] for r in ran]
    assert apps[0] == "recaudo" and apps.count("recaudo") >= 10
    assert apps.index("sandbox") > max(i for i, a in enumerate(apps) if a == "recaudo")
    assert await _migrate() == []


@pytest.mark.parametrize("old", ["old 0003", "old 0003 and old 0007"])
async def test_a_database_made_by_the_old_0003_keeps_its_charges(
    blank: str, tmp_path: Path, old: str
) -> None:
    # The deployment as it was: core up to 0002, the old 0003 that created sandbox_charge…
    await _core(until=CORE_0002)
    manager = await old_0003.forwards()
    await manager.run()
    await Migration.insert(Migration(name=old_0003.ID, app_name="recaudo")).run()
    if old == "old 0003 and old 0007":  # … and, further on, the old 0007's column of the table
        await _core()
        add = MigrationManager(migration_id="old-0007", app_name="recaudo")
        add.add_column(
            table_class_name="SandboxCharge",
            tablename="sandbox_charge",
            column_name="expires_at",
            db_column_name="expires_at",
            column_class_name="Timestamptz",
            column_class=Timestamptz,
            params={"default": None, "null": True},
        )
        await add.run()
    await Migration.raw(
        "INSERT INTO tenant (slug, name, country, currency) VALUES ('vieja', 'Vieja', 'MX', 'MXN')"
    ).run()
    await Migration.raw(
        "INSERT INTO sandbox_charge (tenant, provider_id, our_payment_id, currency, amount) "
        "SELECT id, 'sbx_old', 7, 'MXN', 12300 FROM tenant"
    ).run()

    ran = await _migrate()
    assert SANDBOX_0001 in ran
    assert await _migrate() == []
    charge = await unscoped(SandboxCharge).objects().first()
    assert charge is not None
    assert (charge.provider_id, charge.amount, charge.expires_at) == ("sbx_old", 12300, None)
    await TenantScope(int(charge.tenant)).save(charge)  # the model works on the adopted table
    upgraded = await _shape("sandbox_charge")

    # A fresh database ends with the very same table.
    await db.close_pool()
    await _blank("postgres" if blank.startswith("postgres") else "sqlite", tmp_path / "new.db")
    await _migrate()
    assert await _shape("sandbox_charge") == upgraded


# --- a third-party plugin's app -----------------------------------------------------------------


@pytest.fixture
def notes_host() -> Any:
    """The installed plugins plus the notes plugin, which brings two tables of its own."""
    h = PluginHost()
    h.load_entry_points()
    h.register(notes_plugin, name="notes", source="tests")
    set_host(h)
    yield h
    set_host(None)


async def test_a_plugin_app_is_migrated_once_and_its_tenant_tables_are_isolated(
    two_tenants: tuple[TenantScope, TenantScope], notes_host: PluginHost
) -> None:
    assert await _migrate() == ["notes:2026-12-01T00:00:01:000000"]
    assert await _migrate() == []
    assert Note in db.tenant_tables() and Note not in db.core_tables()
    assert NoteKind in db.all_tables() and NoteKind not in db.tenant_tables()
    assert "notes" in Finder().get_app_registry().app_configs  # Piccolo's own commands see it
    await check_isolated(*two_tenants, [Note])
    await NoteKind(name="reminder").save().run()
    assert await NoteKind.count().run() == 1


def test_a_plugin_table_without_tenant_nor_platform_wide_tag_is_flagged() -> None:
    class Loose(Table, tablename="loose_thing"):
        name = Varchar(length=20)

    class Loosely:
        from recaudo.core.hookspecs import hookimpl

        @hookimpl
        def recaudo_piccolo_app(self) -> AppConfig:
            return AppConfig("loose", "/nowhere", table_classes=[Loose])

    class Broken:
        from recaudo.core.hookspecs import hookimpl

        @hookimpl
        def recaudo_piccolo_app(self) -> AppConfig:
            raise RuntimeError("boom")

    h = PluginHost()
    h.register(notes_plugin, name="notes")
    h.register(Loosely(), name="loose")
    h.register(Broken(), name="broken")
    apps = plugin_apps(h)
    assert [a.plugin for a in apps] == ["loose", "notes"]  # the broken one is left out, logged
    assert unowned_tables(apps) == ["loose: Loose (loose_thing)"]
