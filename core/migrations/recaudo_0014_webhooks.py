"""webhook_endpoint and webhook_delivery: outbound webhooks to the tenant's systems."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
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


class WebhookEndpoint(Table, tablename="webhook_endpoint", schema=None):
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


ID = "2026-12-01T00:00:14:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook_endpoint, webhook_delivery: outbound webhooks"


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


def _foreign_key(references, null):
    return _params(
        None,
        null=null,
        index=True,
        references=references,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        target_column=None,
    )


TABLES = (
    (
        "WebhookEndpoint",
        "webhook_endpoint",
        [
            ("tenant", ForeignKey, _foreign_key(Tenant, False)),
            ("url", Varchar, _params("", length=2000)),
            ("description", Varchar, _params("", length=200)),
            ("events", JSON, _params('["*"]')),
            ("active", Boolean, _params(True)),
            ("secret", Text, _params("")),
            ("previous_secret", Text, _params("")),
            ("previous_expires_at", Timestamptz, _params(None, null=True)),
            ("created_at", Timestamptz, _params(TimestamptzNow())),
        ],
    ),
    (
        "WebhookDelivery",
        "webhook_delivery",
        [
            ("tenant", ForeignKey, _foreign_key(Tenant, False)),
            ("endpoint", ForeignKey, _foreign_key(WebhookEndpoint, False)),
            ("event_id", Varchar, _params("", index=True, length=36)),
            ("event_type", Varchar, _params("", length=50)),
            ("payload", Text, _params("")),
            ("status", Varchar, _params("pending", index=True, length=20)),
            ("attempts", Integer, _params(0)),
            ("last_status_code", Integer, _params(None, null=True)),
            ("last_error", Varchar, _params("", length=300)),
            ("response_excerpt", Text, _params("")),
            ("next_attempt_at", Timestamptz, _params(None, null=True)),
            ("created_at", Timestamptz, _params(TimestamptzNow())),
            ("delivered_at", Timestamptz, _params(None, null=True)),
        ],
    ),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)
    for class_name, tablename, columns in TABLES:
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
