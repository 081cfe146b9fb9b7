"""Ajustes → Medios de pago: forms rendered from each plugin's schema, secrets write-only (never
in any response, the audit log included), per-field errors, and the switch reaching checkout."""

from __future__ import annotations

import httpx

from recaudo.core.access.staff import create_staff
from recaudo.core.tables import AuditEvent
from recaudo.tenants.plugin_config import enabled_plugins, plugin_settings, stored_settings
from tests import test_staff_http
from tests.portal_support import Env, login, open_env, post_form
from tests.settings_support import actions
from tests.test_staff_http import World, post, signed_in

world = test_staff_http.world  # the two-tenant fixture of the staff HTTP tests
KEY = "x" * 40  # the secret key of the test apps
TOKEN = "APP_USR-1234-secreto-token"
HOOK = "whsec-muy-secreto-987"


async def test_secrets_are_write_only_and_never_shown_back(world: World) -> None:
    a = world.a
    seen: list[str] = []
    async with signed_in(world, a) as c:
        page = await c.get(f"{a.staff}/ajustes/pagos")
        assert page.status_code == 200
        # Rendered from the schemas: Mercado Pago's secret, integer and boolean fields, the bank
        # transfer's choice; the sandbox gateway is for test tenants only.
        assert 'name="s_access_token" type="password"' in page.text
        assert 'name="s_expiration_minutes"' in page.text and 'name="s_sandbox"' in page.text
        assert '<select id="banktransfer-reference_scheme"' in page.text
        assert 'id="metodo-sandbox"' not in page.text and 'id="metodo-mercadopago"' in page.text
        saved = await post(
            c,
            a,
            f"{a.staff}/ajustes/pagos/mercadopago",
            {
                "s_access_token": TOKEN,
                "s_webhook_secret": HOOK,
                "s_public_key": "APP_USR-public",
                "s_expiration_minutes": "90",
            },
        )
        assert saved.status_code == 303, saved.text
        seen.append(saved.text)
        page = await c.get(saved.headers["location"])
        seen.append(page.text)
        assert 'id="mercadopago-access_token-state">configurado' in page.text
        assert 'value="APP_USR-public"' in page.text and 'value="90"' in page.text
        # Blank secrets keep the stored ones; ordinary fields change.
        kept = await post(
            c,
            a,
            f"{a.staff}/ajustes/pagos/mercadopago",
            {"s_access_token": "", "s_webhook_secret": "", "s_expiration_minutes": "120"},
        )
        assert kept.status_code == 303
        # A bad value: 400 naming the field; the secret just typed is not echoed back either.
        bad = await post(
            c,
            a,
            f"{a.staff}/ajustes/pagos/mercadopago",
            {"s_access_token": "OTRO-secreto-nuevo", "s_expiration_minutes": "noventa"},
        )
        assert bad.status_code == 400
        assert 'id="mercadopago-expiration_minutes-error"' in bad.text
        assert "Escribe un número entero." in bad.text and 'value="noventa"' in bad.text
        assert "OTRO-secreto-nuevo" not in bad.text
        seen += [kept.text, bad.text, (await c.get(f"{a.staff}/ajustes/pagos?lang=en")).text]
        seen.append((await c.get(f"{a.staff}/auditoria")).text)
    values = await plugin_settings(a.scope, "mercadopago", KEY)
    assert values["access_token"] == TOKEN and values["webhook_secret"] == HOOK
    assert values["expiration_minutes"] == 120 and "public_key" not in values  # cleared
    raw = await stored_settings(a.scope, "mercadopago")
    assert raw is not None and str(raw["access_token"]).startswith("enc:")
    events = await a.scope.objects(AuditEvent)
    seen += [str(e.data) for e in events]
    for text in seen:
        assert TOKEN not in text and HOOK not in text
    configured = [e for e in events if e.action == "settings.payment_method.configured"]
    assert len(configured) == 2 and "access_token" in str(configured[0].data)


async def test_switching_on_needs_the_required_settings(world: World) -> None:
    a = world.a
    async with signed_in(world, a) as c:
        early = await post(c, a, f"{a.staff}/ajustes/pagos/banktransfer/estado", {"enabled": "on"})
        assert early.status_code == 400 and 'id="form-error"' in early.text
        missing = await post(c, a, f"{a.staff}/ajustes/pagos/banktransfer", {"s_bank_name": "X"})
        assert missing.status_code == 400
        assert 'id="banktransfer-account_holder-error"' in missing.text
        choice = await post(
            c,
            a,
            f"{a.staff}/ajustes/pagos/banktransfer",
            {
                "s_bank_name": "Banco <b>Norte</b>",
                "s_account_holder": "Norte SA",
                "s_account_number": "1234567890",
                "s_reference_scheme": "inventado",
            },
        )
        assert choice.status_code == 400 and "Elige una de las opciones." in choice.text
        assert "Banco <b>Norte</b>" not in choice.text  # typed text comes back escaped
        assert "banktransfer" not in await enabled_plugins(a.scope)
        for path, status in [
            ("sandbox", 404),  # a pretend gateway: not for this (real) tenant
            ("no-existe", 404),
        ]:
            response = await post(c, a, f"{a.staff}/ajustes/pagos/{path}", {"s_x": "1"})
            assert response.status_code == status, path
            switch = await post(c, a, f"{a.staff}/ajustes/pagos/{path}/estado", {"enabled": "on"})
            assert switch.status_code == status, path
        odd = await post(c, a, f"{a.staff}/ajustes/pagos/banktransfer/estado", {"enabled": "x"})
        assert odd.status_code == 400
    assert "sandbox" not in await enabled_plugins(a.scope)
    assert "settings.payment_method.enabled" not in await actions(a)


async def _staff_client(env: Env) -> httpx.AsyncClient:
    await create_staff(env.shop.scope, "owner@tienda.example", "clave-de-prueba-123", "owner", "O")
    c = await env.new_client()
    response = await post_form(
        c,
        f"{env.shop.prefix}/staff/login",
        {"email": "owner@tienda.example", "password": "clave-de-prueba-123"},
    )
    assert response.status_code == 303, response.text
    return c


async def test_a_disabled_method_disappears_from_checkout(database: str, host: object) -> None:
    env = await open_env(database)
    try:
        await login(env.client, env.shop, env.customer)
        pay = f"{env.shop.prefix}/pagar?monto=1"
        assert 'value="banktransfer"' in (await env.client.get(pay)).text
        staff = await _staff_client(env)
        page = await staff.get(f"{env.shop.prefix}/staff/ajustes/pagos")
        assert 'id="metodo-sandbox"' in page.text  # a test tenant may use the sandbox
        off = await post_form(
            staff, f"{env.shop.prefix}/staff/ajustes/pagos/banktransfer/estado", {"enabled": "off"}
        )
        assert off.status_code == 303
        assert 'value="banktransfer"' not in (await env.client.get(pay)).text
        on = await post_form(
            staff, f"{env.shop.prefix}/staff/ajustes/pagos/banktransfer/estado", {"enabled": "on"}
        )
        assert on.status_code == 303
        assert 'value="banktransfer"' in (await env.client.get(pay)).text
        await staff.aclose()
        done = await actions_of(env)
        assert "settings.payment_method.disabled" in done
        assert "settings.payment_method.enabled" in done
    finally:
        await env.client.aclose()


async def actions_of(env: Env) -> list[str]:
    return [str(e.action) for e in await env.shop.scope.objects(AuditEvent)]
