from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete
from piccolo.columns.base import OnUpdate
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.column_types import Serial
from piccolo.columns.column_types import Text
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.column_types import Varchar
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


class Ticket(Table, tablename="ticket", schema=None):
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


class StaffUser(Table, tablename="staff_user", schema=None):
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


ID = "2026-12-01T00:00:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "ticket_reply: staff answers to contact-form tickets"


def _fk(references, null, index, on_delete=OnDelete.cascade):
    return {
        "references": references,
        "on_delete": on_delete,
        "on_update": OnUpdate.cascade,
        "target_column": None,
        "null": null,
        "primary_key": False,
        "unique": False,
        "index": index,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }


def _plain(default, null=False, **extra):
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
        **extra,
    }


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="recaudo", description=DESCRIPTION
    )
    manager.add_table(
        class_name="TicketReply", tablename="ticket_reply", schema=None, columns=None
    )
    columns = [
        ("tenant", ForeignKey, _fk(Tenant, null=False, index=True)),
        ("ticket", ForeignKey, _fk(Ticket, null=False, index=True)),
        ("staff", ForeignKey, _fk(StaffUser, null=True, index=False)),
        ("body", Text, _plain("")),
        ("recipient", Varchar, _plain("", length=254)),
        ("status", Varchar, _plain("queued", length=20)),
        ("created_at", Timestamptz, _plain(TimestamptzNow())),
        ("sent_at", Timestamptz, _plain(None, null=True)),
    ]
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="TicketReply",
            tablename="ticket_reply",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
