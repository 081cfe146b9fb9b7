"""Money (issue #10): write_off, recurring_invoice, recurring_issue, invoice_attachment."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    BigInt,
    Bytea,
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
Invoice = _stub("Invoice", "invoice")
RecurringInvoice = _stub("RecurringInvoice", "recurring_invoice")

ID = "2026-12-01T00:00:19:000000"
VERSION = "1.38.0"
DESCRIPTION = "money: write-offs, recurring invoices and their issues, invoice attachments"


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

TABLES = {
    ("WriteOff", "write_off"): [
        TENANT,
        ("invoice", ForeignKey, _fk(Invoice)),
        ("customer", ForeignKey, _fk(Customer)),
        ("currency", Varchar, _plain("", length=3)),
        ("amount", BigInt, _plain(0)),
        ("reason", Varchar, _plain("", length=500)),
        ("actor", Varchar, _plain("", length=100)),
        ("created_at", Timestamptz, _plain(TimestamptzNow())),
    ],
    ("RecurringInvoice", "recurring_invoice"): [
        TENANT,
        ("customer", ForeignKey, _fk(Customer)),
        ("description", Varchar, _plain("", length=500)),
        ("currency", Varchar, _plain("", length=3)),
        ("amount", BigInt, _plain(0)),
        ("tax", BigInt, _plain(0)),
        ("interval", Varchar, _plain("monthly", length=10)),
        ("day_of_month", Integer, _plain(1)),
        ("next_issue_date", Date, _plain(DateNow(), index=True)),
        ("payment_terms_days", Integer, _plain(0)),
        ("number_prefix", Varchar, _plain("", length=40)),
        ("status", Varchar, _plain("active", length=20, index=True)),
        ("end_date", Date, _plain(None, null=True)),
        ("last_issued_at", Timestamptz, _plain(None, null=True)),
        ("issued_count", Integer, _plain(0)),
        ("last_error", Varchar, _plain("", length=500)),
        ("created_at", Timestamptz, _plain(TimestamptzNow())),
        ("updated_at", Timestamptz, _plain(TimestamptzNow())),
    ],
    ("RecurringIssue", "recurring_issue"): [
        TENANT,
        ("recurring", ForeignKey, _fk(RecurringInvoice, on_delete=OnDelete.cascade)),
        ("key", Varchar, _plain("", length=60, unique=True)),
        ("period", Date, _plain(DateNow())),
        ("invoice", ForeignKey, _fk(Invoice, null=True, index=False)),
        ("created_at", Timestamptz, _plain(TimestamptzNow())),
    ],
    ("InvoiceAttachment", "invoice_attachment"): [
        TENANT,
        ("invoice", ForeignKey, _fk(Invoice, on_delete=OnDelete.cascade)),
        ("filename", Varchar, _plain("", length=200)),
        ("content_type", Varchar, _plain("", length=100)),
        ("size", Integer, _plain(0)),
        ("sha256", Varchar, _plain("", length=64)),
        ("content", Bytea, _plain(b"")),
        ("uploaded_by", Varchar, _plain("", length=100)),
        ("created_at", Timestamptz, _plain(TimestamptzNow())),
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
