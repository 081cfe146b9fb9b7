"""A pytest plugin for plugin authors: ``pytest_plugins = ["recaudo.testing"]`` in a conftest.

It gives a plugin's own tests what the host would: a migrated SQLite database, a test tenant with
the plugin enabled (``recaudo_plugin_settings`` are its settings), the plugin's
:class:`~recaudo.api.PluginContext` for that tenant, a customer with open invoices, the messages
channels sent, and :func:`fake_http` to run a pretend provider on loopback. The conftest names the
plugin under test::

    @pytest.fixture
    def recaudo_plugin():
        return "acme_pay", recaudo_acme_pay   # the entry-point name and the module

Recaudo's own suite uses it too, so what authors rely on is tested with every change.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import pytest_asyncio

SECRET_KEY = "recaudo-testing-secret-key-" + "k" * 24
BASE_URL = "http://testserver"


# --- a pretend HTTP provider on loopback ------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FakeRequest:
    """One request the fake server received (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


@dataclasses.dataclass(frozen=True)
class FakeResponse:
    """What the fake answers; a dict or list body is sent as JSON, a str as HTML."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


FakeHandler = Callable[[FakeRequest], FakeResponse]


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 that hands every request to ``handler``.

    Real sockets, so the plugin's own HTTP client (timeouts, headers, redirects) is exercised,
    unlike a mocked transport. ``requests`` records what arrived, in order.
    """

    def __init__(self, handler: FakeHandler) -> None:
        self.handler = handler
        self.requests: list[FakeRequest] = []
        self._lock = threading.Lock()  # handlers run one at a time: fakes keep plain state
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._request_handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request_handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                request = FakeRequest(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query)),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                try:
                    with fake._lock:
                        fake.requests.append(request)
                        response = fake.handler(request)
                except Exception as exc:  # a broken fake should say so, not hang the test
                    response = FakeResponse(500, {"error": f"{type(exc).__name__}: {exc}"})
                body, ctype = _encode(response.body)
                self.send_response(response.status)
                headers = {"content-type": ctype, **response.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: pytest shows fake.requests when an assertion needs them

        return Handler


def _encode(body: Any) -> tuple[bytes, str]:
    if isinstance(body, dict | list):
        return json.dumps(body).encode(), "application/json"
    if isinstance(body, str):
        return body.encode(), "text/html; charset=utf-8"
    return bytes(body), "application/octet-stream"


@pytest.fixture
def fake_http() -> Iterator[Callable[[FakeHandler], FakeServer]]:
    """Start fake HTTP servers: ``server = fake_http(handler)``; ``server.url`` is its base URL.
    Every server is shut down when the test ends."""
    servers: list[FakeServer] = []

    def start(handler: FakeHandler) -> FakeServer:
        server = FakeServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


# --- the plugin under test ---------------------------------------------------------------------


@pytest.fixture
def recaudo_plugin() -> tuple[str, ModuleType]:
    """Override in your conftest: ``(entry-point name, plugin module)``."""
    raise pytest.UsageError(
        "define a 'recaudo_plugin' fixture returning (plugin name, plugin module) in conftest.py"
    )


@pytest.fixture
def recaudo_plugin_settings() -> dict[str, Any]:
    """Override to give the plugin's tenant settings (secrets included; stored encrypted)."""
    return {}


@pytest.fixture
def recaudo_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Development settings over a SQLite file in ``tmp_path`` (also exported as RECAUDO_*)."""
    from recaudo.core import config
    from recaudo.core.config import Settings

    url = f"sqlite:///{tmp_path}/recaudo.sqlite3"
    for key, value in {
        "RECAUDO_ENV": "development",
        "RECAUDO_DATABASE_URL": url,
        "RECAUDO_SECRET_KEY": SECRET_KEY,
        "RECAUDO_BASE_URL": BASE_URL,
        "RECAUDO_BROKER_URL": "embedded",
    }.items():
        monkeypatch.setenv(key, value)
    settings = Settings(
        env="development", database_url=url, secret_key=SECRET_KEY, base_url=BASE_URL
    )
    # The running configuration, as the web app or a worker would have it; undone after the test.
    monkeypatch.setattr(config, "_active", None)
    return config.activate(settings)


@pytest_asyncio.fixture
async def recaudo_database(recaudo_settings: Any) -> AsyncIterator[str]:
    """A freshly migrated database (plugin tables included); yields its URL."""
    from recaudo.core import db
    from recaudo.core.common.local_cache import clear_all

    db.configure(recaudo_settings.database_url)
    clear_all()
    await db.start_pool()
    with contextlib.redirect_stdout(io.StringIO()):
        await db.migrate()
    try:
        yield recaudo_settings.database_url
    finally:
        await db.close_pool()


@pytest.fixture
def recaudo_host(recaudo_plugin: tuple[str, ModuleType], recaudo_settings: Any) -> Iterator[Any]:
    """The plugin host: the built-in plugins, plus the plugin under test even if not installed."""
    from recaudo.core.platform.host import PluginHost, set_host

    name, module = recaudo_plugin
    host = PluginHost()
    host.load_entry_points()
    if name not in host.records:
        host.register(module, name=name, source="tests")
    record = host.records[name]
    if not record.ok:
        raise AssertionError(f"plugin {name} failed to load: {record.error}")
    set_host(host)
    host.hook.recaudo_startup(settings=recaudo_settings)
    yield host
    set_host(None)


@dataclasses.dataclass
class TestTenant:
    """A test tenant with the plugin under test (and the built-in email channel) enabled."""

    __test__ = False  # not a test class, despite the name

    info: Any  # recaudo.api.TenantInfo
    scope: Any  # the tenant's scoped storage

    @property
    def id(self) -> int:
        return int(self.info.id)

    @property
    def slug(self) -> str:
        return str(self.info.slug)


@pytest_asyncio.fixture
async def recaudo_tenant(
    recaudo_database: str,
    recaudo_host: Any,
    recaudo_plugin: tuple[str, ModuleType],
    recaudo_plugin_settings: dict[str, Any],
) -> TestTenant:
    from recaudo.tenants.plugin_config import set_plugin
    from recaudo.tenants.scoped import TenantScope
    from recaudo.tenants.service import NewTenant, create_tenant, tenant_info

    slug = "prueba-" + uuid.uuid4().hex[:6]
    tenant = await create_tenant(
        NewTenant(slug, "Tienda de Prueba", "MX", "MXN", "es_MX", "America/Mexico_City", True)
    )
    scope = TenantScope(int(tenant.id))
    name = recaudo_plugin[0]
    for plugin in dict.fromkeys(("email", "branding", name)):
        if plugin in recaudo_host.records:
            await set_plugin(
                scope,
                plugin,
                enabled=True,
                settings=recaudo_plugin_settings if plugin == name else None,
                secret_key=SECRET_KEY,
            )
    return TestTenant(tenant_info(tenant), scope)


@pytest_asyncio.fixture
async def plugin_context(recaudo_tenant: TestTenant, recaudo_plugin: tuple[str, ModuleType]) -> Any:
    """The plugin's context for the test tenant, exactly as the host builds it."""
    from recaudo.core.platform.context import context_for

    return await context_for(recaudo_tenant.id, recaudo_plugin[0])


@dataclasses.dataclass(frozen=True)
class TestCustomer:
    __test__ = False

    id: int
    name: str
    email: str
    phone: str
    invoice_ids: tuple[int, ...]
    balance: Any  # recaudo.api.Money


@pytest_asyncio.fixture
async def recaudo_customer(recaudo_tenant: TestTenant) -> TestCustomer:
    """A customer with an email, a phone and two open invoices ($1,000.00 overdue, $500.00 due)."""
    from recaudo.core.billing.customers import NewCustomer, create_customer
    from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
    from recaudo.core.common.money import Money

    tag = uuid.uuid4().hex[:6]
    customer = await create_customer(
        recaudo_tenant.scope,
        NewCustomer(f"C-{tag}", "Ana Pérez", email=f"ana.{tag}@example.com", phone="+525555550100"),
        "MX",
    )
    today = date.today()
    ids = []
    for i, (days_late, amount) in enumerate([(30, 100_000), (-5, 50_000)]):
        invoice = await create_invoice(
            recaudo_tenant.scope,
            NewInvoice(
                customer_id=int(customer.id),
                number=f"F-{tag}-{i}",
                issue_date=today - timedelta(days=days_late + 30),
                due_date=today - timedelta(days=days_late),
                currency="MXN",
                lines=(NewLine("Servicio", 1, amount),),
            ),
        )
        ids.append(int(invoice.id))
    return TestCustomer(
        int(customer.id),
        str(customer.name),
        str(customer.email),
        str(customer.phone),
        tuple(ids),
        Money("MXN", 150_000),
    )


# --- messages --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SentMessage:
    """A message the host handed to a channel, as it recorded it."""

    channel: str
    recipient: str
    subject: str
    text: str
    status: str  # sent | failed | waiting


class Notifications:
    """What the tenant's channels sent, oldest first (read from the host's notification log)."""

    def __init__(self, tenant: TestTenant) -> None:
        self.tenant = tenant

    async def all(self) -> list[SentMessage]:
        from recaudo.core.tables import NotificationLog as Log

        rows = await self.tenant.scope.select(
            Log, Log.channel, Log.recipient, Log.subject, Log.body_text, Log.status
        ).order_by(Log.id)
        return [
            SentMessage(r["channel"], r["recipient"], r["subject"], r["body_text"], r["status"])
            for r in rows
        ]

    async def send(
        self, customer: TestCustomer, subject: str, text: str, prefer: Iterable[str] = ()
    ) -> SentMessage | None:
        """Send a message to ``customer`` the way the host does (route, channel, log)."""
        from recaudo.core.messaging.notify import send_to_customer
        from recaudo.core.platform.values import OutgoingMessage
        from recaudo.core.tables import Customer

        row = await self.tenant.scope.get(Customer, customer.id)
        entry = await send_to_customer(
            self.tenant.scope,
            self.tenant.info,
            row,
            OutgoingMessage("", subject, text),
            secret_key=SECRET_KEY,
            prefer=tuple(prefer),
        )
        if entry is None:
            return None
        return SentMessage(
            str(entry.channel),
            str(entry.recipient),
            str(entry.subject),
            str(entry.body_text),
            str(entry.status),
        )


@pytest.fixture
def recaudo_notifications(recaudo_tenant: TestTenant) -> Notifications:
    return Notifications(recaudo_tenant)


# --- values ------------------------------------------------------------------------------------


def make_checkout(ctx: Any, amount: Any, **overrides: Any) -> Any:
    """A :class:`~recaudo.api.Checkout` as the host would build it for ``ctx``'s tenant."""
    from recaudo.api import Checkout

    payment_id = int(overrides.pop("payment_id", 1))
    slug = ctx.tenant.slug
    values: dict[str, Any] = {
        "tenant": ctx.tenant,
        "payment_id": payment_id,
        "idempotency_key": f"test-{payment_id}-{uuid.uuid4().hex[:8]}",
        "amount": amount,
        "description": "Pago de facturas",
        "customer_name": "Ana Pérez",
        "customer_email": "ana@example.com",
        "return_url": f"{BASE_URL}/t/{slug}/pagos/{payment_id}",
        "notification_url": f"{BASE_URL}/hooks/{ctx.plugin}/{slug}",
    }
    values.update(overrides)
    accepted = {f.name for f in dataclasses.fields(Checkout)}
    return Checkout(**{k: v for k, v in values.items() if k in accepted})


__all__ = [
    "FakeHandler",
    "FakeRequest",
    "FakeResponse",
    "FakeServer",
    "Notifications",
    "SentMessage",
    "TestCustomer",
    "TestTenant",
    "make_checkout",
]
