"""One write transaction, retried on lock timeouts and deadlocks, with row locks where they exist.

Money code (the ledger, later reconciliation) locks what it changes and may collide with a
concurrent writer: SQLite answers "database is locked", PostgreSQL a deadlock or serialization
failure. Those are retried here with a short backoff; everything else is raised.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from piccolo.engine.base import Engine
from piccolo.query import Objects

from recaudo.core.db import engine, transaction

T = TypeVar("T")
_RETRIES = 4


def _db() -> Engine[Any]:
    return engine()


def retryable(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return "locked" in text or "busy" in text
    return type(exc).__name__ in ("DeadlockDetectedError", "SerializationError")


def integrity_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return True
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    return isinstance(exc, asyncpg.exceptions.IntegrityConstraintViolationError)


async def atomic(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(transaction)`` in one write transaction, retrying lock timeouts and deadlocks.

    ``work`` must be safe to run again (every ledger operation is idempotent). When the caller
    already holds a transaction we join it and leave retrying to the caller.
    """
    nested = _db().current_transaction.get() is not None
    for attempt in range(_RETRIES):
        try:
            async with transaction() as tx:
                return await work(tx)
        except Exception as exc:
            if nested or attempt == _RETRIES - 1 or not retryable(exc):
                raise
        await asyncio.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def is_postgres() -> bool:
    return _db().engine_type in ("postgres", "cockroach")


def locked(query: Objects) -> Objects:
    """Add ``FOR UPDATE`` on PostgreSQL; SQLite's immediate transaction already serialises."""
    return query.lock_rows() if is_postgres() else query
