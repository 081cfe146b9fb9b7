"""Contacts (issue #11): unique keys of contact attempts and promised invoices.

Separate from 0020 because piccolo runs a migration's raw statements before its new tables exist.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-01T00:00:21:000000"
VERSION = "1.38.0"
DESCRIPTION = "contacts: unique indexes"

STATEMENTS = (
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_contact_attempt_tenant_key ON "contact_attempt" '
    '("tenant", "key")',
    'CREATE INDEX IF NOT EXISTS ix_contact_attempt_customer_sent ON "contact_attempt" '
    '("customer", "sent_at")',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_promise_invoice_promise_invoice ON "promise_invoice" '
    '("promise", "invoice")',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_dunning_mark_invoice_stage ON "dunning_mark" '
    '("invoice", "stage")',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_dunning_policy_tenant_segment ON "dunning_policy" '
    '("tenant", "segment")',
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)

    async def indexes() -> None:
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(indexes)
    return manager
