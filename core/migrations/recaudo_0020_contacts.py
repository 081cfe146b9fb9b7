"""Contacts (issue #11): the record of every collection contact, promises to pay, and what the
channels need to follow a message (provider id, delivery status) and a customer's time zone."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    JSON,
    BigInt,
    Boolean,
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
Invoice = _stub("Invoice", "invoice")
NotificationLog = _stub("NotificationLog", "notification_log")
DunningPolicy = _stub("DunningPolicy", "dunning_policy")
DunningStage = _stub("DunningStage", "dunning_stage")
ContactAttemptStub = _stub("ContactAttempt", "contact_attempt")

ID = "2026-12-01T00:00:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "contacts: contact attempts, promises to pay, delivery tracking, customer time zone"


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
    ("DunningPolicy", "dunning_policy"): [
        TENANT,
        ("name", Varchar, _plain("", length=100)),
        ("segment", Varchar, _plain("", length=40)),
        ("active", Boolean, _plain(True)),
        ("created_at", Timestamptz, _plain(TimestamptzNow())),
        ("updated_at", Timestamptz, _plain(TimestamptzNow())),
    ],
    ("DunningStage", "dunning_stage"): [
        TENANT,
        ("policy", ForeignKey, _fk(DunningPolicy, on_delete=OnDelete.cascade)),
        ("position", Integer, _plain(0)),
        ("offset_days", Integer, _plain(0)),
        ("name", Varchar, _plain("", length=100)),
        ("channels", JSON, _plain("[]")),
        ("templates", JSON, _plain("{}")),
        ("action", Varchar, _plain("", length=30)),
        ("fallback", Boolean, _plain(True)),
        ("created_at", Timestamptz, _plain(TimestamptzNow())),
    ],
    ("ContactAttempt", "contact_attempt"): [
        TENANT,
        ("customer", ForeignKey, _fk(Customer, on_delete=OnDelete.cascade)),
        ("key", Varchar, _plain("", length=200)),
        ("kind", Varchar, _plain("reminder", length=30)),
        ("stage", BigInt, _plain(None, null=True)),
        ("invoice_ids", JSON, _plain("[]")),
        ("channel", Varchar, _plain("", length=30)),
        ("status", Varchar, _plain("planned", length=20, index=True)),
        ("scheduled_for", Timestamptz, _plain(TimestamptzNow(), index=True)),
        ("rule", Varchar, _plain("", length=200)),
        ("reason", Varchar, _plain("", length=500)),
        (
            "notification",
            ForeignKey,
            _fk(NotificationLog, null=True, index=False, on_delete=OnDelete.set_null),
        ),
        ("provider_id", Varchar, _plain("", length=120)),
        ("error", Varchar, _plain("", length=500)),
        ("attempts", Integer, _plain(0)),
        ("claimed_at", Timestamptz, _plain(None, null=True)),
        ("sent_at", Timestamptz, _plain(None, null=True)),
        ("created_at", Timestamptz, _plain(TimestamptzNow())),
        ("updated_at", Timestamptz, _plain(TimestamptzNow())),
    ],
    ("PaymentPromise", "payment_promise"): [
        TENANT,
        ("customer", ForeignKey, _fk(Customer, on_delete=OnDelete.cascade)),
        ("currency", Varchar, _plain("", length=3)),
        ("amount", BigInt, _plain(0)),
        ("promised_date", Date, _plain(DateNow(), index=True)),
        ("status", Varchar, _plain("pending", length=20, index=True)),
        ("source", Varchar, _plain("", length=30)),
        ("source_id", BigInt, _plain(None, null=True)),
        ("note", Varchar, _plain("", length=500)),
        ("created_by", Varchar, _plain("", length=100)),
        ("created_at", Timestamptz, _plain(TimestamptzNow())),
        ("resolved_at", Timestamptz, _plain(None, null=True)),
        ("staff_told", Boolean, _plain(False)),
    ],
}

COLUMNS = {
    ("NotificationLog", "notification_log"): [
        ("provider_id", Varchar, _plain("", length=120, index=True)),
        ("kind", Varchar, _plain("", length=30)),
        ("contact", BigInt, _plain(None, null=True, index=True)),
        ("delivery_status", Varchar, _plain("", length=20)),
        ("error", Varchar, _plain("", length=500)),
    ],
    ("Customer", "customer"): [
        ("timezone", Varchar, _plain("", length=64)),
    ],
}


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
    for (class_name, tablename), columns in TABLES.items():
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        _columns(manager, class_name, tablename, columns)
    PaymentPromise = _stub("PaymentPromise", "payment_promise")
    manager.add_table(class_name="DunningMark", tablename="dunning_mark", schema=None, columns=None)
    _columns(
        manager,
        "DunningMark",
        "dunning_mark",
        [
            TENANT,
            ("invoice", ForeignKey, _fk(Invoice, on_delete=OnDelete.cascade)),
            ("stage", ForeignKey, _fk(DunningStage, on_delete=OnDelete.cascade)),
            (
                "contact",
                ForeignKey,
                _fk(ContactAttemptStub, null=True, on_delete=OnDelete.set_null),
            ),
            ("status", Varchar, _plain("sent", length=20)),
            ("created_at", Timestamptz, _plain(TimestamptzNow())),
        ],
    )
    manager.add_table(
        class_name="PromiseInvoice", tablename="promise_invoice", schema=None, columns=None
    )
    _columns(
        manager,
        "PromiseInvoice",
        "promise_invoice",
        [
            TENANT,
            ("promise", ForeignKey, _fk(PaymentPromise, on_delete=OnDelete.cascade)),
            ("invoice", ForeignKey, _fk(Invoice, on_delete=OnDelete.cascade)),
        ],
    )
    for (class_name, tablename), columns in COLUMNS.items():
        _columns(manager, class_name, tablename, columns)
    return manager
