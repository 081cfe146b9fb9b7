"""Composite unique indexes (see ``UNIQUE_INDEXES`` in core/tables.py).

Kept apart from 0001 because Piccolo runs raw steps before it creates tables. Unique indexes,
unlike added constraints, work the same on SQLite and PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T00:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique indexes"


UNIQUE_INDEX_SQL = (
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_staff_user_tenant_email ON "staff_user" ("tenant", "email")',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_customer_tenant_number ON "customer" ("tenant", "number")',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_invoice_tenant_number ON "invoice" ("tenant", "number")',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_payment_tenant_idempotency_key ON "payment" ("tenant", "idempotency_key")',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_payment_method_provider_payment_id ON "payment" ("method", "provider_payment_id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_provider_event_tenant_plugin_event_key ON "provider_event" ("tenant", "plugin", "event_key")',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_outbox_job_tenant_key ON "outbox_job" ("tenant", "key")',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_plan_installment_plan_number ON "plan_installment" ("plan", "number")',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_plugin_setting_tenant_plugin ON "plugin_setting" ("tenant", "plugin")',
)



async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)

    async def create_unique_indexes() -> None:
        # Looked up on every run: the engine is whichever database is being migrated now.
        engine = engine_finder()
        for statement in UNIQUE_INDEX_SQL:
            await engine.run_ddl(statement)

    manager.add_raw(create_unique_indexes)
    return manager
