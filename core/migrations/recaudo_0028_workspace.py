"""The collector's workspace (issue #14): who works each account, credit decisions, tasks.

``customer.collector_id`` names the staff user who works the account (no foreign key, so a removed
staff user leaves the account unassigned rather than blocking the removal); ``credit_limit`` and
``credit_terms_days`` hold the credit staff last granted, whose history is ``credit_decision``.
``work_task`` holds the collectors' to-dos with due dates.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    JSON,
    BigInt,
    Date,
    ForeignKey,
    Integer,
    Serial,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.date import DateNow
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


def _stub(name: str, tablename: str) -> type[Table]:
    return type(
        name,
        (Table,),
        {
            "id": Serial(
                null=False,
                primary_key=True,
                unique=False,
                index=False,
                index_method=IndexMethod.btree,
                choices=None,
                db_column_name="id",
                secret=False,
            )
        },
        tablename=tablename,
        schema=None,
    )


Tenant = _stub("Tenant", "tenant")
Customer = _stub("Customer", "customer")
StaffUser = _stub("StaffUser", "staff_user")

ID = "2026-12-01T00:00:28:000000"
VERSION = "1.38.0"
DESCRIPTION = "workspace: collectors, credit decisions, tasks"


def _fk(references, null=False, index=True, on_delete=OnDelete.restrict):
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


def _plain(default, null=False, index=False, unique=False, **extra):
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


TENANT = ("tenant", ForeignKey, _fk(Tenant, on_delete=OnDelete.cascade))

CUSTOMER_COLUMNS = [
    ("collector_id", BigInt, _plain(None, null=True, index=True)),
    ("credit_limit", BigInt, _plain(None, null=True)),
    ("credit_terms_days", Integer, _plain(None, null=True)),
]

CREDIT_DECISION = [
    TENANT,
    ("customer", ForeignKey, _fk(Customer, on_delete=OnDelete.cascade)),
    ("currency", Varchar, _plain("", length=3)),
    ("score", Integer, _plain(0)),
    ("grade", Varchar, _plain("", length=10)),
    ("reasons", JSON, _plain("[]")),
    ("suggested_limit", BigInt, _plain(0)),
    ("suggested_terms_days", Integer, _plain(0)),
    ("decision", Varchar, _plain("approved", length=20)),
    ("credit_limit", BigInt, _plain(None, null=True)),
    ("credit_terms_days", Integer, _plain(None, null=True)),
    ("note", Varchar, _plain("", length=500)),
    (
        "decided_by",
        ForeignKey,
        _fk(StaffUser, null=True, index=False, on_delete=OnDelete.set_null),
    ),
    ("created_at", Timestamptz, _plain(TimestamptzNow())),
]

WORK_TASK = [
    TENANT,
    ("customer", ForeignKey, _fk(Customer, null=True, on_delete=OnDelete.cascade)),
    ("assignee", ForeignKey, _fk(StaffUser, null=True, on_delete=OnDelete.set_null)),
    ("title", Varchar, _plain("", length=200)),
    ("kind", Varchar, _plain("follow_up", length=20)),
    ("due_date", Date, _plain(DateNow(), index=True)),
    ("status", Varchar, _plain("open", length=20, index=True)),
    ("note", Varchar, _plain("", length=500)),
    ("created_by", Varchar, _plain("", length=100)),
    ("created_at", Timestamptz, _plain(TimestamptzNow())),
    ("done_at", Timestamptz, _plain(None, null=True)),
    ("done_by", Varchar, _plain("", length=100)),
]


def _columns(manager, class_name, tablename, columns):
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


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)
    _columns(manager, "Customer", "customer", CUSTOMER_COLUMNS)
    manager.add_table(
        class_name="CreditDecision", tablename="credit_decision", schema=None, columns=None
    )
    _columns(manager, "CreditDecision", "credit_decision", CREDIT_DECISION)
    manager.add_table(class_name="WorkTask", tablename="work_task", schema=None, columns=None)
    _columns(manager, "WorkTask", "work_task", WORK_TASK)
    return manager
