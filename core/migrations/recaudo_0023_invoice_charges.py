"""Promises and late fees (issue #11): ``invoice_charge``, the late fees added to invoices.

Its unique key (invoice, kind, period) and the move of open hardship promises to
``payment_promise`` are in ``recaudo_0023_1_promise_data`` (piccolo runs raw steps before it
creates tables).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    Serial,
    Timestamptz,
    Varchar,
)
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
Invoice = _stub("Invoice", "invoice")

ID = "2026-12-01T00:00:23:000000"
VERSION = "1.38.0"
DESCRIPTION = "promises and late fees: invoice charges"


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


COLUMNS = [
    ("tenant", ForeignKey, _fk(Tenant, on_delete=OnDelete.cascade)),
    ("invoice", ForeignKey, _fk(Invoice, on_delete=OnDelete.cascade)),
    ("kind", Varchar, _plain("late_fee", length=20)),
    ("period", Varchar, _plain("", length=20)),
    ("amount", BigInt, _plain(0)),
    ("currency", Varchar, _plain("", length=3)),
    ("base", BigInt, _plain(0)),
    ("rate_bp", Integer, _plain(0)),
    ("days_late", Integer, _plain(0)),
    ("reason", Varchar, _plain("", length=300)),
    ("created_at", Timestamptz, _plain(TimestamptzNow())),
    ("waived", Boolean, _plain(False)),
    ("waived_by", Varchar, _plain("", length=100)),
    ("waived_at", Timestamptz, _plain(None, null=True)),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)
    manager.add_table(
        class_name="InvoiceCharge", tablename="invoice_charge", schema=None, columns=None
    )
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="InvoiceCharge",
            tablename="invoice_charge",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
