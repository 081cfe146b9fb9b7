"""A page that does not exist answers 404 with a page a person can use: the tenant's branding
and the visitor's language (Spanish unless they chose English); the platform's in Spanish."""

from __future__ import annotations

import pytest

from tests.portal_support import Env, login, open_env

HTML = {"accept": "text/html"}


@pytest.fixture
async def env(database: str, host: object) -> Env:
    e = await open_env(database)
    yield e
    await e.client.aclose()


async def test_a_tenant_404_is_branded_and_in_spanish(env: Env) -> None:
    response = await env.client.get(env.shop.prefix + "/no-existe", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Página no encontrada" in response.text and 'lang="es-MX"' in response.text
    assert f"{env.shop.prefix}/theme.css" in response.text  # the tenant's colours
    assert str(env.shop.tenant.name) in response.text  # the tenant's name in the header
    assert "Not Found" not in response.text


async def test_a_tenant_404_follows_the_visitors_language(env: Env) -> None:
    response = await env.client.get(env.shop.prefix + "/no-existe?lang=en", headers=HTML)
    assert response.status_code == 404 and "Page not found" in response.text


async def test_a_missing_invoice_says_what_is_missing(env: Env) -> None:
    await login(env.client, env.shop, env.customer)
    response = await env.client.get(env.shop.prefix + "/facturas/999999999", headers=HTML)
    assert response.status_code == 404
    assert "Página no encontrada" in response.text and "Factura no encontrada" in response.text
    assert "Salir" in response.text or "estado-de-cuenta" in response.text


async def test_the_platform_404_is_in_spanish(env: Env) -> None:
    response = await env.client.get("/no-existe", headers=HTML)
    assert response.status_code == 404
    assert "Página no encontrada" in response.text and "Not Found" not in response.text
    unknown = await env.client.get("/t/no-hay-tal-negocio/x", headers=HTML)
    assert unknown.status_code == 404 and "Página no encontrada" in unknown.text


async def test_api_clients_still_get_json(env: Env) -> None:
    response = await env.client.get(env.shop.prefix + "/no-existe")
    assert response.status_code == 404 and response.json()["status_code"] == 404
