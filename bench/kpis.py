"""Benchmark: the dashboard's KPI queries for a tenant with 1,000,000 invoices on PostgreSQL.

In one run, on one fresh PostgreSQL schema (the database's ``public`` schema is WIPED):

* loads with ``INSERT … SELECT generate_series`` one tenant with 100,000 customers (four segments,
  ten collectors) and 1,000,000 invoices issued over the last 400 days, due 30 days later: 60 %
  paid, 10 % partly paid, 1 % void, the rest open; one payment and one allocation per payment
  (~700,000 each), 30,000 write-offs, 20,000 promises (kept, broken, pending), dunning marks on
  200,000 invoices, 100,000 contacts sent and 100,000 bank lines matched to payments;
* times :func:`recaudo.core.workspace.kpis.kpi_report` with the dashboard's default filters (the
  90 days ending today), with a segment, with a collector, and with a past ``at`` (balances
  rebuilt from the ledger), each ``--runs`` times;
* baseline in the same run: the bare ``SELECT sum(total - amount_applied)`` of the tenant's
  invoices, the least any open-balance figure can cost.

Prints the median and p95 of each and their ratio to the baseline. Target: the default dashboard
under 500 ms. The URL comes from ``RECAUDO_BENCH_DATABASE_URL`` or ``RECAUDO_TEST_DATABASE_URL``.

    .venv/bin/python bench/kpis.py [--invoices 1000000] [--customers 100000] [--runs 7] [--reuse]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import io
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-kpis"
ZONE = "America/Mexico_City"
TARGET_MS = 500


def database_url() -> str:
    url = os.environ.get("RECAUDO_BENCH_DATABASE_URL") or os.environ.get(
        "RECAUDO_TEST_DATABASE_URL", ""
    )
    if not url.startswith(("postgresql://", "postgres://")):
        sys.exit(
            "set RECAUDO_BENCH_DATABASE_URL (or RECAUDO_TEST_DATABASE_URL) to a PostgreSQL URL"
        )
    return url


# Each statement takes $1 = tenant id, $2 = today (the tenant's), and what its comment says.
LOAD = (
    # $3 customers
    """INSERT INTO customer (tenant, number, name, created_at, segment, collector_id)
    SELECT $1, 'C-' || g, 'Cliente ' || g, now(),
        (ARRAY['mayoreo', 'menudeo', 'gobierno', ''])[1 + g % 4], 1 + g % 10
    FROM generate_series(1, $3) g WHERE $2::date IS NOT NULL""",
    # $3 invoices, $4 first customer id, $5 customers
    """INSERT INTO invoice (tenant, customer, number, issue_date, due_date, currency, subtotal,
        tax, total, amount_applied, status, created_at, updated_at)
    SELECT $1, $4 + g % $5, 'F-' || g, d, d + 30, 'MXN', t, 0, t,
        CASE WHEN g % 10 < 6 THEN t WHEN g % 10 = 6 THEN t / 3 ELSE 0 END,
        CASE WHEN g % 100 = 99 THEN 'void' WHEN g % 10 < 6 THEN 'paid'
             WHEN g % 10 = 6 THEN 'partially_paid' ELSE 'open' END,
        d + time '12:00', d + time '12:00'
    FROM (SELECT g, $2::date - (g % 400) AS d, (10 + (g::bigint * 7919) % 500)::int * 100 AS t
          FROM generate_series(1, $3) g) s""",
    # one payment per invoice with money applied, paid 0–44 days after issue (not after today)
    """INSERT INTO payment (tenant, customer, method, status, currency, amount,
        idempotency_key, created_at, updated_at)
    SELECT tenant, customer, 'banktransfer', 'succeeded', 'MXN', amount_applied,
        'bench-' || id, LEAST(issue_date + (id % 45), $2::date) + time '12:00',
        LEAST(issue_date + (id % 45), $2::date) + time '12:00'
    FROM invoice WHERE tenant = $1 AND amount_applied > 0""",
    """INSERT INTO allocation (tenant, payment, invoice, amount, reversed_amount, created_at)
    SELECT p.tenant, p.id, substr(p.idempotency_key, 7)::int, p.amount,
        CASE WHEN p.id % 200 = 0 THEN p.amount / 2 ELSE 0 END, p.created_at
    FROM payment p WHERE p.tenant = $1 AND $2::date IS NOT NULL""",
    # reversed halves put back on their invoices
    """UPDATE invoice i SET amount_applied = i.amount_applied - a.reversed_amount,
        status = 'partially_paid'
    FROM allocation a WHERE a.tenant = $1 AND a.invoice = i.id AND a.reversed_amount > 0
        AND $2::date IS NOT NULL""",
    # write-offs on 3 % of the open invoices, a week before today
    """INSERT INTO write_off (tenant, invoice, customer, currency, amount, reason, created_at)
    SELECT tenant, id, customer, 'MXN', total / 4, 'bench', ($2::date - 7) + time '12:00'
    FROM invoice WHERE tenant = $1 AND status = 'open' AND id % 100 < 10""",
    """UPDATE invoice i SET amount_applied = i.amount_applied + w.amount,
        status = 'partially_paid'
    FROM write_off w WHERE w.tenant = $1 AND w.invoice = i.id AND $2::date IS NOT NULL""",
    # promises over the last 200 days
    """INSERT INTO payment_promise (tenant, customer, currency, amount, promised_date, status,
        source, created_at)
    SELECT $1, customer, 'MXN', total, $2::date - (id % 200) + 5,
        (ARRAY['kept', 'broken', 'kept', 'pending'])[1 + id % 4], 'staff', now()
    FROM invoice WHERE tenant = $1 AND id % 50 = 3""",
    # a dunning policy with three stages, and marks on a fifth of the invoices
    """INSERT INTO dunning_policy (tenant, name, segment, active, created_at, updated_at)
    SELECT $1, 'Bench', '', true, now(), now() WHERE $2::date IS NOT NULL""",
    """INSERT INTO dunning_stage (tenant, policy, position, offset_days, name, created_at)
    SELECT $1, (SELECT max(id) FROM dunning_policy WHERE tenant = $1), s, s * 10,
        'Etapa ' || s, now()
    FROM generate_series(0, 2) s WHERE $2::date IS NOT NULL""",
    """INSERT INTO dunning_mark (tenant, invoice, stage, status, created_at)
    SELECT i.tenant, i.id, (SELECT min(id) FROM dunning_stage WHERE tenant = $1) + i.id % 3,
        'sent', (i.due_date + 2) + time '09:00'
    FROM invoice i WHERE i.tenant = $1 AND i.id % 5 = 0 AND i.due_date + 2 <= $2::date""",
    # contacts sent to customers over the last 400 days
    """INSERT INTO contact_attempt (tenant, customer, key, kind, channel, status, scheduled_for,
        sent_at, created_at, updated_at)
    SELECT $1, c.id, 'bench-' || g, 'reminder',
        (ARRAY['email', 'whatsapp', 'sms', 'phone'])[1 + g % 4], 'sent', t, t, t, t
    FROM (SELECT g, ($2::date - (g % 400)) + time '10:00' AS t FROM generate_series(1, $3) g) s
    JOIN customer c ON c.tenant = $1 AND c.number = 'C-' || (1 + s.g % $3)""",
    # bank lines matched to a seventh of the payments (5 in 6 by rules)
    """INSERT INTO bank_statement (tenant, format, currency, file_sha256, created_at)
    SELECT $1, 'csv', 'MXN', 'bench', now() WHERE $2::date IS NOT NULL""",
    """INSERT INTO bank_line (tenant, statement, line_no, key, booked_on, amount, currency, status,
        rule, customer, payment, applied_as, created_at)
    SELECT p.tenant, (SELECT max(id) FROM bank_statement WHERE tenant = $1), p.id, 'b' || p.id,
        p.created_at::date, p.amount, 'MXN', 'matched',
        CASE WHEN p.id % 6 = 0 THEN 'manual' ELSE 'reference' END, p.customer, p.id, 'payment',
        p.created_at
    FROM payment p WHERE p.tenant = $1 AND p.id % 7 = 0 AND $2::date IS NOT NULL""",
)


async def prepare(url: str, customers: int, invoices: int) -> tuple[Any, date, float]:
    import asyncpg

    from recaudo.core import db
    from recaudo.tenants.service import NewTenant, create_tenant

    conn = await asyncpg.connect(url)
    await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    await conn.close()
    db.configure(url)
    await db.start_pool()
    with contextlib.redirect_stdout(io.StringIO()):
        await db.migrate()
    tenant = await create_tenant(NewTenant(SLUG, "Bench KPIs", "MX", "MXN", "es_MX", ZONE))
    tid = int(tenant.id)
    today = datetime.now(ZoneInfo(ZONE)).date()
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        first = 0
        for k, sql in enumerate(LOAD):
            if k == 0:
                await conn.execute(sql, tid, today, customers)
                first = int(
                    await conn.fetchval("SELECT min(id) FROM customer WHERE tenant = $1", tid)
                )
            elif k == 1:
                await conn.execute(sql, tid, today, invoices, first, customers)
            elif "$3" in sql:
                await conn.execute(sql, tid, today, customers)
            else:
                await conn.execute(sql, tid, today)
        await conn.execute("VACUUM ANALYZE")
        loaded = time.perf_counter() - started
        counts = {
            t: await conn.fetchval(f"SELECT count(*) FROM {t} WHERE tenant = $1", tid)
            for t in ("invoice", "allocation", "payment_promise", "dunning_mark", "bank_line")
        }
    finally:
        await conn.close()
    print(", ".join(f"{n:,} {t}" for t, n in counts.items()))
    return tenant, today, loaded


async def measure(fn: Callable[[], Awaitable[Any]], runs: int) -> tuple[list[float], Any]:
    """``runs`` timings in ms after one warm-up run (whose result is returned)."""
    result = await fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def reuse(url: str) -> tuple[Any, date]:
    """The tenant an earlier run loaded (``--reuse``: time again without loading again)."""
    from recaudo.core import db
    from recaudo.tenants.models import Tenant

    db.configure(url)
    await db.start_pool()
    tenant = await Tenant.objects().where(Tenant.slug == SLUG).first()
    if tenant is None:
        sys.exit("nothing loaded yet: run once without --reuse")
    return tenant, datetime.now(ZoneInfo(ZONE)).date()


async def run(url: str, customers: int, invoices: int, runs: int, again: bool) -> None:
    from recaudo.core import db
    from recaudo.core.workspace.kpis import default_filters, kpi_report
    from recaudo.tenants.scoped import TenantScope

    if again:
        tenant, today = await reuse(url)
    else:
        tenant, today, loaded = await prepare(url, customers, invoices)
        print(f"loaded {customers:,} customers and {invoices:,} invoices in {loaded:.1f} s")
    scope = TenantScope(int(tenant.id))

    async def baseline() -> Any:
        return await scope.raw(
            "SELECT sum(total - amount_applied) AS s FROM invoice WHERE tenant = {tenant}"
        )

    base, _ = await measure(baseline, runs)
    base_ms = statistics.median(base)
    print(f"baseline  SELECT sum(total - amount_applied): median {base_ms:7.0f} ms")
    cases = (
        ("dashboard, default filters", default_filters(today)),
        ("segment 'mayoreo'", default_filters(today, segment="mayoreo")),
        ("collector 3", default_filters(today, collector_id=3)),
        ("past at (today - 60 days)", default_filters(today - timedelta(days=60))),
    )
    worst = 0.0
    for label, filters in cases:
        times, report = await measure(functools.partial(kpi_report, scope, filters, "MXN"), runs)
        median = statistics.median(times)
        if label.startswith("dashboard"):
            worst = max(worst, median)
        assert sum(b.amount for b in report.aging) == report.open_balance
        print(
            f"{label:28s} median {median:7.0f} ms  p95 {p95(times):7.0f} ms  "
            f"x{median / base_ms:5.1f} baseline  (DSO {report.dso}, CEI {report.cei}, "
            f"open {report.open_balance / 100:,.2f})"
        )
    verdict = "OK" if worst < TARGET_MS else "OVER TARGET"
    print(f"target: default dashboard under {TARGET_MS} ms: {verdict}")
    await db.close_pool()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="Time the data already loaded.")
    ns = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    asyncio.run(run(database_url(), ns.customers, ns.invoices, ns.runs, ns.reuse))


if __name__ == "__main__":
    main()
