"""Shared fixtures: a migrated database per test (SQLite always, PostgreSQL when configured).

Set ``RECAUDO_TEST_DATABASE_URL=postgresql://…`` to run every database test a second time on
PostgreSQL (``.ci/run`` does), and ``RECAUDO_TEST_BROKER_URL=redis://…`` for the broker tests.
"""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from recaudo.core import db
from recaudo.core.common.local_cache import clear_all
from recaudo.core.config import Settings
from recaudo.core.platform import guard
from recaudo.core.platform.host import PluginHost, set_host
from recaudo.plugins.sandbox import routes as sandbox_routes
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import NewTenant, create_tenant

# The fixtures plugin authors get (fake_http, recaudo_tenant…): the suite tests them too.
pytest_plugins = ["recaudo.testing"]

# Under ``pytest -n`` (``make test`` runs one worker per core) each worker is its own process
# with its own PostgreSQL database and Redis database, so that no worker resets another's data.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _worker_postgres(url: str) -> str:
    """The given database for a lone run; ``<name>_gw<N>`` (created when missing) for worker N."""
    if not url or not WORKER:
        return url
    import asyncio

    import asyncpg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_{WORKER}"

    async def create() -> None:
        conn = await asyncpg.connect(url)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return urlunsplit(parts._replace(path=f"/{name}"))


def _worker_redis(url: str) -> str:
    """Redis database N below the given one for worker N (the broker tests flush theirs)."""
    if not url or not WORKER or not url.startswith("redis"):
        return url
    parts = urlsplit(url)
    base = int(parts.path.lstrip("/") or 0)
    index = int(WORKER.removeprefix("gw") or 0)
    return urlunsplit(parts._replace(path=f"/{(base - index) % 16}"))


PG_URL = _worker_postgres(os.environ.get("RECAUDO_TEST_DATABASE_URL", ""))
BROKER_URL = _worker_redis(os.environ.get("RECAUDO_TEST_BROKER_URL", ""))

DB_PARAMS = [pytest.param("sqlite", id="sqlite")]
DB_PARAMS.append(
    pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                not PG_URL, reason="PostgreSQL not configured (set RECAUDO_TEST_DATABASE_URL)"
            ),
        ],
    )
)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything imported so far lives as long as the run: out of the garbage collector's sight,
    its full collections (frequent, as every test builds an app) stay short."""
    import gc

    gc.collect()
    gc.freeze()


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [
        "recaudo databases: sqlite"
        + (" + postgresql" if PG_URL else " (PostgreSQL: not set, skipped)"),
        "recaudo broker: embedded"
        + (
            f" + {urlsplit(BROKER_URL).scheme}"
            if BROKER_URL
            else " (Redis/RabbitMQ: not set, skipped)"
        ),
    ]
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        reasons: dict[str, int] = {}
        for rep in skipped:
            reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
            reasons[reason] = reasons.get(reason, 0) + 1
        terminalreporter.write_sep("-", "what was skipped and why")
        for reason, n in sorted(reasons.items()):
            terminalreporter.write_line(f"{n:4d} × {reason}")


async def _reset_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


# Migrating from nothing costs seconds (every migration of core and the plugins); the suite has
# over a thousand database tests. Each database is migrated once per set of plugin apps (and per
# test worker); each test gets a copy. Fresh migrations keep their own tests (test_plugin_*,
# test_migrations, test_schema_matches).
_SQLITE_TEMPLATES: dict[tuple[str, ...], Path] = {}


def _apps_key() -> tuple[str, ...]:
    """Which plugins bring tables: the hook implementations themselves, not the apps they build
    (``plugin_apps`` imports each app's module, a tenth of a test's time when run per test)."""
    from recaudo.core.platform.host import get_host

    impls = get_host().pm.hook.recaudo_piccolo_app.get_hookimpls()
    return tuple(
        sorted(f"{i.plugin_name}:{i.function.__module__}.{i.function.__qualname__}" for i in impls)
    )


async def _migrate_quietly() -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        await db.migrate()


async def _fresh_sqlite(folder: Path, factory: pytest.TempPathFactory) -> str:
    import shutil
    import sqlite3

    key = _apps_key()
    template = _SQLITE_TEMPLATES.get(key)
    if template is None:
        template = factory.mktemp("migrated") / "recaudo.sqlite3"
        db.configure(f"sqlite:///{template}")
        await _migrate_quietly()
        with sqlite3.connect(template) as conn:  # everything into the main file before copying
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _SQLITE_TEMPLATES[key] = template
    target = folder / "recaudo.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


_PG_TEMPLATES: dict[tuple[str, ...], str] = {}


async def _fresh_postgres(url: str) -> None:
    """PostgreSQL gets the same treatment as SQLite: a database migrated once per set of plugin
    apps is the template of a new database for every test (``CREATE DATABASE … TEMPLATE``, a
    few tens of milliseconds). Emptying the tables instead was tried: with autovacuum off, as on
    this machine, the dead rows of every test piled up and the suite slowed as it ran."""
    import asyncpg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        key = _apps_key()
        template = _PG_TEMPLATES.get(key)
        if template is None:
            template = f"{name}_tpl{len(_PG_TEMPLATES)}"
            await admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{template}"')
            db.configure(urlunsplit(parts._replace(path=f"/{template}")))
            await db.start_pool()
            try:
                await _migrate_quietly()
            finally:
                await db.close_pool()
            _PG_TEMPLATES[key] = template
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()


@pytest.fixture(params=DB_PARAMS)
async def database(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A freshly migrated database; yields its URL. The engine is attached to every table."""
    if request.param == "sqlite":
        url = await _fresh_sqlite(tmp_path, tmp_path_factory)
    else:
        url = PG_URL
        await _fresh_postgres(url)
    db.configure(url)
    clear_all()  # ids restart in a fresh database: nothing cached from the last one may match
    guard.reset()  # nor a plugin failure queued for the last one
    await db.start_pool()
    try:
        yield url
    finally:
        await db.close_pool()


@pytest.fixture
def host() -> Iterator[PluginHost]:
    """A plugin host with the installed (built-in) plugins loaded from entry points."""
    h = PluginHost()
    h.load_entry_points()
    set_host(h)
    yield h
    set_host(None)


async def make_tenant(
    slug: str, country: str = "MX", currency: str = "MXN", test: bool = False
) -> Tenant:
    """A tenant; ``test=True`` makes it a test tenant (the only kind the sandbox serves)."""
    locale = {"MX": "es_MX", "CO": "es_CO", "CL": "es_CL"}.get(country, "es_MX")
    tz = {"MX": "America/Mexico_City", "CO": "America/Bogota", "CL": "America/Santiago"}.get(
        country, "America/Mexico_City"
    )
    return await create_tenant(NewTenant(slug, slug.title(), country, currency, locale, tz, test))


@pytest.fixture
async def two_tenants(database: str) -> tuple[TenantScope, TenantScope]:
    a = await make_tenant("alfa-" + uuid.uuid4().hex[:6])
    b = await make_tenant("beta-" + uuid.uuid4().hex[:6], "CO", "COP")
    return TenantScope(int(a.id)), TenantScope(int(b.id))


@pytest.fixture
def settings(database: str) -> Settings:
    return Settings(
        env="development",
        database_url=database,
        secret_key="test-secret-" + "s" * 40,
        base_url="http://testserver",
    )


@pytest.fixture
async def client(settings: Settings, host: PluginHost) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the full ASGI app in-process (jobs are run by the test)."""
    from tests.apps import asgi_app

    app = asgi_app(settings, host)
    host.results("recaudo_startup", settings=settings)
    transport = httpx.ASGITransport(app=app)
    sandbox_routes.transport = transport
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
    sandbox_routes.transport = None


def collect(ids: list[int]) -> Callable[[int, str], None]:
    """A relay ``send`` that only collects job ids (the test runs them itself)."""
    return lambda job_id, _name: ids.append(job_id)


async def drain_jobs(max_rounds: int = 20) -> list[str]:
    """Relay and run outbox jobs until none is left, as the worker would; returns their results."""
    from recaudo.workers.jobs import run_job
    from recaudo.workers.relay import relay_once

    results: list[str] = []
    for _ in range(max_rounds):
        sent: list[int] = []
        await relay_once(collect(sent))
        if not sent:
            break
        for job_id in sent:
            results.append(await run_job(job_id))
    return results


def csrf_of(client: httpx.AsyncClient) -> str:
    return client.cookies.get("csrftoken") or ""
