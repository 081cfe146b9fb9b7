"""Bank reconciliation (issue #12): imported statements, their lines and saved CSV layouts.

The unique indexes (a file once per tenant, a movement once per tenant, a payment on one line
at most, a CSV layout name once per tenant) are in 0026_1: piccolo runs a migration's raw steps
before its new tables exist.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    JSON,
    BigInt,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Serial,
    Text,
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
Payment = _stub("Payment", "payment")

ID = "2026-12-01T00:00:26:000000"
VERSION = "1.38.0"
DESCRIPTION = "bank reconciliation: statements, lines, CSV profiles"


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

STATEMENT = [
    TENANT,
    ("format", Varchar, _plain("", length=20)),
    ("account", Varchar, _plain("", length=64)),
    ("currency", Varchar, _plain("", length=3)),
    ("statement_id", Varchar, _plain("", length=100)),
    ("opening_balance", BigInt, _plain(None, null=True)),
    ("closing_balance", BigInt, _plain(None, null=True)),
    ("file_sha256", Varchar, _plain("", length=64)),
    ("filename", Varchar, _plain("", length=200)),
    ("source", Varchar, _plain("", length=20)),
    ("imported_by", Varchar, _plain("", length=100)),
    ("counts", JSON, _plain("{}")),
    ("created_at", Timestamptz, _plain(TimestamptzNow())),
]


def _line_columns(statement):
    return [
        TENANT,
        ("statement", ForeignKey, _fk(statement, on_delete=OnDelete.cascade)),
        ("line_no", Integer, _plain(0)),
        ("key", Varchar, _plain("", length=100)),
        ("booked_on", Date, _plain(DateNow())),
        ("amount", BigInt, _plain(0)),
        ("currency", Varchar, _plain("", length=3)),
        ("reference", Varchar, _plain("", length=200)),
        ("description", Text, _plain("")),
        ("payer_name", Varchar, _plain("", length=200)),
        ("payer_account", Varchar, _plain("", length=64)),
        ("status", Varchar, _plain("unmatched", length=20, index=True)),
        ("rule", Varchar, _plain("", length=50)),
        ("confidence", DoublePrecision, _plain(None, null=True)),
        ("candidates", JSON, _plain("[]")),
        ("customer", ForeignKey, _fk(Customer, null=True)),
        ("payment", ForeignKey, _fk(Payment, null=True, index=False)),
        ("applied_as", Varchar, _plain("", length=20)),
        ("generation", Integer, _plain(0)),
        ("decided_by", Varchar, _plain("", length=100)),
        ("decided_at", Timestamptz, _plain(None, null=True)),
        ("note", Varchar, _plain("", length=500)),
        ("created_at", Timestamptz, _plain(TimestamptzNow())),
    ]


PROFILE = [
    TENANT,
    ("name", Varchar, _plain("", length=60)),
    ("mapping", JSON, _plain("{}")),
    ("updated_at", Timestamptz, _plain(TimestamptzNow())),
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
    manager.add_table(
        class_name="BankStatement", tablename="bank_statement", schema=None, columns=None
    )
    _columns(manager, "BankStatement", "bank_statement", STATEMENT)
    statement = _stub("BankStatement", "bank_statement")
    manager.add_table(class_name="BankLine", tablename="bank_line", schema=None, columns=None)
    _columns(manager, "BankLine", "bank_line", _line_columns(statement))
    manager.add_table(
        class_name="BankCsvProfile", tablename="bank_csv_profile", schema=None, columns=None
    )
    _columns(manager, "BankCsvProfile", "bank_csv_profile", PROFILE)
    return manager
