"""Run mode (RECAUDO_ENV) and production-safe defaults, as a visitor or an operator sees them.

Production hides the development tools, keeps mail it cannot send, and never offers a payment
method that cannot take money; test tenants (and only they) get the sandbox and say so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from recaudo.core.access.staff import create_staff
from recaudo.core.common.local_cache import clear_all
from recaudo.core.messaging.notify import deliver_waiting
from recaudo.core.platform.host import PluginHost
from recaudo.core.tables import NotificationLog, Payment
from recaudo.plugins.sandbox.tables import SandboxCharge
from recaudo.tenants.models import PluginSetting, Tenant
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import unscoped
from tests.portal_support import (
    LINK_RE,
    Env,
    hidden,
    login,
    make_app,
    make_settings,
    open_env,
    post_form,
)
from tests.smtp import smtp_server

PASSWORD = "una-clave-muy-larga"


async def _client(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver")  # type: ignore[arg-type]


@pytest.fixture
async def env(database: str, host: PluginHost) -> Env:
    e = await open_env(database)
    yield e  # type: ignore[misc]
    await e.client.aclose()


# --- development tools --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/dev/outbox", "/dev/outbox?format=json", "/schema", "/schema/openapi.json"]
)
async def test_production_hides_development_tools(
    database: str, host: PluginHost, path: str
) -> None:
    async with await _client(make_app(make_settings(database, env="production"))) as c:
        response = await c.get(path)
    assert response.status_code == 404, (path, response.status_code)


async def test_development_outbox_lists_messages_as_json(env: Env) -> None:
    c, shop = env.client, env.shop
    await post_form(c, shop.prefix + "/acceso", {"contact": env.customer.email})
    other = shop.customers[1]
    await post_form(c, shop.prefix + "/acceso", {"contact": other.email})
    listed = (await c.get("/dev/outbox", params={"format": "json"})).json()
    assert {m["recipient"] for m in listed} >= {env.customer.email, other.email}
    mine = (
        await c.get("/dev/outbox", params={"format": "json", "to": str(env.customer.email)})
    ).json()
    assert [m["recipient"] for m in mine] == [env.customer.email]
    assert mine[0]["subject"] and mine[0]["created_at"]
    assert any(LINK_RE.fullmatch(link) for link in mine[0]["links"])
    assert (await c.get("/schema/openapi.json")).status_code == 200


# --- test tenants and the sandbox ---------------------------------------------------------------


async def test_a_test_tenants_pages_say_test_mode(env: Env) -> None:
    c, shop = env.client, env.shop
    assert "modo de prueba" in (await c.get(shop.prefix + "/")).text
    assert "test mode" in (await c.get(shop.prefix + "/?lang=en")).text
    await login(c, shop, env.customer)
    statement = await c.get(shop.prefix + "/estado-de-cuenta?lang=es")
    assert "modo de prueba" in statement.text


async def test_a_real_tenant_is_never_offered_the_sandbox(env: Env) -> None:
    shop = env.shop
    await Tenant.update({Tenant.test: False}).where(Tenant.id == shop.tenant.id)
    clear_all()  # pages reuse tenant rows for a few seconds
    async with await env.new_client() as fresh:
        front = await fresh.get(shop.prefix + "/")
        assert "modo de prueba" not in front.text
        await login(fresh, shop, env.customer)
        page = await fresh.get(shop.prefix + "/pagar?todo=1")
        assert 'value="sandbox"' not in page.text and 'value="banktransfer"' in page.text
        # Even a hand-made form cannot choose it: nothing is created.
        forged = await post_form(
            fresh,
            shop.prefix + "/pagar",
            {"clave": hidden(page.text, "clave"), "todo": "1", "metodo": "sandbox"},
        )
        assert forged.status_code == 400
    assert await shop.scope.count(Payment) == 0


async def test_the_sandbox_checkout_of_a_real_tenant_does_not_exist(env: Env) -> None:
    c, shop = env.client, env.shop
    await login(c, shop, env.customer)
    page = await c.get(shop.prefix + "/pagar?todo=1")
    started = await post_form(
        c,
        shop.prefix + "/pagar",
        {"clave": hidden(page.text, "clave"), "todo": "1", "metodo": "sandbox"},
    )
    checkout = started.headers["location"]
    assert checkout.startswith("/sandbox/checkout/")
    # The tenant stops being a test tenant: its sandbox charge can no longer be approved.
    await Tenant.update({Tenant.test: False}).where(Tenant.id == shop.tenant.id)
    clear_all()
    async with await env.new_client() as anonymous:
        assert (await anonymous.get(checkout)).status_code == 404
        await anonymous.get("/")
        token = anonymous.cookies.get("csrftoken") or ""
        decided = await anonymous.post(checkout, data={"decision": "approve", "_csrf_token": token})
        assert decided.status_code == 404
    charge = await unscoped(SandboxCharge).objects().first()
    assert charge is not None and charge.status == "pending"


# --- payment methods enabled explicitly ---------------------------------------------------------


async def test_bank_transfer_without_bank_details_is_never_offered(env: Env) -> None:
    c, shop = env.client, env.shop
    # Switched on with no bank details (a tenant created before they were required).
    await shop.scope.update(PluginSetting, {PluginSetting.settings: {}}).where(
        PluginSetting.plugin == "banktransfer"
    )
    await login(c, shop, env.customer)
    page = await c.get(shop.prefix + "/pagar?todo=1")
    assert 'value="banktransfer"' not in page.text and 'value="sandbox"' in page.text
    tried = await post_form(
        c,
        shop.prefix + "/pagar",
        {"clave": hidden(page.text, "clave"), "todo": "1", "metodo": "banktransfer"},
    )
    assert tried.status_code == 400 and "Elige un medio de pago" in tried.text
    assert await shop.scope.count(Payment) == 0  # no "pago en proceso" left behind


async def test_no_working_method_tells_the_customer_how_else_to_pay(env: Env) -> None:
    shop = env.shop
    branding = {"support_email": "cobros@tienda.example", "support_phone": "+52 55 1234 5678"}
    await Tenant.update({Tenant.branding: branding}).where(Tenant.id == shop.tenant.id)
    for plugin in ("sandbox", "banktransfer"):
        await set_plugin(shop.scope, plugin, enabled=False, secret_key="x" * 40)
    clear_all()
    async with await env.new_client() as fresh:
        await login(fresh, shop, env.customer)
        page = await fresh.get(shop.prefix + "/pagar?todo=1")
        assert 'name="metodo"' not in page.text
        assert "cobros@tienda.example" in page.text and "+52 55 1234 5678" in page.text
        statement = await fresh.get(shop.prefix + "/estado-de-cuenta")
        assert 'id="other-ways-to-pay"' in statement.text
        assert "cobros@tienda.example" in statement.text


# --- signed-in pages are not kept by the browser ------------------------------------------------


async def test_signed_in_portal_pages_are_not_stored_and_back_after_logout_shows_nothing(
    env: Env,
) -> None:
    c, shop = env.client, env.shop
    await login(c, shop, env.customer)
    for path in ("/estado-de-cuenta", "/pagos", "/pagar?todo=1"):
        response = await c.get(shop.prefix + path)
        assert response.status_code == 200
        assert "no-store" in response.headers.get("cache-control", ""), path
    statement = await c.get(shop.prefix + "/estado-de-cuenta")
    invoice_number = "F-"
    assert invoice_number in statement.text
    out = await post_form(c, shop.prefix + "/salir")
    assert out.status_code == 303
    back = await c.get(shop.prefix + "/estado-de-cuenta")  # what "Back" re-fetches
    assert back.status_code == 303 and back.headers["location"].startswith(shop.prefix + "/")
    assert str(env.customer.name) not in back.text


@asynccontextmanager
async def _staff_client(app: object, slug: str, scope: object) -> AsyncIterator[httpx.AsyncClient]:
    await create_staff(scope, "jefa@tienda.example", PASSWORD, "owner", "Jefa")  # type: ignore[arg-type]
    async with await _client(app) as c:
        yield await _signed_in_staff(c, slug)


async def _signed_in_staff(c: httpx.AsyncClient, slug: str) -> httpx.AsyncClient:
    await c.get(f"/t/{slug}/staff/login")
    response = await c.post(
        f"/t/{slug}/staff/login",
        data={
            "email": "jefa@tienda.example",
            "password": PASSWORD,
            "_csrf_token": c.cookies.get("csrftoken") or "",
        },
    )
    assert response.status_code == 303, response.text
    return c


async def test_staff_pages_are_not_stored(env: Env) -> None:
    async with _staff_client(env.app, env.shop.slug, env.shop.scope) as c:
        inbox = await c.get(f"/t/{env.shop.slug}/staff/")
    assert inbox.status_code == 200
    assert "no-store" in inbox.headers.get("cache-control", "")
    assert 'id="mail-missing"' not in inbox.text  # development: the dev outbox delivers


# --- production without SMTP: mail waits, staff are warned --------------------------------------


async def test_production_without_smtp_keeps_mail_until_a_server_is_configured(
    database: str, host: PluginHost
) -> None:
    env = await open_env(database, env="production")
    shop, customer = env.shop, env.customer
    async with env.client as c:
        await c.get(shop.prefix + "/")
        asked = await post_form(c, shop.prefix + "/acceso", {"contact": customer.email})
        assert asked.status_code == 200
    rows = await shop.scope.objects(NotificationLog)
    assert [r.status for r in rows] == ["waiting"]
    # What the database shows in clear holds no usable link; the message itself is kept sealed.
    assert not LINK_RE.search(rows[0].body_text) and rows[0].sealed
    assert await deliver_waiting("x" * 40) == 0  # still no server: it keeps waiting
    async with _staff_client(env.app, shop.slug, shop.scope) as staff:
        inbox = await staff.get(f"/t/{shop.slug}/staff/")
    assert 'id="mail-missing"' in inbox.text and "RECAUDO_SMTP_URL" in inbox.text

    # A relay that claimed it and crashed before sending does not strand it.
    crashed = datetime.now(UTC) - timedelta(minutes=10)
    await shop.scope.update(
        NotificationLog,
        {NotificationLog.status: "sending", NotificationLog.claimed_at: crashed},
    ).where(NotificationLog.id == rows[0].id)

    with smtp_server() as (url, capture):
        # The operator sets RECAUDO_SMTP_URL and restarts: the relay's sweep sends what waited.
        make_app(make_settings(database, smtp_url=url, env="production"))
        assert await deliver_waiting("x" * 40) == 1
        assert await deliver_waiting("x" * 40) == 0  # once
    assert len(capture.messages) == 1 and capture.messages[0]["To"] == customer.email
    text = capture.messages[0].get_body(("plain",)).get_content()
    assert LINK_RE.search(text)
    row = await shop.scope.objects(NotificationLog).first()
    assert row is not None and row.status == "sent" and row.sealed == ""
