"""Issue 8 against a real ``recaudo serve`` (uvicorn, proxy headers on), on SQLite and PostgreSQL:
poisoned Host headers never reach a link, and simultaneous requests stay within the limits.

Like a load balancer on 127.0.0.1, the client names each request's address in X-Forwarded-For.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import DB_PARAMS, PG_URL

pytestmark = pytest.mark.slow
SLUG = "ferreteria-norte"
CUSTOMER = "maria.lopez@example.com"
STAFF = "admin@ferreteria-norte.example"


@dataclass
class Server:
    base: str
    port: int
    database: str

    def count(self, sql: str) -> int:
        if self.database.startswith("sqlite"):
            path = self.database.removeprefix("sqlite:///")
            with contextlib.closing(sqlite3.connect(path)) as conn:
                return int(conn.execute(sql).fetchone()[0])
        import asyncpg

        async def read() -> int:
            conn = await asyncpg.connect(self.database)
            try:
                return int(await conn.fetchval(sql))
            finally:
                await conn.close()

        return asyncio.run(read())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _recaudo(*args: str) -> list[str]:
    return [sys.executable, "-m", "recaudo.cli", *args]


# The suite's own database parameters: SQLite always, PostgreSQL when configured (the only skip,
# an environment condition with the suite's shared reason).
@pytest.fixture(params=DB_PARAMS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    if request.param == "sqlite":
        database = f"sqlite:///{tmp_path}/recaudo.sqlite3"
    else:
        import asyncpg

        async def reset() -> None:
            conn = await asyncpg.connect(PG_URL)
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
            await conn.close()

        asyncio.run(reset())
        database = PG_URL
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "RECAUDO_DATABASE_URL": database,
        "RECAUDO_BROKER_URL": "embedded",
        "RECAUDO_SECRET_KEY": "rate-limits-" + "k" * 40,
        "RECAUDO_BASE_URL": base,
        "RECAUDO_ENV": "development",  # demo tenants and the dev outbox
        "RECAUDO_VAR_DIR": str(tmp_path),
    }
    env.pop("RECAUDO_SMTP_URL", None)
    for step in (("migrate",), ("demo",)):
        done = subprocess.run(_recaudo(*step), env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
    log = (tmp_path / "web.log").open("w")
    process = subprocess.Popen(
        _recaudo("serve", "--port", str(port)),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(240):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.25)
        yield Server(base, port, database)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


async def _burst(
    server: Server, path: str, forms: list[tuple[str, dict[str, str]]], page: str
) -> list[int]:
    """POST every (address, form) at once, with one CSRF token taken from ``page``."""
    limits = httpx.Limits(max_connections=len(forms) + 1)
    async with httpx.AsyncClient(base_url=server.base, timeout=60, limits=limits) as c:
        await c.get(page, headers={"x-forwarded-for": "192.0.2.250"})
        token = str(c.cookies["csrftoken"])

        async def one(ip: str, form: dict[str, str]) -> int:
            response = await c.post(
                path, data={"_csrf_token": token, **form}, headers={"x-forwarded-for": ip}
            )
            assert response.status_code < 500, response.text
            return response.status_code

        return list(await asyncio.gather(*(one(ip, form) for ip, form in forms)))


def test_poisoned_host_headers_never_reach_a_link(server: Server) -> None:
    evil_hosts = [
        (f"/t/{SLUG}/acceso", f"127.0.0.1:{server.port}@evil.example"),
        ("/acceso", f"{SLUG}.127.0.0.1:{server.port}@evil.example"),
    ]
    with httpx.Client(base_url=server.base, timeout=30) as c:
        c.get(f"/t/{SLUG}/")
        token = str(c.cookies["csrftoken"])
        for path, host in evil_hosts:
            response = c.post(
                path,
                data={"_csrf_token": token, "contact": CUSTOMER},
                headers={"host": host, "x-forwarded-for": "192.0.2.1"},
            )
            assert response.status_code == 400, (host, response.status_code)
        forwarded = c.post(
            f"/t/{SLUG}/acceso",
            data={"_csrf_token": token, "contact": CUSTOMER},
            headers={"x-forwarded-host": "evil.example", "x-forwarded-for": "192.0.2.2"},
        )
        assert forwarded.status_code == 200
        time.sleep(1)  # the message is sent after the response
        outbox = c.get("/dev/outbox").text
    assert "evil.example" not in outbox
    assert f"{server.base}/t/{SLUG}/acceso/" in outbox
    assert server.count("SELECT COUNT(*) FROM magic_link") == 1


def test_simultaneous_requests_stay_within_the_limits(server: Server) -> None:
    portal = f"/t/{SLUG}/"
    staff = f"/t/{SLUG}/staff/login"
    per_contact = asyncio.run(
        _burst(
            server,
            f"/t/{SLUG}/acceso",
            [(f"10.9.0.{i + 1}", {"contact": CUSTOMER}) for i in range(30)],
            portal,
        )
    )
    assert per_contact.count(200) == 3 and per_contact.count(429) == 27
    assert server.count("SELECT COUNT(*) FROM magic_link") == 3

    per_ip = asyncio.run(
        _burst(
            server,
            f"/t/{SLUG}/acceso",
            [("10.9.1.1", {"contact": f"nadie{i}@example.com"}) for i in range(60)],
            portal,
        )
    )
    assert per_ip.count(200) == 20 and per_ip.count(429) == 40

    wrong = asyncio.run(
        _burst(
            server,
            staff,
            [(f"10.9.2.{i + 1}", {"email": STAFF, "password": f"mala-{i:04d}"}) for i in range(30)],
            staff,
        )
    )
    assert wrong.count(401) == 5 and wrong.count(429) == 25
    failed = "SELECT COUNT(*) FROM audit_event WHERE action = 'staff.login_failed'"
    assert server.count(failed) == 5

    one_ip = asyncio.run(
        _burst(
            server,
            staff,
            [
                ("10.9.3.1", {"email": f"x{i}@ferreteria-norte.example", "password": "x" * 12})
                for i in range(40)
            ],
            staff,
        )
    )
    assert one_ip.count(401) == 20 and one_ip.count(429) == 20
