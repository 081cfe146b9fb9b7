"""A plugin that raises or hangs never breaks a page nor stops the other plugins; staff see it.

One test per hook kind (branding, template folders, routes, payment options, channels, settings
schema, start-up, events), each with a plugin that raises and, where a hang is possible, one that
hangs. Plugins are registered explicitly on the test's host and enabled for the tenant.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import get

from recaudo.core import db
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.common.money import Money
from recaudo.core.hookspecs import hookimpl
from recaudo.core.payments.method import Fee, PaymentMethod
from recaudo.core.platform import guard
from recaudo.core.platform.context import PluginContext
from recaudo.core.platform.extensions import NotificationChannel
from recaudo.core.platform.host import PluginHost
from recaudo.core.platform.values import (
    Branding,
    DeliveryResult,
    InvoiceEvent,
    OutgoingMessage,
    PluginSettingsSchema,
    SettingField,
    TenantInfo,
)
from recaudo.core.tables import StaffUser
from recaudo.tenants.models import PluginFailure
from recaudo.tenants.plugin_config import schema_of, set_plugin
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import NewTenant, create_tenant
from tests.conftest import drain_jobs, make_tenant
from tests.portal_support import Env, login, open_env, post_form

PASSWORD = "una clave larga 123"
HOSTILE = "<script>alert('plugin')</script>"

# Released when a test ends, so a "hung" plugin thread finishes instead of lingering.
release = threading.Event()


def hang() -> None:
    release.wait(10)


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Short timeouts so a hang costs the test a fraction of a second."""
    monkeypatch.setattr(guard, "TIMEOUTS", {**guard.TIMEOUTS, "default": 0.3, "send": 0.3})
    monkeypatch.setitem(guard.TIMEOUTS, "recaudo_startup", 0.3)
    monkeypatch.setitem(guard.TIMEOUTS, "recaudo_invoice_event", 0.3)
    release.clear()
    yield
    release.set()


async def failures(plugin: str) -> list[dict[str, Any]]:
    await guard.flush()
    return list(
        await PluginFailure.select()
        .where(PluginFailure.plugin == plugin)
        .order_by(PluginFailure.hook)
    )


async def enable(scope: TenantScope, *plugins: str) -> None:
    for plugin in plugins:
        await set_plugin(scope, plugin, enabled=True)


# --- the guard itself -----------------------------------------------------------------------------


def test_a_hung_sync_call_is_abandoned_and_then_skipped_until_the_cool_down_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(guard, "COOLDOWN", 1.0)
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        hang()
        return "late"

    started = time.monotonic()
    assert guard.call("slowpoke", "recaudo_branding", slow, fallback="default") == "default"
    assert time.monotonic() - started < 2
    # Cooling down (and still running): answered at once, the plugin is not called again.
    started = time.monotonic()
    assert guard.call("slowpoke", "recaudo_branding", slow, fallback="default") == "default"
    assert time.monotonic() - started < 0.1 and len(calls) == 1
    release.set()  # the hung call ends; the cool-down too, a moment later
    time.sleep(1.1)
    assert guard.call("slowpoke", "recaudo_branding", lambda: "fresh", fallback="x") == "fresh"
    guard.reset()


async def test_watch_records_and_reraises(database: str) -> None:
    with pytest.raises(ZeroDivisionError):
        async with guard.watch("divider", "start_checkout", tenant_id=None):
            1 / 0  # noqa: B018
    with pytest.raises(guard.PluginTimeout):
        async with guard.watch("sleeper", "start_checkout", limit=0.05):
            await asyncio.sleep(5)
    assert [r["message"] for r in await failures("divider")] == [
        "ZeroDivisionError: division by zero"
    ]
    [row] = await failures("sleeper")
    assert row["hook"] == "start_checkout" and "no answer" in row["message"]


# --- branding -------------------------------------------------------------------------------------


class RaisingTheme:
    @hookimpl
    def recaudo_branding(self, ctx: PluginContext) -> Branding:
        raise RuntimeError(HOSTILE)


class HangingTheme:
    @hookimpl
    def recaudo_branding(self, ctx: PluginContext) -> Branding:
        hang()
        return Branding(display_name="Too late")


class WrongTheme:
    @hookimpl
    def recaudo_branding(self, ctx: PluginContext) -> Any:
        return {"display_name": "a dict, not a Branding"}


@pytest.mark.parametrize("theme", [RaisingTheme, HangingTheme, WrongTheme])
async def test_a_broken_branding_plugin_falls_back_to_the_next_one(
    client: httpx.AsyncClient, host: PluginHost, theme: type
) -> None:
    host.register(theme(), name="theme", source="test")
    tenant = await create_tenant(
        NewTenant("marca", "Marca Propia", "MX", "MXN"), branding={"tagline": "Hecho en casa"}
    )
    scope = TenantScope(int(tenant.id))
    await enable(scope, "branding", "theme")
    page = await client.get("/t/marca/")
    assert page.status_code == 200
    assert "Hecho en casa" in page.text  # the built-in branding plugin answered instead
    [row] = await failures("theme")
    assert row["hook"] == "recaudo_branding" and row["tenant"] == tenant.id


# --- template folders -----------------------------------------------------------------------------


class RaisingTemplates:
    @hookimpl
    def recaudo_template_dirs(self) -> list[str]:
        raise OSError("templates gone")


class HangingTemplates:
    @hookimpl
    def recaudo_template_dirs(self) -> list[str]:
        hang()
        return []


class GoodTemplates:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @hookimpl
    def recaudo_template_dirs(self) -> list[str]:
        return [str(self.folder)]


@pytest.mark.parametrize("broken", [RaisingTemplates, HangingTemplates])
async def test_a_broken_template_plugin_leaves_the_others_folders(
    settings: Any, host: PluginHost, broken: type, tmp_path: Path
) -> None:
    from recaudo.core.messaging.rendering import plugin_template_dirs

    (tmp_path / "extra.html").write_text("otra plantilla")
    host.register(broken(), name="brokentpl", source="test")
    host.register(GoodTemplates(tmp_path), name="goodtpl", source="test")
    assert str(tmp_path) in plugin_template_dirs()
    async with app_client(settings) as c:
        assert (await c.get("/health")).status_code == 200
    [row] = await failures("brokentpl")
    assert row["hook"] == "recaudo_template_dirs" and row["tenant"] is None


# --- routes ---------------------------------------------------------------------------------------


@get("/plugin-ok", name="plugin_ok", operation_id="plugin_ok", sync_to_thread=False)
def plugin_ok() -> str:
    return "ok from a plugin"


class RaisingRoutes:
    @hookimpl
    def recaudo_routes(self) -> list[Any]:
        raise ImportError("no litestar for me")


class UnmountableRoutes:
    @hookimpl
    def recaudo_routes(self) -> list[Any]:
        return ["not a route handler"]


class HangingRoutes:
    @hookimpl
    def recaudo_routes(self) -> list[Any]:
        hang()
        return []


class GoodRoutes:
    @hookimpl
    def recaudo_routes(self) -> list[Any]:
        return [plugin_ok]


@pytest.mark.parametrize("broken", [RaisingRoutes, UnmountableRoutes, HangingRoutes])
async def test_a_broken_routes_plugin_leaves_the_others_mounted(
    settings: Any, host: PluginHost, broken: type
) -> None:
    host.register(broken(), name="brokenroutes", source="test")
    host.register(GoodRoutes(), name="goodroutes", source="test")
    async with app_client(settings) as c:
        assert (await c.get("/plugin-ok")).text == "ok from a plugin"
    [row] = await failures("brokenroutes")
    assert row["hook"] == "recaudo_routes" and row["tenant"] is None


# --- payment options ------------------------------------------------------------------------------


class Flaky(PaymentMethod):
    """A payment method whose ``broken`` call raises and ``hung`` call hangs."""

    name = "flaky"
    label = "Pago Inestable"
    options = (("uno", "Opción Uno"),)

    def __init__(self, broken: str = "", hung: str = "") -> None:
        self.broken, self.hung = broken, hung

    def _maybe(self, call: str) -> None:
        if call == self.broken:
            raise ValueError(f"{call} exploded")
        if call == self.hung:
            hang()

    def available_for(self, tenant: TenantInfo, currency: str) -> bool:
        self._maybe("available_for")
        return True

    def options_for(self, tenant: TenantInfo) -> tuple[tuple[str, str], ...]:
        self._maybe("options_for")
        return self.options

    def fees(self, amount: Money, settings: dict[str, Any]) -> list[Fee]:
        self._maybe("fees")
        return [Fee("Comisión inestable", Money(amount.currency, 1_234))]


class FlakyPlugin:
    def __init__(self, method: PaymentMethod) -> None:
        self.method = method

    @hookimpl
    def recaudo_payment_methods(self) -> list[PaymentMethod]:
        return [self.method]


class RaisingMethods:
    @hookimpl
    def recaudo_payment_methods(self) -> list[PaymentMethod]:
        raise RuntimeError("no methods today")


@pytest.fixture
async def env(database: str, host: PluginHost) -> AsyncIterator[Env]:
    e = await open_env(database)
    await login(e.client, e.shop, e.customer)
    yield e
    await e.client.aclose()


async def pay_page(env: Env) -> str:
    ids = env.invoice_ids()
    page = await env.client.get(f"{env.shop.prefix}/pagar?factura={ids[0]}")
    assert page.status_code == 200, page.text
    return page.text


@pytest.mark.parametrize("kind", ["raises", "hangs"])
async def test_a_method_whose_availability_fails_is_left_out_of_the_pay_page(
    env: Env, host: PluginHost, kind: str
) -> None:
    method = Flaky(broken="available_for") if kind == "raises" else Flaky(hung="available_for")
    host.register(FlakyPlugin(method), name="flaky", source="test")
    host.register(RaisingMethods(), name="nomethods", source="test")
    await enable(env.shop.scope, "flaky", "nomethods")
    page = await pay_page(env)
    assert "Pago Inestable" not in page
    assert 'value="sandbox"' in page and 'value="banktransfer"' in page
    assert [r["hook"] for r in await failures("flaky")] == ["available_for"]
    assert [r["hook"] for r in await failures("nomethods")] == ["recaudo_payment_methods"]


@pytest.mark.parametrize("kind", ["raises", "hangs"])
async def test_failing_fees_and_options_leave_the_method_on_the_page_without_them(
    env: Env, host: PluginHost, kind: str
) -> None:
    if kind == "raises":
        method = Flaky(broken="fees")
    else:
        method = Flaky(hung="fees")
    host.register(FlakyPlugin(method), name="flaky", source="test")
    await enable(env.shop.scope, "flaky")
    page = await pay_page(env)
    assert "Pago Inestable" in page and "Opción Uno" in page
    assert "Comisión inestable" not in page
    assert [r["hook"] for r in await failures("flaky")] == ["fees"]

    method.broken, method.hung = "options_for", ""
    page = await pay_page(env)
    assert "Pago Inestable" in page and "Opción Uno" not in page
    assert "fees" in [r["hook"] for r in await failures("flaky")]
    assert "options_for" in [r["hook"] for r in await failures("flaky")]


# --- channels -------------------------------------------------------------------------------------


class BrokenChannel(NotificationChannel):
    name = "pager"
    label = "Pager"

    def __init__(self, hangs: bool) -> None:
        self.hangs = hangs

    async def send(self, ctx: PluginContext, message: OutgoingMessage) -> DeliveryResult:
        if self.hangs:
            await asyncio.sleep(30)
        raise ConnectionError("pager network down")


class PagerPlugin:
    def __init__(self, hangs: bool) -> None:
        self.channel = BrokenChannel(hangs)

    @hookimpl
    def recaudo_notification_channels(self) -> list[NotificationChannel]:
        return [self.channel]


@pytest.mark.parametrize("hangs", [False, True], ids=["raises", "hangs"])
async def test_a_failing_channel_hands_the_message_to_the_next_one(
    settings: Any, host: PluginHost, hangs: bool
) -> None:
    from recaudo.core.messaging.notify import send_to_customer
    from recaudo.tenants.service import tenant_info

    host.register(PagerPlugin(hangs), name="pager", source="test")
    host.results("recaudo_startup", settings=settings)  # e-mail: the development outbox
    tenant = await make_tenant("avisos")
    scope = TenantScope(int(tenant.id))
    await enable(scope, "email", "pager")
    customer = await create_customer(scope, NewCustomer("C1", "Uno", email="uno@example.com"), "MX")
    message = OutgoingMessage(to="", subject="Recordatorio", text="Hola", html="", kind="notice")
    entry = await send_to_customer(
        scope, tenant_info(tenant), customer, message, secret_key="x" * 40, prefer=["pager"]
    )
    assert entry is not None and (entry.channel, entry.status) == ("email", "sent")
    [row] = await failures("pager")
    assert row["hook"] == "send" and row["tenant"] == tenant.id
    assert ("no answer" if hangs else "pager network down") in row["message"]


# --- settings schema ------------------------------------------------------------------------------


class RaisingSchema:
    @hookimpl
    def recaudo_settings_schema(self) -> PluginSettingsSchema:
        raise KeyError("schema")


class HangingSchema:
    @hookimpl
    def recaudo_settings_schema(self) -> PluginSettingsSchema:
        hang()
        return PluginSettingsSchema("hangschema", (SettingField("x", "X"),))


@pytest.mark.parametrize("broken", [RaisingSchema, HangingSchema])
async def test_a_broken_settings_schema_leaves_the_other_plugins_schemas(
    database: str, host: PluginHost, broken: type
) -> None:
    host.register(broken(), name="badschema", source="test")
    schema = schema_of("banktransfer")
    assert schema is not None and schema.plugin == "banktransfer"
    [row] = await failures("badschema")
    assert row["hook"] == "recaudo_settings_schema"


# --- start-up -------------------------------------------------------------------------------------


class RaisingStartup:
    @hookimpl
    def recaudo_startup(self, settings: Any) -> None:
        raise RuntimeError("cannot start")


class HangingStartup:
    @hookimpl
    def recaudo_startup(self, settings: Any) -> None:
        hang()


class CountingStartup:
    def __init__(self) -> None:
        self.started = 0

    @hookimpl
    def recaudo_startup(self, settings: Any) -> None:
        self.started += 1


@pytest.mark.parametrize("broken", [RaisingStartup, HangingStartup])
async def test_a_broken_startup_hook_does_not_stop_the_others_nor_the_app(
    settings: Any, host: PluginHost, broken: type
) -> None:
    counting = CountingStartup()
    host.register(counting, name="counting", source="test")
    host.register(broken(), name="badstart", source="test")
    async with app_client(settings, lifespan=True) as c:
        assert (await c.get("/health")).status_code == 200
    assert counting.started == 1
    [row] = await failures("badstart")
    assert row["hook"] == "recaudo_startup"


# --- events ---------------------------------------------------------------------------------------


class Listener:
    def __init__(self) -> None:
        self.kinds: list[str] = []

    @hookimpl
    def recaudo_invoice_event(self, event: InvoiceEvent) -> None:
        self.kinds.append(event.kind)


class RaisingListener:
    @hookimpl(tryfirst=True)
    def recaudo_invoice_event(self, event: InvoiceEvent) -> None:
        raise RuntimeError("listener exploded")


class HangingListener:
    @hookimpl(tryfirst=True)
    def recaudo_invoice_event(self, event: InvoiceEvent) -> None:
        hang()


@pytest.mark.parametrize("broken", [RaisingListener, HangingListener])
async def test_a_broken_event_listener_does_not_stop_the_others(
    database: str, host: PluginHost, broken: type
) -> None:
    listener = Listener()
    host.register(listener, name="listener", source="test")
    host.register(broken(), name="badlistener", source="test")
    tenant = await make_tenant("eventos")
    scope = TenantScope(int(tenant.id))
    await enable(scope, "listener", "badlistener")
    customer = await create_customer(scope, NewCustomer("C1", "Uno"), "MX")
    await create_invoice(
        scope,
        NewInvoice(
            int(customer.id),
            "F1",
            date.today(),
            date.today() + timedelta(days=5),
            "MXN",
            (NewLine("x", 1, 10_000),),
        ),
    )
    await drain_jobs()
    assert listener.kinds == ["created"]
    [row] = await failures("badlistener")
    assert row["hook"] == "recaudo_invoice_event" and row["tenant"] == tenant.id


# --- what staff see -------------------------------------------------------------------------------


async def test_staff_who_act_see_recent_failures_escaped_and_viewers_do_not(
    database: str, host: PluginHost
) -> None:
    from recaudo.core.access.staff import create_staff

    host.register(RaisingTheme(), name="theme", source="test")
    e = await open_env(database)
    other = await make_tenant("ajena")
    try:
        scope = e.shop.scope
        await enable(scope, "theme")
        for role in ("owner", "viewer"):
            await create_staff(scope, f"{role}@tienda.example", PASSWORD, role, role.title())
        guard.report("theme", "recaudo_routes", RuntimeError("routes for all"), None)
        guard.report("theme", "recaudo_branding", RuntimeError("not yours"), int(other.id))
        assert (await e.client.get(e.shop.prefix + "/")).status_code == 200
        base = e.shop.prefix + "/staff"
        staff = await e.new_client()
        await staff.get(base + "/login")
        await post_form(
            staff, base + "/login", {"email": "owner@tienda.example", "password": PASSWORD}
        )
        inbox = await staff.get(base + "/")
        assert inbox.status_code == 200 and 'id="plugin-failures"' in inbox.text
        listing = await staff.get(base + "/plugins")
        assert listing.status_code == 200
        assert HOSTILE not in listing.text and "&lt;script&gt;" in listing.text
        assert "recaudo_branding" in listing.text and "routes for all" in listing.text
        assert "not yours" not in listing.text
        viewer = await e.new_client()
        await viewer.get(base + "/login")
        await post_form(
            viewer, base + "/login", {"email": "viewer@tienda.example", "password": PASSWORD}
        )
        assert (await viewer.get(base + "/plugins")).status_code == 403
        assert 'id="plugin-failures"' not in (await viewer.get(base + "/")).text
        await staff.aclose()
        await viewer.aclose()
    finally:
        await e.client.aclose()
    assert await StaffUser.count() >= 2


async def test_recaudo_check_warns_about_recent_failures(database: str) -> None:
    tenant = await make_tenant("revisar")
    guard.report("pager", "send", ConnectionError("down"), int(tenant.id))
    await guard.flush()
    lines: list[str] = []
    await db.close_pool()  # the command runs its own event loop, as `recaudo check` does
    try:
        found = await asyncio.to_thread(guard.report_recent, lines.append)
    finally:
        await db.start_pool()
    assert found == 1
    assert "WARNING" in lines[0] and "pager send (revisar, 1×" in lines[1] and "down" in lines[1]


# --- helpers --------------------------------------------------------------------------------------


class app_client:
    """A client on a freshly built app (plugins registered before it), optionally with lifespan."""

    def __init__(self, settings: Any, lifespan: bool = False) -> None:
        self.settings, self.lifespan = settings, lifespan

    async def __aenter__(self) -> httpx.AsyncClient:
        from recaudo.web.app import create_app, create_asgi

        if self.lifespan:
            self.app = create_app(self.settings, embedded_workers=False)
            self.manager = self.app.lifespan()
            await self.manager.__aenter__()
            asgi: Any = self.app
        else:
            asgi = create_asgi(self.settings, embedded_workers=False)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=asgi), base_url="http://testserver"
        )
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        if self.lifespan:
            await self.manager.__aexit__(None, None, None)
