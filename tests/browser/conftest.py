"""A live Recaudo server for browser tests: uvicorn on a free loopback port, in a thread.

The server runs ``create_asgi(settings)`` exactly as ``make run`` does, embedded workers included,
so the sandbox's signed webhook goes over a real socket to ``/hooks/sandbox/<tenant>`` and the
in-process worker applies it. The database is a fresh SQLite file with the demo tenants.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SECRET = "browser-tests-secret-" + "k" * 24


@dataclass(frozen=True)
class LiveServer:
    base_url: str


def _chromium_or_skip() -> str:
    path = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else "")
    if not path:
        pytest.skip("Debian chromium is missing (/usr/bin/chromium): apt-get install -y chromium")
    return path


async def _prepare(url: str, settings: object) -> None:
    from recaudo.core import db
    from recaudo.demo import seed_demo

    db.configure(url)
    with contextlib.redirect_stdout(io.StringIO()):
        await db.migrate()
    await seed_demo(settings)  # type: ignore[arg-type]


def _wait_for_start_up_jobs(url: str, limit_s: float = 90) -> None:
    """Let the in-process workers finish what seeding the demo queued (sealing the Mexican
    tenant's CFDIs, their payment complements) before a browser clicks: on a loaded 2-core box
    that work, sharing the server's process and SQLite file, made the first sign-in of a module
    miss its wait. Jobs waiting to be retried do not hold this up; after ``limit_s`` we go on."""
    import sqlite3

    from recaudo.core.db import sqlite_path

    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(sqlite_path(url), timeout=5)) as conn:
            (waiting,) = conn.execute(
                "SELECT count(*) FROM outbox_job WHERE status IN ('pending', 'sent') "
                "AND attempts = 0"
            ).fetchone()
        if not waiting:
            return
        time.sleep(0.25)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import uvicorn

    import recaudo.plugins.sandbox.routes as sandbox_routes
    from recaudo.core.config import Settings
    from recaudo.core.platform.host import PluginHost, set_host
    from recaudo.web.app import create_asgi
    from tests.smtp import free_port

    _chromium_or_skip()
    port = free_port()
    url = f"sqlite:///{tmp_path_factory.mktemp('live')}/recaudo.sqlite3"
    base = f"http://127.0.0.1:{port}"
    settings = Settings(env="development", database_url=url, secret_key=SECRET, base_url=base)
    previous_secret = os.environ.get("RECAUDO_SECRET_KEY")
    os.environ["RECAUDO_SECRET_KEY"] = SECRET  # the worker's handlers read it from the env
    host = PluginHost()
    host.load_entry_points()
    set_host(host)
    sandbox_routes.transport = None  # real HTTP to the live server
    asyncio.run(_prepare(url, settings))
    app = create_asgi(settings, host)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the live server did not start"
    _wait_for_start_up_jobs(url)
    try:
        yield LiveServer(base)
    finally:
        server.should_exit = True
        thread.join(15)
        set_host(None)
        if previous_secret is None:
            os.environ.pop("RECAUDO_SECRET_KEY", None)
        else:
            os.environ["RECAUDO_SECRET_KEY"] = previous_secret


@pytest.fixture(scope="module")
def browser(live_server: LiveServer) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    path = _chromium_or_skip()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=path,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield instance
        finally:
            instance.close()
