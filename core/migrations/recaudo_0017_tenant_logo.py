"""tenant_logo: the logo an owner uploads in the back office's settings (Ajustes → Marca)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Bytea, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
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


ID = "2026-12-01T00:00:17:000000"
VERSION = "1.38.0"
DESCRIPTION = "tenant_logo: the logo uploaded in Ajustes → Marca"


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


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)
    manager.add_table(class_name="TenantLogo", tablename="tenant_logo", schema=None, columns=None)
    tenant = _params(
        None,
        null=False,
        index=True,
        references=Tenant,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        target_column=None,
    )
    columns = [
        ("tenant", ForeignKey, tenant),
        ("content_type", Varchar, _params("", length=30)),
        ("content", Bytea, _params(b"")),
        ("digest", Varchar, _params("", length=64)),
        ("width", Integer, _params(0)),
        ("height", Integer, _params(0)),
        ("created_at", Timestamptz, _params(TimestamptzNow())),
    ]
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="TenantLogo",
            tablename="tenant_logo",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
