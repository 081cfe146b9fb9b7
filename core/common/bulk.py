"""Bulk inserts of one tenant's rows inside the current write transaction (imports).

Building a Piccolo object per row costs more than the database does, so large imports write rows
as tuples: PostgreSQL through ``COPY`` (asyncpg's ``copy_records_to_table``), SQLite through one
prepared ``executemany``. Ids are taken beforehand (``nextval`` on PostgreSQL; on SQLite the
immediate transaction holds the write lock, so ``MAX(id)`` cannot move under us), so children can
name their parents without reading anything back. The tenant column is always the scope's:
a caller cannot write another tenant's rows through here.

Only for use inside :func:`recaudo.core.db.transaction`; triggers fire as for any insert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from piccolo.table import Table

from recaudo.core.db import engine
from recaudo.tenants.models import TenantOwned
from recaudo.tenants.scoped import TenantScope


def _connection() -> tuple[Any, bool]:
    current = engine()
    tx = current.current_transaction.get()
    if tx is None:
        raise RuntimeError("bulk writes need an open transaction (recaudo.core.db.transaction)")
    return tx.connection, current.engine_type in ("postgres", "cockroach")


async def reserve_ids(table: type[Table], count: int) -> list[int]:
    """``count`` fresh primary keys for ``table`` (call inside the transaction that uses them)."""
    if count <= 0:
        return []
    conn, postgres = _connection()
    name = table._meta.tablename
    if postgres:
        rows = await conn.fetch(
            "SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id FROM generate_series(1, $2)",
            name,
            count,
        )
        return [int(r["id"]) for r in rows]
    start = await _one(conn, f'SELECT COALESCE(MAX(id), 0) AS value FROM "{name}"')
    # AUTOINCREMENT tables never hand out an id again, even one whose row was deleted.
    if await _one(conn, "SELECT name AS value FROM sqlite_master WHERE name = 'sqlite_sequence'"):
        seq = await _one(conn, "SELECT seq AS value FROM sqlite_sequence WHERE name = ?", name)
        start = max(int(start), int(seq or 0))
    return list(range(int(start) + 1, int(start) + 1 + count))


async def _one(conn: Any, sql: str, *args: Any) -> Any:
    """The ``value`` column of the first row (Piccolo's SQLite connection returns dicts)."""
    cursor = await conn.execute(sql, args)
    row = await cursor.fetchone()
    await cursor.close()
    if row is None:
        return None
    return row["value"] if isinstance(row, dict) else row[0]


async def insert_rows(
    scope: TenantScope,
    table: type[Table],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Insert ``rows`` (values in ``columns`` order, no tenant) as ``scope``'s rows."""
    if not issubclass(table, TenantOwned):
        raise TypeError(f"{table.__name__} is not tenant-owned")
    if not rows:
        return
    known = {c._meta.db_column_name for c in table._meta.columns}
    unknown = [c for c in columns if c not in known or c == "tenant"]
    if unknown:
        raise ValueError(f"{table.__name__}: unknown columns {unknown}")
    conn, postgres = _connection()
    name = table._meta.tablename
    all_columns = ["tenant", *columns]
    tenant = scope.tenant_id
    records = [(tenant, *row) for row in rows]
    if postgres:
        await conn.copy_records_to_table(name, records=records, columns=all_columns)
        return
    quoted = ", ".join(f'"{c}"' for c in all_columns)
    marks = ", ".join("?" for _ in all_columns)
    await conn.executemany(f'INSERT INTO "{name}" ({quoted}) VALUES ({marks})', records)
