"""The connection pool skips asyncpg's per-release ``RESET ALL`` round trip; this keeps it safe.

Skipping it is only correct while no code changes session state (settings, LISTEN, advisory
locks, cursors) outside a transaction, and while an abandoned transaction is still rolled back.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recaudo.core import db
from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parent.parent
# SQL is written in capitals here; prose like "set redis://…" must not match.
SESSION_STATE = re.compile(
    r"""["']\s*SET\s+(?!LOCAL\b)\w+\s*(=|TO\b)|\bLISTEN\s|pg_advisory_lock|\bDECLARE\s+\w+\s+CURSOR"""
)


def test_no_code_changes_database_session_state() -> None:
    offenders = []
    for folder in ("core", "tenants", "web", "workers", "plugins", "recaudo"):
        for path in (ROOT / folder).rglob("*.py"):
            for lineno, line in enumerate(path.read_text().splitlines(), 1):
                if SESSION_STATE.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    assert not offenders, (
        "session state would leak to the next user of a pooled connection "
        "(see recaudo.core.db._keep_session):\n" + "\n".join(offenders)
    )


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL not configured (set RECAUDO_TEST_DATABASE_URL)")
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
async def test_an_abandoned_transaction_is_rolled_back_on_release(database: str) -> None:
    await db.close_pool()
    await db.start_pool(max_size=1)  # one connection: the next acquire gets the same one
    pool = db.engine().pool  # type: ignore[attr-defined]
    connection = await pool.acquire()
    await connection.execute("BEGIN")
    await connection.execute("CREATE TABLE abandoned (id int)")
    await pool.release(connection)
    async with pool.acquire() as again:
        assert not again.is_in_transaction()
        assert await again.fetchval("SELECT to_regclass('abandoned')") is None
