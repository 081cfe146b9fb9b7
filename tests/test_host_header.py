"""Links we send are built from configuration, never from the Host header (issue 8, item 1).

A Host such as ``acme.testserver:80@evil.example`` used to be matched by its part before ``:``
while the whole header went into the emailed link, handing a valid sign-in token to evil.example.
"""

from __future__ import annotations

import httpx
import pytest

from recaudo.core.config import Settings
from recaudo.core.tables import MagicLink, NotificationLog
from recaudo.tenants.service import TenantError, add_domain
from recaudo.tenants.urls import HostPort, parse_host, portal_base_url
from tests.conftest import make_tenant
from tests.portal_support import LINK_RE, Env, make_settings, open_env, post_form


@pytest.fixture
async def env(database: str, host: object) -> Env:
    e = await open_env(database)
    yield e
    await e.client.aclose()


def _client(env: Env, base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(env.app), base_url=base_url)


async def _sent_links(env: Env) -> list[str]:
    rows = await env.shop.scope.select(NotificationLog, NotificationLog.body_text)
    return [m.group(0) for r in rows for m in LINK_RE.finditer(r["body_text"] or "")]


def test_parse_host_accepts_plain_host_and_port_only() -> None:
    assert parse_host("acme.Example.com") == HostPort("acme.example.com")
    assert parse_host("acme.example.com.:8443") == HostPort("acme.example.com", 8443)
    assert parse_host("127.0.0.1:8000") == HostPort("127.0.0.1", 8000)
    assert parse_host("[::1]:8000") == HostPort("[::1]", 8000)
    assert parse_host("[2001:DB8::1]") == HostPort("[2001:db8::1]")
    for bad in (
        "",
        "acme.example:8222@evil.example",
        "127.0.0.1:8000@evil.example",
        "evil.example@acme.example",
        "acme.example:443/evil",
        "acme.example:99999",
        "acme.example:",
        "acme.example:80:80",
        "acme..example",
        "-acme.example",
        "acme example",
        "acme.example\\evil",
        "acme.example#x",
        "[::1",
        "[nonsense]:80",
        "[::1]x",
        "acme_example",
        "ácme.example",
        "a" * 64 + ".example",
    ):
        assert parse_host(bad) is None, bad


def test_portal_base_url_comes_from_configuration() -> None:
    settings = make_settings("sqlite:///x", "")
    assert portal_base_url("acme", settings) == "http://testserver/t/acme"
    assert portal_base_url("acme", settings, "pagos.acme.mx") == "http://pagos.acme.mx"
    # Something that is not a host name (a caller passing header text by mistake) is ignored.
    assert portal_base_url("acme", settings, "x:1@evil.example") == "http://testserver/t/acme"
    ported = Settings(secret_key="x" * 40, base_url="https://recaudo.example:8443")
    assert portal_base_url("acme", ported, "acme.recaudo.example") == (
        "https://acme.recaudo.example:8443"
    )


async def test_host_with_userinfo_on_the_prefix_path_is_refused(env: Env) -> None:
    c, shop = env.client, env.shop
    await c.get(shop.prefix + "/")
    response = await post_form(
        c,
        shop.prefix + "/acceso",
        {"contact": env.customer.email},
        headers={"host": "127.0.0.1:8222@evil.example"},
    )
    assert response.status_code == 400
    assert await shop.scope.count(MagicLink) == 0
    assert not [link for link in await _sent_links(env) if "evil" in link]


async def test_host_with_userinfo_on_a_tenant_subdomain_is_refused(env: Env) -> None:
    shop = env.shop
    async with _client(env, f"http://{shop.slug}.testserver") as c:
        assert (await c.get("/")).status_code == 200  # the subdomain works, and sets CSRF
        response = await post_form(
            c,
            "/acceso",
            {"contact": env.customer.email},
            headers={"host": f"{shop.slug}.testserver:8222@evil.example"},
        )
        assert response.status_code == 400
        # The same request with a plain host is served, and its link is ours.
        ok = await post_form(c, "/acceso", {"contact": env.customer.email})
        assert ok.status_code == 200
    links = await _sent_links(env)
    ours = f"http://{shop.slug}.testserver/acceso/"
    assert links and all(link.startswith(ours) for link in links)
    assert await shop.scope.count(MagicLink) == 1


async def test_custom_domain_links_use_the_stored_domain(env: Env) -> None:
    shop = env.shop
    await add_domain(shop.tenant, "pagos.tienda-mx.example")
    async with _client(env, "http://pagos.tienda-mx.example") as c:
        await c.get("/")
        bad = await post_form(
            c,
            "/acceso",
            {"contact": env.customer.email},
            headers={"host": "pagos.tienda-mx.example:443@evil.example"},
        )
        assert bad.status_code == 400
        # A port in the Host header is not copied either: scheme and port are the base URL's.
        ok = await post_form(
            c,
            "/acceso",
            {"contact": env.customer.email},
            headers={"host": "PAGOS.tienda-mx.example.:8443"},
        )
        assert ok.status_code == 200
    links = await _sent_links(env)
    assert len(links) == 1 and links[0].startswith("http://pagos.tienda-mx.example/acceso/")


async def test_forwarded_host_headers_are_ignored(env: Env) -> None:
    c, shop = env.client, env.shop
    await c.get(shop.prefix + "/")
    response = await post_form(
        c,
        shop.prefix + "/acceso",
        {"contact": env.customer.email},
        headers={
            "x-forwarded-host": "evil.example",
            "forwarded": "host=evil.example;proto=https",
            "x-forwarded-proto": "https",
        },
    )
    assert response.status_code == 200
    links = await _sent_links(env)
    assert len(links) == 1 and links[0].startswith(f"http://testserver{shop.prefix}/acceso/")


async def test_hostile_hosts_get_400_never_500_and_health_still_answers(env: Env) -> None:
    c = env.client
    for bad in (
        "testserver:80@evil.example",
        "testserver:99999",
        "testserver:abc",
        "[::1",
        "a b",
        "x" * 400,
        "testserver\\evil",
    ):
        for path in ("/", env.shop.prefix + "/", "/static/css/app.css", "/hooks/sandbox/x"):
            response = await c.get(path, headers={"host": bad})
            assert response.status_code == 400, (bad, path, response.status_code)
    # Load balancers probe /health with whatever Host they have.
    health = await c.get("/health", headers={"host": "10.0.0.5:8000@lb"})
    assert health.status_code == 200
    assert (await c.get("/health", headers={"host": "[::1]:8000"})).status_code == 200


async def test_two_host_headers_are_refused(env: Env) -> None:
    response = await env.client.get(
        env.shop.prefix + "/", headers=[("host", "testserver"), ("host", "evil.example")]
    )
    assert response.status_code == 400


async def test_custom_domains_must_be_plain_host_names(database: str) -> None:
    tenant = await make_tenant("acme")
    for bad in ("pagos.acme.mx:443@evil.example", "pagos.acme.mx:443", "a@b", "pagos acme"):
        with pytest.raises(TenantError):
            await add_domain(tenant, bad)
    await add_domain(tenant, "Pagos.Acme.MX.")


async def test_checkout_urls_for_the_provider_come_from_configuration(env: Env) -> None:
    """Return and notification URLs handed to a provider (Mercado Pago's back_urls, the
    sandbox's redirect) ignore the Host's port and every forwarded-host header."""
    import re

    from recaudo.plugins.sandbox.tables import SandboxCharge
    from recaudo.tenants.scoped import unscoped
    from tests.portal_support import hidden, login

    c, shop = env.client, env.shop
    await login(c, shop, env.customer)
    invoice = env.invoice_ids()[0]
    page = await c.get(f"{shop.prefix}/pagar?factura={invoice}")
    form = {
        "clave": hidden(page.text, "clave"),
        "factura": re.findall(r'name="factura" value="(\d+)"', page.text),
        "metodo": "sandbox",
    }
    hostile = {"host": "testserver:8443", "x-forwarded-host": "evil.example"}
    response = await post_form(c, shop.prefix + "/pagar", form, headers=hostile)
    assert response.status_code == 303, response.text
    charge = await unscoped(SandboxCharge).objects().first()
    assert charge.return_url.startswith(f"http://testserver{shop.prefix}/pagos/")
    assert charge.notification_url == f"http://testserver/hooks/sandbox/{shop.slug}"
