"""Team: one-time staff links (invitations, password resets, sign-ins waiting for their 2FA
code), staff TOTP secrets and the per-tenant team policy (core/access/staff_links.py, totp.py)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    JSON,
    BigInt,
    Boolean,
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


ID = "2026-12-01T00:00:18:000000"
VERSION = "1.38.0"
DESCRIPTION = "team: staff one-time links, staff TOTP, team policy"


def _fk(references, null, index, unique=False):
    return {
        "references": references,
        "on_delete": OnDelete.cascade,
        "on_update": OnUpdate.cascade,
        "target_column": None,
        "null": null,
        "primary_key": False,
        "unique": unique,
        "index": index,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }


def _plain(default, null=False, unique=False, **extra):
    return {
        "default": default,
        "null": null,
        "primary_key": False,
        "unique": unique,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **extra,
    }


TABLES = {
    ("StaffToken", "staff_token"): [
        ("tenant", ForeignKey, _fk(Tenant, null=False, index=True)),
        ("kind", Varchar, _plain("", length=10)),
        ("email", Varchar, _plain("", length=254)),
        ("role", Varchar, _plain("", length=20)),
        ("token_hash", Varchar, _plain("", unique=True, length=64)),
        ("expires_at", Timestamptz, _plain(TimestamptzNow())),
        ("used_at", Timestamptz, _plain(None, null=True)),
        ("created_by", Varchar, _plain("", length=100)),
        ("created_at", Timestamptz, _plain(TimestamptzNow())),
    ],
    ("StaffTotp", "staff_totp"): [
        ("tenant", ForeignKey, _fk(Tenant, null=False, index=True)),
        ("staff", ForeignKey, _fk(StaffUser, null=False, index=True, unique=True)),
        ("secret", Text, _plain("")),
        ("enabled", Boolean, _plain(False)),
        ("last_step", BigInt, _plain(0)),
        ("recovery", JSON, _plain("[]")),
        ("created_at", Timestamptz, _plain(TimestamptzNow())),
        ("enabled_at", Timestamptz, _plain(None, null=True)),
    ],
    ("TeamPolicy", "team_policy"): [
        ("tenant", ForeignKey, _fk(Tenant, null=False, index=True)),
        ("owners_require_2fa", Boolean, _plain(False)),
        ("checklist_dismissed", Boolean, _plain(False)),
        ("updated_at", Timestamptz, _plain(TimestamptzNow())),
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
