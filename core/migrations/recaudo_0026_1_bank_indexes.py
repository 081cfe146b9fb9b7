"""Bank reconciliation (issue #12): the unique indexes that make importing idempotent.

A statement file once per tenant, a movement once per tenant (``key``), a payment on one line
at most (NULLs are distinct on both databases), a CSV layout name once per tenant. Apart from
0026 because piccolo runs a migration's raw steps before its new tables exist.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-01T00:00:26:500000"
VERSION = "1.38.0"
DESCRIPTION = "bank reconciliation: unique indexes"

STATEMENTS = (
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_bank_statement_tenant_sha ON "bank_statement" '
    '("tenant", "file_sha256")',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_bank_line_tenant_key ON "bank_line" ("tenant", "key")',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_bank_line_payment ON "bank_line" ("payment")',
    'CREATE INDEX IF NOT EXISTS ix_bank_line_tenant_status ON "bank_line" ("tenant", "status")',
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_bank_csv_profile_tenant_name ON "bank_csv_profile" '
    '("tenant", "name")',
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)

    async def indexes() -> None:
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(indexes)
    return manager
