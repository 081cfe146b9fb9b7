"""The migrated database has exactly the columns the table classes declare (a merge that drops a
column from ``core/tables.py``, or a migration that forgets one, fails here, not in production)."""

from __future__ import annotations

from recaudo.core import db
from recaudo.core.common.atomic import is_postgres


async def _columns(tablename: str) -> set[str]:
    engine = db.engine()
    if is_postgres():
        rows = await engine.run_querystring(  # type: ignore[arg-type]
            _q(
                "SELECT column_name AS name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = {}",
                tablename,
            )
        )
    else:
        rows = await engine.run_querystring(_q(f"PRAGMA table_info('{tablename}')"))
    return {str(r["name"]) for r in rows}


def _q(sql: str, *args: object):  # type: ignore[no-untyped-def]
    from piccolo.querystring import QueryString

    return QueryString(sql, *args)


async def test_every_core_table_matches_its_migrations(database: str) -> None:
    problems = []
    for table in db.core_tables():
        declared = {c._meta.db_column_name for c in table._meta.columns}
        found = await _columns(table._meta.tablename)
        if declared != found:
            problems.append(
                f"{table._meta.tablename}: only in code {sorted(declared - found)}, "
                f"only in the database {sorted(found - declared)}"
            )
    assert not problems, "\n".join(problems)
