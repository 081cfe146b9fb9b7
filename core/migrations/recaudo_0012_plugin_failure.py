"""plugin_failure: plugin hooks that raised or hung, per tenant (core/platform/guard.py)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
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


ID = "2026-12-01T00:00:12:000000"
VERSION = "1.38.0"
DESCRIPTION = "plugin_failure: plugin hooks that raised or hung"


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
    manager.add_table(
        class_name="PluginFailure", tablename="plugin_failure", schema=None, columns=None
    )
    tenant = _params(
        None,
        null=True,
        index=True,
        references=Tenant,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        target_column=None,
    )
    columns = [
        ("tenant", ForeignKey, tenant),
        ("plugin", Varchar, _params("", length=100)),
        ("hook", Varchar, _params("", length=100)),
        ("message", Text, _params("")),
        ("times", Integer, _params(1)),
        ("first_seen", Timestamptz, _params(TimestamptzNow())),
        ("last_seen", Timestamptz, _params(TimestamptzNow(), index=True)),
    ]
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="PluginFailure",
            tablename="plugin_failure",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
