"""Benchmark: invoice ingestion rows per second, against PostgreSQL ``COPY`` of the same rows.

In one run, on one fresh PostgreSQL schema (the database's ``public`` schema is WIPED), with the
same N generated invoice rows (different numbers per method, same values):

(a) ``COPY`` of the rows, already in the invoice table's shape (customer ids, minor units), into
    ``invoice``: the baseline, what the database can take;
(b) the CLI import path: :func:`recaudo.core.billing.imports.run_import` on a CSV file, in process
    (read, check every row, look up customers, write invoices, their lines and outbox jobs);
(c) the bulk API ``POST /api/v1/invoices/bulk`` (1,000 per request) when it exists.

Prints rows/s for each and its ratio to ``COPY``. Target: the CLI import at ≥ 30 % of ``COPY``.
The URL comes from ``RECAUDO_BENCH_DATABASE_URL`` or ``RECAUDO_TEST_DATABASE_URL``.

    .venv/bin/python bench/ingest.py [--rows 50000] [--customers 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-ingest"
HEADER = [
    "number",
    "customer",
    "issue_date",
    "due_date",
    "currency",
    "amount",
    "tax",
    "description",
    "external_id",
]


def database_url() -> str:
    url = os.environ.get("RECAUDO_BENCH_DATABASE_URL") or os.environ.get(
        "RECAUDO_TEST_DATABASE_URL", ""
    )
    if not url.startswith(("postgresql://", "postgres://")):
        sys.exit(
            "set RECAUDO_BENCH_DATABASE_URL (or RECAUDO_TEST_DATABASE_URL) to a PostgreSQL URL"
        )
    return url


def rows(n: int, customers: int) -> list[dict[str, Any]]:
    """N invoices: the same values for every method (only the number's prefix differs)."""
    today = date(2026, 12, 1)
    out = []
    for i in range(n):
        cents = 10_000 + (i * 7919) % 500_000
        out.append(
            {
                "i": i,
                "customer": f"BC-{i % customers:05d}",
                "issue_date": today - timedelta(days=i % 90),
                "due_date": today + timedelta(days=30 - i % 90),
                "currency": "MXN",
                "amount": cents,
                "tax": cents * 16 // 100,
                "description": f"Servicio {i % 12 + 1}/2026",
                "external_id": f"ERP-{i}",
            }
        )
    return out


def major(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


async def prepare(url: str, customers: int) -> Any:
    import asyncpg

    from recaudo.core import db
    from recaudo.core.billing.customers import NewCustomer, create_customer
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
        NewTenant(SLUG, "Bench Ingest", "MX", "MXN", "es_MX", "America/Mexico_City")
    )
    scope = TenantScope(int(tenant.id))
    for c in range(customers):
        await create_customer(scope, NewCustomer(f"BC-{c:05d}", f"Cliente {c}"), "MX")
    return tenant


async def bench_copy(url: str, tenant_id: int, data: list[dict[str, Any]]) -> float:
    """(a) COPY into ``invoice``: rows in the table's shape, customers already resolved."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        ids = {
            r["number"]: r["id"]
            for r in await conn.fetch(
                "SELECT id, number FROM customer WHERE tenant = $1", tenant_id
            )
        }
        now = datetime.now(UTC)
        records = [
            (
                tenant_id,
                ids[r["customer"]],
                f"COPY-{r['i']}",
                r["issue_date"],
                r["due_date"],
                r["currency"],
                r["amount"],
                r["tax"],
                r["amount"] + r["tax"],
                0,
                "open",
                r["description"],
                r["external_id"],
                False,
                now,
                now,
            )
            for r in data
        ]
        columns = [
            "tenant",
            "customer",
            "number",
            "issue_date",
            "due_date",
            "currency",
            "subtotal",
            "tax",
            "total",
            "amount_applied",
            "status",
            "description",
            "external_id",
            "disputed",
            "created_at",
            "updated_at",
        ]
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table("invoice", records=records, columns=columns)
        return time.perf_counter() - started
    finally:
        await conn.close()


def write_csv(path: Path, data: list[dict[str, Any]], prefix: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for r in data:
            out.writerow(
                [
                    f"{prefix}-{r['i']}",
                    r["customer"],
                    r["issue_date"].isoformat(),
                    r["due_date"].isoformat(),
                    r["currency"],
                    major(r["amount"]),
                    major(r["tax"]),
                    r["description"],
                    f"{prefix}-{r['external_id']}",
                ]
            )


async def bench_cli(tenant: Any, path: Path) -> tuple[float, int]:
    """(b) The CLI's path: ``run_import`` on the CSV file (check, then write), in process."""
    from recaudo.core.billing.imports import run_import
    from recaudo.tenants.scoped import TenantScope

    started = time.perf_counter()
    result = await run_import(
        TenantScope(int(tenant.id)),
        "invoices",
        path,
        filename=path.name,
        default_country="MX",
        default_currency="MXN",
        actor="bench",
    )
    elapsed = time.perf_counter() - started
    if result.errors:
        raise SystemExit(f"CLI import failed: {result.errors[:3]}")
    return elapsed, result.imported


async def bench_bulk_api(url: str, data: list[dict[str, Any]]) -> tuple[float, int] | str:
    """(c) ``POST /api/v1/invoices/bulk``, 1,000 invoices per request, when it exists."""
    try:
        import httpx

        from recaudo.core.config import Settings
        from recaudo.web.app import create_asgi
    except ImportError as exc:  # pragma: no cover - dependencies of the app
        return f"not available ({exc})"
    env = {**os.environ, "RECAUDO_DATABASE_URL": url, "RECAUDO_ENV": "development"}
    made = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "recaudo.cli",
            "apikeys",
            "create",
            SLUG,
            "--scope",
            "write",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if made.returncode != 0:
        return "not available (no 'recaudo apikeys create')"
    try:
        created = json.loads(made.stdout)
    except ValueError:
        return "not available (unexpected 'recaudo apikeys create' output)"
    key = next((created[k] for k in ("key", "token", "secret", "api_key") if k in created), None)
    if not key:
        return "not available (no key in 'recaudo apikeys create --json')"
    settings = Settings(
        env="development",
        database_url=url,
        secret_key="bench-secret-" + "s" * 40,
        base_url="http://testserver",
    )
    app = create_asgi(settings, embedded_workers=False)
    transport = httpx.ASGITransport(app=app)
    headers = {"authorization": f"Bearer {key}", "x-api-key": str(key)}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        probe = await client.post("/api/v1/invoices/bulk", json={"invoices": []}, headers=headers)
        if probe.status_code in (404, 405):
            return "not available (no POST /api/v1/invoices/bulk)"
        ids: dict[str, int] = {}
        cursor = None
        while True:  # the API takes customer ids: read them once, untimed, as an ERP keeps them
            params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/v1/customers", params=params, headers=headers)).json()
            ids.update({c["number"]: c["id"] for c in page.get("data", [])})
            cursor = page.get("next")
            if not cursor:
                break
        payloads = [
            {
                "invoices": [
                    {
                        "customer_id": ids[r["customer"]],
                        "number": f"API-{r['i']}",
                        "issue_date": r["issue_date"].isoformat(),
                        "due_date": r["due_date"].isoformat(),
                        "currency": r["currency"],
                        "lines": [
                            {
                                "description": r["description"],
                                "quantity": 1,
                                "unit_amount": r["amount"],
                            }
                        ],
                        "tax": r["tax"],
                        "description": r["description"],
                        "external_id": f"API-{r['external_id']}",
                    }
                    for r in data[start : start + 1000]
                ]
            }
            for start in range(0, len(data), 1000)
        ]
        started = time.perf_counter()
        for body in payloads:
            response = await client.post("/api/v1/invoices/bulk", json=body, headers=headers)
            if response.status_code >= 300:
                return f"not available (HTTP {response.status_code}: {response.text[:200]})"
        return time.perf_counter() - started, len(data)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--customers", type=int, default=200)
    args = parser.parse_args()
    url = database_url()
    os.environ.setdefault("RECAUDO_VAR_DIR", tempfile.mkdtemp(prefix="recaudo-bench-"))
    sys.path.insert(0, str(ROOT))
    from recaudo.core import db

    tenant = await prepare(url, args.customers)
    data = rows(args.rows, args.customers)
    print(f"{args.rows} invoice rows, {args.customers} customers, PostgreSQL")
    copy_s = await bench_copy(url, int(tenant.id), data)
    copy_rate = args.rows / copy_s
    print(f"{'COPY into invoice':<28} {copy_rate:>10,.0f} rows/s  ({copy_s:.2f} s)  100%")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "invoices.csv"
        write_csv(path, data, "CLI")
        cli_s, imported = await bench_cli(tenant, path)
    cli_rate = imported / cli_s
    print(
        f"{'CLI import (run_import)':<28} {cli_rate:>10,.0f} rows/s  ({cli_s:.2f} s)  "
        f"{cli_rate / copy_rate:.0%} of COPY (target ≥ 30%)"
    )
    await db.close_pool()
    bulk = await bench_bulk_api(url, data)
    if isinstance(bulk, str):
        print(f"bulk API: {bulk}")
    else:
        bulk_s, count = bulk
        rate = count / bulk_s
        print(
            f"{'bulk API (1,000/request)':<28} {rate:>10,.0f} rows/s  ({bulk_s:.2f} s)  "
            f"{rate / copy_rate:.0%} of COPY"
        )


if __name__ == "__main__":
    asyncio.run(main())
