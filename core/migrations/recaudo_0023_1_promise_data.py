"""Promises and late fees (issue #11): one late fee per invoice, kind and period; open hardship
promises moved to ``payment_promise``.

Apart from 0023 because piccolo runs a migration's raw steps before its new tables exist. The
data step copies every open "No puedo pagar" promise (``hardship_request`` with outcome
``promise``) that has no ``payment_promise`` yet: amount = the customer's open balance in the
currency of their oldest open invoice (not disputed, not in a plan), those invoices covered.
Promises whose date already passed are copied with ``staff_told`` set: the check will mark them
kept or broken, but staff are not mailed about history. Running it twice copies nothing twice.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-01T00:00:23:500000"
VERSION = "1.38.0"
DESCRIPTION = "promises and late fees: unique charge periods, hardship promises to payment_promise"

_OPEN = "('open', 'partially_paid')"
_ELIGIBLE = (
    f"i.status IN {_OPEN} AND i.plan_id IS NULL AND i.disputed = FALSE "
    "AND i.customer = h.customer AND i.tenant = h.tenant"
)
_FIRST_CURRENCY = (
    f"(SELECT i.currency FROM invoice i WHERE {_ELIGIBLE} ORDER BY i.due_date, i.id LIMIT 1)"
)

STATEMENTS = (
    'CREATE UNIQUE INDEX IF NOT EXISTS uq_invoice_charge_invoice_kind_period ON "invoice_charge" '
    '("invoice", "kind", "period")',
    "INSERT INTO payment_promise (tenant, customer, currency, amount, promised_date, status, "
    "source, source_id, note, created_by, created_at, resolved_at, staff_told) "
    f"SELECT h.tenant, h.customer, COALESCE({_FIRST_CURRENCY}, t.currency), "
    f"COALESCE((SELECT SUM(i.total - i.amount_applied) FROM invoice i WHERE {_ELIGIBLE} "
    f"AND i.currency = {_FIRST_CURRENCY}), 0), "
    "h.promise_date, 'pending', 'hardship', h.id, SUBSTR(h.message, 1, 500), 'customer', "
    "h.created_at, NULL, h.promise_date < CURRENT_DATE "
    "FROM hardship_request h JOIN tenant t ON t.id = h.tenant "
    "WHERE h.outcome = 'promise' AND h.status = 'open' AND h.promise_date IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM payment_promise p WHERE p.tenant = h.tenant "
    "AND p.source = 'hardship' AND p.source_id = h.id)",
    "INSERT INTO promise_invoice (tenant, promise, invoice) "
    "SELECT p.tenant, p.id, i.id FROM payment_promise p "
    "JOIN hardship_request h ON h.id = p.source_id AND h.tenant = p.tenant "
    f"JOIN invoice i ON {_ELIGIBLE} AND i.currency = p.currency "
    "WHERE p.source = 'hardship' AND p.status = 'pending' "
    "AND NOT EXISTS (SELECT 1 FROM promise_invoice x WHERE x.promise = p.id)",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recaudo", description=DESCRIPTION)

    async def steps() -> None:
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(steps)
    return manager
