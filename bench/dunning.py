"""Benchmark: one reminder sweep decision over 1,000,000 open invoices on PostgreSQL.

In one run, on one fresh PostgreSQL schema (the database's ``public`` schema is WIPED):

* bulk-loads N customers (two segments with their own policy) and M open invoices with due dates
  spread over ±100 days, with ``INSERT … SELECT generate_series``; a steady state is simulated by
  marking 95 % of the invoices as having had their current stage (what earlier sweeps leave), and
  1 % are under a pending promise;
* baseline: ``SELECT count(*)`` over the same tenant's open invoices;
* the decision: :func:`recaudo.core.collections.sweep.due_invoices` (the one SQL statement plus
  turning its rows into values), and the statement alone counted in the database
  (``SELECT count(*) FROM (decision)``, no rows shipped), also with no marks at all (the first
  sweep of a tenant: every invoice is due for a stage).

Prints each time and its ratio to the baseline. Target: the decision under 10 s.
The URL comes from ``RECAUDO_BENCH_DATABASE_URL`` or ``RECAUDO_TEST_DATABASE_URL``.

    .venv/bin/python bench/dunning.py [--invoices 1000000] [--customers 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-dunning"
TODAY = date(2026, 12, 9)


def database_url() -> str:
    url = os.environ.get("RECAUDO_BENCH_DATABASE_URL") or os.environ.get(
        "RECAUDO_TEST_DATABASE_URL", ""
    )
    if not url.startswith(("postgresql://", "postgres://")):
        sys.exit(
            "set RECAUDO_BENCH_DATABASE_URL (or RECAUDO_TEST_DATABASE_URL) to a PostgreSQL URL"
        )
    return url


async def prepare(url: str, customers: int, invoices: int) -> Any:
    import asyncpg

    from recaudo.core import db
    from recaudo.core.collections.policies import DEFAULT_STAGES, ensure_default_policy
    from recaudo.core.tables import DunningPolicy, DunningStage
    from recaudo.tenants.scoped import TenantScope
    from recaudo.tenants.service import NewTenant, create_tenant

    conn = await asyncpg.connect(url)
    await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    await conn.close()
    db.configure(url)
    await db.start_pool()
    with contextlib.redirect_stdout(io.StringIO()):
        await db.migrate()
    tenant = await create_tenant(
        NewTenant(SLUG, "Bench Dunning", "CO", "COP", "es_CO", "America/Bogota")
    )
    tid = int(tenant.id)
    scope = TenantScope(tid)
    await ensure_default_policy(scope)
    now = time.time()
    stamp = datetime.fromtimestamp(now, UTC)
    policy = DunningPolicy(name="Empresas", segment="empresas", active=True)
    policy.created_at = policy.updated_at = stamp  # type: ignore[assignment]
    pid = await scope.add_unless_exists(policy)
    for position, stage in enumerate(DEFAULT_STAGES[1:]):
        await scope.add(
            DunningStage(
                policy=pid,
                position=position,
                offset_days=stage.offset_days,
                name=stage.name,
                channels=list(stage.channels),
                templates={},
                action=stage.action,
                fallback=True,
                created_at=stamp,
            )
        )
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        await conn.execute(
            """
            INSERT INTO customer (tenant, number, name, tax_id, tax_country, email, phone,
                preferred_channel, locale, consents, payment_reference, created_at, segment,
                timezone, tags)
            SELECT $1, 'BC-' || g, 'Cliente ' || g, '', 'CO', 'c' || g || '@example.com', '',
                'email', '', '{"channels": ["email"]}', '', now(),
                CASE WHEN g % 4 = 0 THEN 'empresas' ELSE '' END, '', ''
            FROM generate_series(1, $2) g
            """,
            tid,
            customers,
        )
        first = await conn.fetchval("SELECT min(id) FROM customer WHERE tenant = $1", tid)
        await conn.execute(
            """
            INSERT INTO invoice (tenant, customer, number, issue_date, due_date, currency,
                subtotal, tax, total, amount_applied, status, description, external_id, disputed,
                plan_id, einvoice_backend, einvoice_uuid, einvoice_status, einvoice_xml,
                created_at, updated_at)
            SELECT $1, $2 + (g % $3), 'F-' || g, $4::date - 130 + (g % 200),
                $4::date - 100 + (g % 200), 'COP', 100000, 0, 100000,
                CASE WHEN g % 10 = 0 THEN 30000 ELSE 0 END,
                CASE WHEN g % 10 = 0 THEN 'partially_paid' ELSE 'open' END, '', NULL,
                g % 97 = 0, NULL, '', '', '', '', now(), now()
            FROM generate_series(1, $5) g
            """,
            tid,
            first,
            customers,
            TODAY,
            invoices,
        )
        # 1 % of the invoices under a pending promise (source_id carries the invoice id).
        await conn.execute(
            """
            INSERT INTO payment_promise (tenant, customer, currency, amount, promised_date,
                status, source, source_id, note, created_by, created_at, resolved_at, staff_told)
            SELECT tenant, customer, 'COP', 100000, $2::date + 10, 'pending', 'staff', id,
                '', '', now(), NULL, false
            FROM invoice WHERE tenant = $1 AND id % 100 = 7
            """,
            tid,
            TODAY,
        )
        await conn.execute(
            """
            INSERT INTO promise_invoice (tenant, promise, invoice)
            SELECT tenant, id, source_id FROM payment_promise WHERE tenant = $1
            """,
            tid,
        )
        await conn.execute("ANALYZE")
        loaded = time.perf_counter() - started
    finally:
        await conn.close()
    return tenant, loaded


async def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await fn()
    return time.perf_counter() - started, result


async def run(url: str, customers: int, invoices: int) -> None:
    from recaudo.core import db
    from recaudo.core.collections.policies import load_policies
    from recaudo.core.collections.sweep import decision_sql, due_invoices
    from recaudo.tenants.scoped import TenantScope

    tenant, loaded = await prepare(url, customers, invoices)
    scope = TenantScope(int(tenant.id))
    print(f"loaded {customers:,} customers and {invoices:,} open invoices in {loaded:.1f} s")
    policies = await load_policies(scope)
    sql, args = decision_sql(policies, TODAY)

    async def baseline() -> Any:
        return await scope.raw(
            "SELECT count(*) AS n FROM invoice WHERE tenant = {tenant} "
            "AND status IN ('open', 'partially_paid')"
        )

    async def counted() -> Any:
        return await scope.raw(f"SELECT count(*) AS n FROM ({sql}) q", *args)

    await baseline()  # warm the cache for both
    base_s, base = await timed(baseline)
    first_s, first = await timed(counted)
    # Steady state: earlier sweeps marked 95 % of the invoices at their current stage.
    mark_started = time.perf_counter()
    import asyncpg

    every_s, every = await timed(lambda: due_invoices(scope, policies, TODAY))
    stamp = datetime.now(UTC)
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "dunning_mark",
            records=[
                (scope.tenant_id, d.invoice_id, d.stage_id, None, "sent", stamp)
                for d in every
                if d.invoice_id % 20 != 0
            ],
            columns=["tenant", "invoice", "stage", "contact", "status", "created_at"],
        )
        await conn.execute("ANALYZE dunning_mark")
    finally:
        await conn.close()
    marked = time.perf_counter() - mark_started - every_s
    steady_s, steady = await timed(counted)
    decide_s, due = await timed(lambda: due_invoices(scope, policies, TODAY))
    n_base = int(base[0]["n"])
    print(f"baseline  SELECT count(*) of {n_base:,} open invoices: {base_s * 1000:8.0f} ms")
    for label, seconds, rows in (
        ("first sweep, statement only (all due)", first_s, int(first[0]["n"])),
        ("first sweep, due_invoices() incl. rows", every_s, len(every)),
        ("steady state, statement only", steady_s, int(steady[0]["n"])),
        ("steady state, due_invoices() incl. rows", decide_s, len(due)),
    ):
        print(
            f"{label:42s} {seconds * 1000:8.0f} ms  {rows:>9,} due  "
            f"x{seconds / base_s:5.1f} baseline"
        )
    print(f"(marking 95 % as already sent took {marked:.1f} s)")
    verdict = "OK" if max(first_s, every_s, decide_s) < 10 else "OVER TARGET"
    print(f"target: decision under 10 s: {verdict}")
    await db.close_pool()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    ns = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    asyncio.run(run(database_url(), ns.customers, ns.invoices))


if __name__ == "__main__":
    main()
