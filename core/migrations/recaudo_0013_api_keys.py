"""api_key and idempotency_record: REST API keys and Idempotency-Key replays (web/api/)."""

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


ID = "2026-12-01T00:00:13:000000"
VERSION = "1.38.0"
DESCRIPTION = "api_key, idempotency_record: REST API keys and idempotent POSTs"


def _params(default, null=False, index=False, unique=False, **extra):
    return {
        "default": default,
        "null": null,
        "primary_key": False,
        "unique": unique,
        "index": index,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **extra,
    }


def _tenant():
    return _params(
        None,
        index=True,
        references=Tenant,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        target_column=None,
    )


TABLES = {
    ("ApiKey", "api_key"): [
        ("tenant", ForeignKey, _tenant()),
        ("name", Varchar, _params("", length=100)),
        ("prefix", Varchar, _params("", unique=True, length=32)),
        ("secret_hash", Varchar, _params("", length=64)),
        ("scope", Varchar, _params("read", length=10)),
        ("created_by", Varchar, _params("", length=100)),
        ("created_at", Timestamptz, _params(TimestamptzNow())),
        ("last_used_at", Timestamptz, _params(None, null=True)),
        ("revoked_at", Timestamptz, _params(None, null=True)),
    ],
    ("IdempotencyRecord", "idempotency_record"): [
        ("tenant", ForeignKey, _tenant()),
        ("lookup", Varchar, _params("", unique=True, length=280)),
        ("key", Varchar, _params("", length=255)),
        ("api_key_id", Integer, _params(0)),
        ("request", Varchar, _params("", length=300)),
        ("body_hash", Varchar, _params("", length=64)),
        ("state", Varchar, _params("started", length=20)),
        ("response_status", Integer, _params(0)),
        ("response_body", Text, _params("")),
        ("created_at", Timestamptz, _params(TimestamptzNow(), index=True)),
    ],
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)
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
