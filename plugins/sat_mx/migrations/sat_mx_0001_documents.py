"""``sat_document`` and ``sat_folio`` with their unique indexes.

The tables are frozen here as they were when this migration was written (not imported from
``tables.py``). The unique indexes make issuing idempotent (one document per tenant and key),
a fiscal UUID unique per tenant, and one folio counter per tenant and series.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import (
    JSON,
    BigInt,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.engine import engine_finder
from piccolo.table import Table

ID = "2026-12-01T00:13:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "sat_document and sat_folio"


class Tenant(Table, tablename="tenant"):
    pass


class SatDocument(Table, tablename="sat_document"):
    tenant = ForeignKey(Tenant, on_delete=OnDelete.cascade, index=True, null=False)
    key = Varchar(length=200)
    kind = Varchar(length=10)
    type_code = Varchar(length=1)
    status = Varchar(length=20, default="pending")
    uuid = Varchar(length=36, default="")
    series = Varchar(length=25, default="")
    folio = Varchar(length=40, default="")
    invoice_id = BigInt(null=True, default=None, index=True)
    payment_id = BigInt(null=True, default=None, index=True)
    customer_id = BigInt(null=True, default=None)
    invoice_ids = JSON(default="[]")
    details = JSON(default="[]")
    total = BigInt(default=0)
    currency = Varchar(length=3, default="MXN")
    payment_terms = Varchar(length=3, default="")
    xml = Text(default="")
    issued_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    cancel_reason = Varchar(length=2, default="")
    replaces = Varchar(length=36, default="")
    replaced_by = Varchar(length=36, default="")
    error = Text(default="")
    pac = Varchar(length=20, default="")
    created_at = Timestamptz()


class SatFolio(Table, tablename="sat_folio"):
    tenant = ForeignKey(Tenant, on_delete=OnDelete.cascade, index=True, null=False)
    series = Varchar(length=25)
    next = Integer(default=1)


INDEXES = (
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_sat_document_tenant_key ON "sat_document" '
    '("tenant", "key")',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_sat_document_tenant_uuid ON "sat_document" '
    '("tenant", "uuid") WHERE "uuid" <> \'\'',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_sat_folio_tenant_series ON "sat_folio" '
    '("tenant", "series")',
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="sat_mx", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        for table in (Tenant, SatDocument, SatFolio):
            table._meta.db = engine
        await SatDocument.create_table(if_not_exists=True).run()
        await SatFolio.create_table(if_not_exists=True).run()
        for statement in INDEXES:
            await engine.run_ddl(statement)

    manager.add_raw(create)
    return manager
