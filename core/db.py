"""Database engine selection and migrations.

The engine is chosen by ``RECAUDO_DATABASE_URL`` (SQLite or PostgreSQL) and attached to every table
explicitly, so tests can point the same process at another database without import tricks.
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

from recaudo.core import tables as core_tables
from recaudo.plugins.sandbox import tables as sandbox_tables
from recaudo.tenants import models as tenant_models

SQLITE_BUSY_TIMEOUT_S = 15

_engine: Engine | None = None
_engine_url: str = ""


def all_tables() -> list[type[Table]]:
    """Every table Recaudo owns, parents before children."""
    found: list[type[Table]] = []
    for module in (tenant_models, core_tables, sandbox_tables):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Table)
                and value is not Table
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


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
    if _engine is not None and url == _engine_url:
        return _engine
    engine = make_engine(url)
    tables: list[type[Table]] = [*all_tables(), Migration]
    for table in tables:
        table._meta.db = engine
    _engine = engine
    _engine_url = url
    return engine


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
    """Apply pending migrations; returns the ids that ran (empty when up to date)."""
    from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

    before = set(await _applied())
    result = await ForwardsMigrationManager(app_name="recaudo").run()
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")
    return sorted(set(await _applied()) - before)


async def _applied() -> list[str]:
    if not await Migration.table_exists().run():
        return []
    return await Migration.get_migrations_which_ran(app_name="recaudo")


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
