"""imports: saved column mappings per tenant and kind, and back-office import runs.

``import_mapping`` is unique per (tenant, kind); the index is created after the table (Piccolo
runs ``add_raw`` steps before it creates tables, so this manager adds it after its columns).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    JSON,
    Bytea,
    ForeignKey,
    Integer,
    Serial,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.engine.finder import engine_finder
from piccolo.table import Table


class Tenant(Table, tablename="tenant", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


ID = "2026-12-01T00:00:16:000000"
VERSION = "1.38.0"
DESCRIPTION = "imports: import_mapping and import_run"

UNIQUE_INDEX_SQL = (
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_import_mapping_tenant_kind ON "import_mapping" '
    '("tenant", "kind")'
)


def _params(default, null=False, index=False, **extra):
    return {
        "default": default,
        "null": null,
        "primary_key": False,
        "unique": False,
        "index": index,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **extra,
    }


class _Manager(MigrationManager):
    async def _run_add_columns(self, backwards: bool = False) -> None:
        await super()._run_add_columns(backwards=backwards)
        if not backwards and not self.preview:
            await engine_finder().run_ddl(UNIQUE_INDEX_SQL)


def _tenant():
    return _params(
        None,
        null=False,
        index=True,
        references=Tenant,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        target_column=None,
    )


TABLES = {
    ("ImportMapping", "import_mapping"): [
        ("tenant", ForeignKey, _tenant()),
        ("kind", Varchar, _params("", length=20)),
        ("mapping", JSON, _params("{}")),
        ("updated_at", Timestamptz, _params(TimestamptzNow())),
    ],
    ("ImportRun", "import_run"): [
        ("tenant", ForeignKey, _tenant()),
        ("kind", Varchar, _params("", length=20)),
        ("filename", Varchar, _params("", length=200)),
        ("content", Bytea, _params(b"")),
        ("mapping", JSON, _params("{}")),
        ("mode", Varchar, _params("dry_run", length=20)),
        ("status", Varchar, _params("queued", length=20)),
        ("rows_done", Integer, _params(0)),
        ("rows_total", Integer, _params(0)),
        ("errors", JSON, _params("[]")),
        ("result", JSON, _params("{}")),
        ("actor", Varchar, _params("", length=100)),
        ("created_at", Timestamptz, _params(TimestamptzNow())),
        ("updated_at", Timestamptz, _params(TimestamptzNow())),
    ],
}


async def forwards():
    manager = _Manager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)
    for (class_name, tablename), columns in TABLES.items():
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, column_class, params in columns:
            manager.add_column(
                table_class_name=class_name,
                tablename=tablename,
                column_name=name,
                db_column_name=name,
                column_class_name=column_class.__name__,
                column_class=column_class,
                params=params,
                schema=None,
            )
    return manager
