"""Database engine selection and migrations.

The engine is chosen by ``RECAUDO_DATABASE_URL`` (SQLite or PostgreSQL) and attached to every table
explicitly (core's and those of every installed plugin's Piccolo app), so tests can point the same
process at another database without import tricks.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from recaudo.core import tables as domain_tables
from recaudo.core.platform.apps import CORE_APP, app_tables, plugin_apps
from recaudo.tenants import models as tenant_models

SQLITE_BUSY_TIMEOUT_S = 15

_engine: Engine | None = None
_engine_url: str = ""


def core_tables() -> list[type[Table]]:
    """The tables of core's Piccolo app, parents before children."""
    found: list[type[Table]] = []
    for module in (tenant_models, domain_tables):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Table)
                and value is not Table
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def all_tables() -> list[type[Table]]:
    """Every table: core's, then each installed plugin's (``recaudo_piccolo_app``)."""
    tables = core_tables()
    return tables + [t for t in app_tables(plugin_apps()) if t not in tables]


def tenant_tables() -> list[type[Table]]:
    """Tables whose rows belong to one tenant (they all mix in ``TenantOwned``)."""
    return [t for t in all_tables() if issubclass(t, tenant_models.TenantOwned)]


def sqlite_path(url: str) -> Path:
    parts = urlsplit(url)
    # sqlite:///relative/path and sqlite:////absolute/path, as SQLAlchemy spells them.
    return Path(unquote(parts.path)[1:])


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        # WAL lets readers proceed while one writer commits; it is a property of the file.
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
        return SQLiteEngine(path=str(path), timeout=SQLITE_BUSY_TIMEOUT_S)
    dsn = url.replace("postgres://", "postgresql://", 1)
    return PostgresEngine(config={"dsn": dsn})


def configure(url: str) -> Engine:
    """Create the engine for ``url`` and attach it to every table (and Piccolo's own).

    Configuring the same URL again keeps the current engine (and its connection pool).
    """
    global _engine, _engine_url
    os.environ["PICCOLO_CONF"] = "recaudo.piccolo_conf"
    if _engine is None or url != _engine_url:
        _engine = make_engine(url)
        _engine_url = url
    _attach(_engine)  # again for the same URL: a plugin registered since brings new tables
    return _engine


def _attach(engine: Engine) -> None:
    tables: list[type[Table]] = [*all_tables(), Migration]
    for table in tables:
        table._meta.db = engine


def engine() -> Engine:
    if _engine is None:
        raise RuntimeError("database not configured: call recaudo.core.db.configure(url) first")
    return _engine


async def _keep_session(connection: Any) -> None:
    """Pool release hook: asyncpg still rolls back an open transaction, but skips its default
    ``RESET ALL; UNLISTEN *; …`` round trip, which doubled the cost of every short query.

    Safe because Recaudo never changes session state (no ``SET``, ``LISTEN``, advisory locks
    or cursors outside a transaction); ``tests/test_db.py`` keeps that true.
    """


async def start_pool(max_size: int = 10) -> None:
    if isinstance(_engine, PostgresEngine) and _engine.pool is None:
        await _engine.start_connection_pool(min_size=1, max_size=max_size, reset=_keep_session)


async def close_pool() -> None:
    if isinstance(_engine, PostgresEngine) and _engine.pool is not None:
        await _engine.close_connection_pool()


async def migrate() -> list[str]:
    """Apply pending migrations: core's, then each installed plugin's app in order.

    Returns ``"<app>:<migration id>"`` for each migration that ran (empty when up to date).
    Piccolo records what ran per app, so running it again applies nothing.
    """
    from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

    apps = plugin_apps()
    _attach(engine())
    ran: list[str] = []
    for name in [CORE_APP, *(app.name for app in apps)]:
        before = set(await _applied(name))
        result = await ForwardsMigrationManager(app_name=name).run()
        if not result.success:
            raise RuntimeError(f"migration of {name} failed: {result.message}")
        ran += [f"{name}:{i}" for i in sorted(set(await _applied(name)) - before)]
    return ran


async def _applied(app_name: str) -> list[str]:
    if not await Migration.table_exists().run():
        return []
    return await Migration.get_migrations_which_ran(app_name=app_name)


async def ping() -> bool:
    rows: Any = await tenant_models.Tenant.raw("SELECT 1 AS ok").run()
    return bool(rows) and rows[0]["ok"] == 1


def transaction() -> Any:
    """An async context manager for one transaction that writes (the only kind Recaudo opens).

    Piccolo binds queries run inside it through a context variable, which is what lets a state
    change and the outbox job it triggers commit together. On SQLite it is ``BEGIN IMMEDIATE``:
    a deferred transaction takes the write lock only at its first write, so two read-then-write
    transactions could both read stale rows; immediate mode serialises whole transactions, as
    ``FOR UPDATE`` does on PostgreSQL. Inside an already open transaction this joins it.
    """
    current = engine()
    if isinstance(current, SQLiteEngine):
        return current.transaction(transaction_type=TransactionType.immediate)
    return current.transaction()
