"""Test tenants (``tenant.test``) and mail waiting for a channel (``notification_log.sealed``).

A test tenant is one created for trying Recaudo (the demo ones, ``tenants create --test``): only
it may use the sandbox gateway, and its pages say so. ``sealed`` keeps the encrypted full text of
a message no channel could deliver yet (production without SMTP) until one can; ``claimed_at``
says when a relay took it to send, so one that crashed meanwhile is retried.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Text, Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T00:00:08:000000"
VERSION = "1.38.0"
DESCRIPTION = "test tenants; notifications waiting for a channel"


def _params(default: object, null: bool = False) -> dict[str, object]:
    return {
        "default": default,
        "null": null,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Tenant",
        tablename="tenant",
        column_name="test",
        db_column_name="test",
        column_class_name="Boolean",
        column_class=Boolean,
        params=_params(False),
        schema=None,
    )
    manager.add_column(
        table_class_name="NotificationLog",
        tablename="notification_log",
        column_name="sealed",
        db_column_name="sealed",
        column_class_name="Text",
        column_class=Text,
        params=_params(""),
        schema=None,
    )
    manager.add_column(
        table_class_name="NotificationLog",
        tablename="notification_log",
        column_name="claimed_at",
        db_column_name="claimed_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params=_params(None, null=True),
        schema=None,
    )
    return manager
