"""The scale-out path, for real: two web processes and a separate worker process sharing
PostgreSQL and Redis. A customer signs in, pays with the sandbox gateway, and the webhook that one
web process stores is relayed through Redis and applied by the worker process.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BROKER_URL, PG_URL

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.broker,
    pytest.mark.skipif(
        not (PG_URL and BROKER_URL),
        reason="needs RECAUDO_TEST_DATABASE_URL (PostgreSQL) and RECAUDO_TEST_BROKER_URL (Redis)",
    ),
]
SLUG = "ferreteria-norte"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _recaudo(*args: str) -> list[str]:
    return [sys.executable, "-m", "recaudo.cli", *args]


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    import asyncio

    import asyncpg
    import redis

    async def reset() -> None:
        conn = await asyncpg.connect(PG_URL)
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await conn.close()

    asyncio.run(reset())
    redis.Redis.from_url(BROKER_URL).flushdb()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "RECAUDO_DATABASE_URL": PG_URL,
        "RECAUDO_BROKER_URL": BROKER_URL,
        "RECAUDO_SECRET_KEY": "scale-out-" + "k" * 40,
        "RECAUDO_BASE_URL": base,
        "RECAUDO_ENV": "development",  # demo tenants and the dev outbox
        "RECAUDO_VAR_DIR": str(tmp_path),
    }
    for step in (("migrate",), ("demo",)):
        done = subprocess.run(_recaudo(*step), env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    logs = {name: (tmp_path / f"{name}.log").open("w") for name in ("web", "worker")}
    processes = [
        subprocess.Popen(
            _recaudo("serve", "--port", str(port), "--workers", "2"),
            env=env,
            stdout=logs["web"],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ),
        subprocess.Popen(
            _recaudo("worker", "--threads", "2"),
            env=env,
            stdout=logs["worker"],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ),
    ]
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        yield base, env
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        for log in logs.values():
            log.close()


def _payment_state(payment_id: int) -> tuple[str, list[str]]:
    import asyncio

    import asyncpg

    async def read() -> tuple[str, list[str]]:
        conn = await asyncpg.connect(PG_URL)
        try:
            status = await conn.fetchval("SELECT status FROM payment WHERE id = $1", payment_id)
            jobs = await conn.fetch(
                "SELECT status FROM outbox_job WHERE actor = 'process_provider_event'"
            )
            return str(status), [str(j["status"]) for j in jobs]
        finally:
            await conn.close()

    return asyncio.run(read())


def test_two_web_processes_and_a_worker_share_the_work(
    deployment: tuple[str, dict[str, str]],
) -> None:
    base, _env = deployment
    with httpx.Client(base_url=base, timeout=10) as web:
        web.get(f"/t/{SLUG}/")
        csrf = web.cookies["csrftoken"]
        sent = web.post(
            f"/t/{SLUG}/acceso", data={"contact": "maria.lopez@example.com", "_csrf_token": csrf}
        )
        assert sent.status_code == 200
        link = ""
        for _ in range(40):
            messages = web.get(
                "/dev/outbox", params={"format": "json", "to": "maria.lopez@example.com"}
            ).json()
            links = [u for m in messages for u in m["links"] if "/acceso/" in u]
            if links:
                link = links[0]
                break
            time.sleep(0.25)
        assert link, "the one-time link never reached the outbox"
        path = httpx.URL(link).path
        assert web.get(path).status_code == 200  # the confirm page does not consume the link
        signed_in = web.post(path, data={"_csrf_token": csrf}, follow_redirects=True)
        assert signed_in.status_code == 200 and "Estado de cuenta" in signed_in.text

        pay_page = web.get(f"/t/{SLUG}/pagar", params={"todo": "1"})
        assert pay_page.status_code == 200
        form: dict[str, list[str]] = {"metodo": ["sandbox"]}
        for name, value in HIDDEN.findall(pay_page.text):
            form.setdefault(name, []).append(value)
        started = web.post(f"/t/{SLUG}/pagar", data=form)
        assert started.status_code in (302, 303), started.text[:500]
        checkout = started.headers["location"]
        assert "/sandbox/checkout/" in checkout
        web.get(checkout)
        approved = web.post(checkout, data={"decision": "approve", "_csrf_token": csrf})
        assert approved.status_code == 303
        payment_id = int(approved.headers["location"].rstrip("/").rsplit("/", 1)[1])

    # Nobody looks at the result page: only the worker process can apply the webhook.
    status, jobs = "", []
    for _ in range(80):
        status, jobs = _payment_state(payment_id)
        if status == "approved" and jobs and all(j == "done" for j in jobs):
            break
        time.sleep(0.25)
    assert status == "approved"
    assert jobs == ["done"]
