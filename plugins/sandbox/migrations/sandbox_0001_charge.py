"""``sandbox_charge``, created by the sandbox plugin itself (it used to be core migration 0003).

Databases migrated before the table moved out of core already have it (core's 0003, plus
``expires_at`` from core's 0007): ``CREATE TABLE IF NOT EXISTS`` adopts that table with its rows,
and a missing ``expires_at`` is added, so old and fresh databases end with the same table.
The table is frozen here as it was when this migration was written, not imported from
``tables.py``, so later changes to the model cannot change what this migration does.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import BigInt, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.engine import engine_finder
from piccolo.table import Table

ID = "2026-12-01T00:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "sandbox_charge (adopted from core's 0003 where it exists)"


class Tenant(Table, tablename="tenant"):
    pass


class SandboxCharge(Table, tablename="sandbox_charge"):
    tenant = ForeignKey(Tenant, on_delete=OnDelete.cascade, index=True, null=False)
    provider_id = Varchar(length=40, unique=True)
    our_payment_id = BigInt(index=True)
    currency = Varchar(length=3)
    amount = BigInt()
    amount_refunded = BigInt(default=0)
    status = Varchar(length=20, default="pending")
    notification_url = Varchar(length=500)
    return_url = Varchar(length=500)
    description = Varchar(length=300, default="")
    expires_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


async def _columns(engine: object) -> set[str]:
    if getattr(engine, "engine_type", "") == "sqlite":
        rows = await SandboxCharge.raw("PRAGMA table_info(sandbox_charge)").run()
    else:
        rows = await SandboxCharge.raw(
            "SELECT column_name AS name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = 'sandbox_charge'"
        ).run()
    return {r["name"] for r in rows}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="sandbox", description=DESCRIPTION)

    async def create_or_adopt() -> None:
        engine = engine_finder()
        for table in (Tenant, SandboxCharge):
            table._meta.db = engine
        await SandboxCharge.create_table(if_not_exists=True).run()
        if "expires_at" not in await _columns(engine):
            column = Timestamptz(null=True, default=None)
            await SandboxCharge.alter().add_column("expires_at", column).run()

    manager.add_raw(create_or_adopt)
    return manager
