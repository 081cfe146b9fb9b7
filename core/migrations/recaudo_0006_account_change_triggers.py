"""Triggers that log every write to what a statement shows into ``account_change``.

Kept apart from 0005 because Piccolo runs raw steps before it creates tables. Ledger rows are
never deleted (invoices are voided, credit is reversed with new entries), so inserts and
updates are what change a statement. SQLite needs one trigger per table and event; PostgreSQL
shares two functions.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T00:00:06:000000"
VERSION = "1.38.0"
DESCRIPTION = "account_change triggers"

# table -> SQL expression, over NEW, giving the customer whose statement changed
WATCHED = {
    "invoice": "NEW.customer",
    "payment": "NEW.customer",
    "credit_entry": "NEW.customer",
    "payment_plan": "NEW.customer",
    "plan_installment": "(SELECT p.customer FROM payment_plan p WHERE p.id = NEW.plan)",
}

INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_account_change_tenant_customer "
    'ON "account_change" ("tenant", "customer")'
)


def sqlite_statements() -> list[str]:
    out = []
    for table, customer in WATCHED.items():
        for event in ("INSERT", "UPDATE"):
            out.append(
                f"CREATE TRIGGER IF NOT EXISTS account_change_{table}_{event.lower()} "
                f'AFTER {event} ON "{table}" FOR EACH ROW WHEN {customer} IS NOT NULL BEGIN '
                f'INSERT INTO "account_change" ("tenant", "customer") '
                f"VALUES (NEW.tenant, {customer}); END"
            )
    return out


def postgres_statements() -> list[str]:
    out = []
    for name, customer in (("direct", "NEW.customer"), ("via_plan", WATCHED["plan_installment"])):
        out.append(
            f"CREATE OR REPLACE FUNCTION recaudo_account_change_{name}() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ DECLARE who bigint := {customer}; BEGIN "
            f"IF who IS NOT NULL THEN "
            f'INSERT INTO "account_change" ("tenant", "customer") VALUES (NEW.tenant, who); '
            f"END IF; RETURN NULL; END $$"
        )
    for table, customer in WATCHED.items():
        function = "via_plan" if table == "plan_installment" else "direct"
        out.append(f'DROP TRIGGER IF EXISTS account_change_{table} ON "{table}"')
        out.append(
            f'CREATE TRIGGER account_change_{table} AFTER INSERT OR UPDATE ON "{table}" '
            f"FOR EACH ROW EXECUTE PROCEDURE recaudo_account_change_{function}()"
        )
    return out


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)

    async def create_triggers() -> None:
        engine = engine_finder()
        statements = sqlite_statements() if engine.engine_type == "sqlite" else postgres_statements()
        for statement in [INDEX, *statements]:
            await engine.run_ddl(statement)

    manager.add_raw(create_triggers)
    return manager
