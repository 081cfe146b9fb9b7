"""Benchmark: the customer statement page (50 open invoices) against a bare Litestar endpoint.

Both are served by the same server in the same run (``bench/serve.py``), so the ratio says what
Recaudo's page costs on top of the framework. Prints requests per second and p50/p99 latency for
each, and the ratio. Uses PostgreSQL when ``RECAUDO_BENCH_DATABASE_URL`` is set or a local server
answers on 127.0.0.1:5432, else SQLite.

The client behaves like a returning browser (session and CSRF cookies). A third line measures
the worst case: an invoice of the customer changes before every request, so no request can be
served from the statement cache (the bench process makes those writes on the same machine).

    .venv/bin/python bench/portal.py [--seconds 10] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
SLUG = "bench-statement"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pick_database(tmp: str) -> str:
    url = os.environ.get("RECAUDO_BENCH_DATABASE_URL")
    if url:
        return url
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 5432), timeout=1):
        return "postgresql://postgres@127.0.0.1:5432/recaudo_bench"
    return f"sqlite:///{tmp}/bench.sqlite3"


def csrf_cookie(port: int, path: str, cookie: str) -> str:
    """The CSRF cookie the first page sets; a browser sends it back on every later request."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as response:
        for header in response.headers.get_all("set-cookie") or []:
            if header.startswith("csrftoken="):
                return header.split(";", 1)[0]
    return ""


async def change_an_invoice() -> None:
    """Touch one of the customer's invoices, as a payment or a staff edit would."""
    from recaudo.core.tables import Invoice
    from recaudo.tenants.resolve import tenant_by_slug
    from recaudo.tenants.scoped import TenantScope

    global _touch
    if _touch is None:
        tenant = await tenant_by_slug(SLUG)
        assert tenant is not None
        scope = TenantScope(int(tenant.id))
        invoice = await scope.objects(Invoice).first()
        _touch = (scope, int(invoice.id))
    scope, invoice_id = _touch
    await scope.update(Invoice, {Invoice.description: secrets.token_hex(4)}).where(
        Invoice.id == invoice_id
    )


_touch: tuple[object, int] | None = None


async def prepare(url: str) -> str:
    """Fresh schema, one tenant, one customer with 50 open invoices, and a portal session."""
    from recaudo.core import db
    from recaudo.core.billing.customers import NewCustomer, create_customer
    from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
    from recaudo.core.tables import PortalSession
    from recaudo.demo import enable_default_plugins
    from recaudo.tenants.scoped import TenantScope
    from recaudo.tenants.service import NewTenant, create_tenant

    if url.startswith("postgresql"):
        import asyncpg

        admin = await asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres")
        name = url.rsplit("/", 1)[1]
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
    db.configure(url)
    with contextlib.redirect_stdout(io.StringIO()):
        await db.migrate()
    from recaudo.core.config import load_settings

    tenant = await create_tenant(
        NewTenant(SLUG, "Bench SA", "MX", "MXN", "es_MX", "America/Mexico_City")
    )
    scope = TenantScope(int(tenant.id))
    await enable_default_plugins(scope, load_settings())
    customer = await create_customer(
        scope, NewCustomer("B-1", "Cliente Bench", email="b@example.com"), "MX"
    )
    today = date.today()
    for i in range(50):
        await create_invoice(
            scope,
            NewInvoice(
                int(customer.id),
                f"B-{i:03d}",
                today - timedelta(days=100 - i),
                today - timedelta(days=70 - 2 * i),
                "MXN",
                (NewLine("Material", 1 + i % 3, 12_345 + i),),
                tax=1_000,
            ),
        )
    token = secrets.token_urlsafe(32)
    await scope.add(
        PortalSession(
            session_hash=hashlib.sha256(token.encode()).hexdigest(),
            kind="customer",
            subject_id=int(customer.id),
            csrf_token=secrets.token_hex(16),
            expires_at=datetime.now(UTC) + timedelta(hours=2),
        )
    )
    return token


async def load(
    port: int,
    path: str,
    cookie: str,
    seconds: float,
    connections: int,
    before: Callable[[], Awaitable[None]] | None = None,
) -> tuple[int, list[float], int]:
    """A minimal keep-alive HTTP/1.1 load generator (far lighter than a full client library)."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
        "Accept: text/html\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def one() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                if before is not None:
                    await before()
                start = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
                if status != 200:
                    errors += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*[one() for _ in range(connections)])
    elapsed = time.perf_counter() - began
    return int(len(latencies) / elapsed), latencies, errors


async def with_database(url: str, work: Awaitable[T]) -> T:
    """Run ``work`` with this process's database pool open (the change-maker needs it)."""
    from recaudo.core import db

    db.configure(url)
    await db.start_pool(max_size=16)
    try:
        return await work
    finally:
        global _touch
        _touch = None
        await db.close_pool()


def pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else float("nan")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="recaudo-bench-")
    url = pick_database(tmp)
    env = {
        **os.environ,
        "RECAUDO_DATABASE_URL": url,
        "RECAUDO_VAR_DIR": tmp,
        "RECAUDO_BROKER_URL": "embedded",
        "RECAUDO_SECRET_KEY": "bench-" + "k" * 40,
    }
    os.environ.update(env)
    token = asyncio.run(prepare(url))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "serve.py"), str(port)], env=env
    )
    try:
        for _ in range(100):
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=0.2),
            ):
                break
            time.sleep(0.1)
        page = f"/t/{SLUG}/estado-de-cuenta"
        cookie = f"recaudo_portal={token}"
        cookie = "; ".join(c for c in (cookie, csrf_cookie(port, page, cookie)) if c)
        asyncio.run(load(port, page, cookie, 1.0, 2))  # warm-up
        asyncio.run(load(port, "/bench/bare", cookie, 1.0, 2))
        results = {}
        runs: list[tuple[str, str, Callable[[], Awaitable[None]] | None]] = [
            ("bare endpoint", "/bench/bare", None),
            ("statement page", page, None),
            ("statement, changed before every request", page, change_an_invoice),
        ]
        for name, path, before in runs:
            rps, lat, errors = asyncio.run(
                with_database(url, load(port, path, cookie, args.seconds, args.connections, before))
            )
            results[name] = rps
            print(
                f"{name:41s} {rps:7d} req/s   p50 {pct(lat, 50):7.2f} ms"
                f"   p99 {pct(lat, 99):7.2f} ms"
                f"   non-200: {errors}"
            )
        ratio = results["statement page"] / max(1, results["bare endpoint"])
        print(
            f"database: {url.split('@')[-1]}; {args.connections} connections,"
            f" {args.seconds:.0f} s each"
        )
        print(f"ratio statement/bare: {ratio:.1%} (target ≥ 25% on PostgreSQL)")
        worst = results["statement, changed before every request"] / max(
            1, results["bare endpoint"]
        )
        print(f"ratio with no cache hits: {worst:.1%}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
