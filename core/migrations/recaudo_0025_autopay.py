"""Autopay (issue #11): enrollments on saved instruments and the charges made on them.

``autopay_charge.key`` is unique on its own (it carries the tenant id), so no composite index
and no second migration are needed.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    JSON,
    BigInt,
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
Customer = _stub("Customer", "customer")
Payment = _stub("Payment", "payment")

ID = "2026-12-01T00:00:25:000000"
VERSION = "1.38.0"
DESCRIPTION = "autopay: enrollments and charges"


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
CUSTOMER = ("customer", ForeignKey, _fk(Customer, on_delete=OnDelete.cascade))

ENROLLMENT = [
    TENANT,
    CUSTOMER,
    ("plugin", Varchar, _plain("", length=50)),
    ("method", Varchar, _plain("", length=50)),
    ("provider_instrument_id", Varchar, _plain("", length=200)),
    ("provider_customer_id", Varchar, _plain("", length=120)),
    ("label", Varchar, _plain("", length=100)),
    ("expires", Varchar, _plain("", length=10)),
    ("scope", Varchar, _plain("both", length=20)),
    ("days_before_reminder", Integer, _plain(3)),
    ("status", Varchar, _plain("pending", length=20, index=True)),
    ("setup_token", Varchar, _plain("", length=64)),
    ("terms_version", Varchar, _plain("", length=20)),
    ("created_at", Timestamptz, _plain(TimestamptzNow())),
    ("updated_at", Timestamptz, _plain(TimestamptzNow())),
]


def _charge_columns(enrollment):
    return [
        TENANT,
        ("enrollment", ForeignKey, _fk(enrollment, on_delete=OnDelete.cascade)),
        CUSTOMER,
        ("target_kind", Varchar, _plain("", length=20)),
        ("target_id", BigInt, _plain(0, index=True)),
        ("invoice_ids", JSON, _plain("[]")),
        ("attempt", Integer, _plain(1)),
        ("key", Varchar, _plain("", length=120, unique=True)),
        ("payment", ForeignKey, _fk(Payment, null=True, on_delete=OnDelete.set_null)),
        ("currency", Varchar, _plain("", length=3)),
        ("amount", BigInt, _plain(0)),
        ("status", Varchar, _plain("planned", length=20, index=True)),
        ("scheduled_for", Timestamptz, _plain(TimestamptzNow(), index=True)),
        ("error", Varchar, _plain("", length=500)),
        ("claimed_at", Timestamptz, _plain(None, null=True)),
        ("created_at", Timestamptz, _plain(TimestamptzNow())),
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
        class_name="AutopayEnrollment", tablename="autopay_enrollment", schema=None, columns=None
    )
    _columns(manager, "AutopayEnrollment", "autopay_enrollment", ENROLLMENT)
    enrollment = _stub("AutopayEnrollment", "autopay_enrollment")
    manager.add_table(
        class_name="AutopayCharge", tablename="autopay_charge", schema=None, columns=None
    )
    _columns(manager, "AutopayCharge", "autopay_charge", _charge_columns(enrollment))
    return manager
