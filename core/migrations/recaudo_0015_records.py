"""Back-office records: a customer's ``segment`` and ``tags``, staff notes on customers
(``customer_note``) and credit notes on invoices (``credit_note``).

``tags`` is one text column holding the customer's tags lowercased between commas
(``,vip,pago tardío,``), so a tag filter is a portable ``LIKE '%,vip,%'`` on SQLite and
PostgreSQL alike.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    BigInt,
    ForeignKey,
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


class Customer(Table, tablename="customer", schema=None):
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


class Invoice(Table, tablename="invoice", schema=None):
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


ID = "2026-12-01T00:00:15:000000"
VERSION = "1.38.0"
DESCRIPTION = "records: customer segment and tags, customer_note, credit_note"


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


def _fk(references, on_delete, null=False, index=True):
    return _params(
        None,
        null=null,
        index=index,
        references=references,
        on_delete=on_delete,
        on_update=OnUpdate.cascade,
        target_column=None,
    )


def _add(manager, class_name, tablename, columns):
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
    _add(
        manager,
        "Customer",
        "customer",
        [
            ("segment", Varchar, _params("", length=40, index=True)),
            ("tags", Varchar, _params("", length=500)),
        ],
    )
    manager.add_table(
        class_name="CustomerNote", tablename="customer_note", schema=None, columns=None
    )
    _add(
        manager,
        "CustomerNote",
        "customer_note",
        [
            ("tenant", ForeignKey, _fk(Tenant, OnDelete.cascade)),
            ("customer", ForeignKey, _fk(Customer, OnDelete.cascade)),
            ("author", ForeignKey, _fk(StaffUser, OnDelete.set_null, null=True, index=False)),
            ("body", Text, _params("")),
            ("created_at", Timestamptz, _params(TimestamptzNow())),
        ],
    )
    manager.add_table(class_name="CreditNote", tablename="credit_note", schema=None, columns=None)
    _add(
        manager,
        "CreditNote",
        "credit_note",
        [
            ("tenant", ForeignKey, _fk(Tenant, OnDelete.cascade)),
            ("invoice", ForeignKey, _fk(Invoice, OnDelete.restrict)),
            ("number", Varchar, _params("", length=80)),
            ("amount", BigInt, _params(0)),
            ("currency", Varchar, _params("", length=3)),
            ("reason", Varchar, _params("", length=500)),
            ("created_by", Varchar, _params("", length=100)),
            ("created_at", Timestamptz, _params(TimestamptzNow())),
        ],
    )
    return manager
