"""Checkouts expire: ``payment.expires_at``; and
``payment.requested_total``, what the chosen invoices owed when the customer chose them (money up
to it is for those invoices only; see ``core/payments/ledger.py: _allocate``).

Rows from before this migration keep ``expires_at`` NULL; readers and the sweep treat a pending
one as expired once ``created_at`` is older than the card checkout lifetime.

This migration also gave ``sandbox_charge`` its ``expires_at`` until the sandbox plugin took the
table over; its own migration adds the column where an older database lacks it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-23T00:00:07:100000"
VERSION = "1.38.0"
DESCRIPTION = "checkout expiry and the chosen invoices' total"


def _params(default: object, null: bool) -> dict[str, object]:
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


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Payment",
        tablename="payment",
        column_name="expires_at",
        db_column_name="expires_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params=_params(None, True),
        schema=None,
    )
    manager.add_column(
        table_class_name="Payment",
        tablename="payment",
        column_name="requested_total",
        db_column_name="requested_total",
        column_class_name="BigInt",
        column_class=BigInt,
        params=_params(0, False),
        schema=None,
    )
    return manager
