"""The migrated database has exactly the columns the table classes declare, with the same
nullability (a merge that drops a column from ``core/tables.py``, or a table class whose foreign
key says NULL while its migration says NOT NULL, fails here rather than at the first insert)."""

from __future__ import annotations

from typing import Any

from piccolo.querystring import QueryString

from recaudo.core import db
from recaudo.core.common.atomic import is_postgres


async def _columns(tablename: str) -> dict[str, bool]:
    """``{column: nullable}`` as the database has them."""
    engine: Any = db.engine()
    if is_postgres():
        rows = await engine.run_querystring(
            QueryString(
                "SELECT column_name AS name, is_nullable = 'YES' AS nullable "
                "FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = {}",
                tablename,
            )
        )
        return {str(r["name"]): bool(r["nullable"]) for r in rows}
    rows = await engine.run_querystring(QueryString(f"PRAGMA table_info('{tablename}')"))
    return {str(r["name"]): not r["notnull"] and not r["pk"] for r in rows}


# Columns whose nullability is allowed to differ between a migration and its class (none today).
KNOWN: set[str] = set()


async def test_every_core_table_matches_its_migrations(database: str) -> None:
    problems = []
    for table in db.core_tables():
        name = table._meta.tablename
        found = await _columns(name)
        declared = {
            c._meta.db_column_name: bool(c._meta.null) and not c._meta.primary_key
            for c in table._meta.columns
        }
        if set(declared) != set(found):
            problems.append(
                f"{name}: only in code {sorted(set(declared) - set(found))}, "
                f"only in the database {sorted(set(found) - set(declared))}"
            )
            continue
        for column, nullable in declared.items():
            if found[column] != nullable and f"{name}.{column}" not in KNOWN:
                problems.append(f"{name}.{column}: code null={nullable}, database {found[column]}")
    assert not problems, "\n".join(problems)
