"""A tenant's portal is reached by path prefix, by subdomain of the base host, or by its domain."""

from __future__ import annotations

import httpx

from recaudo.tenants.resolve import slug_from_host
from recaudo.tenants.service import add_domain
from tests.conftest import make_tenant


def test_slug_from_host() -> None:
    assert slug_from_host("acme.recaudo.example", "recaudo.example") == "acme"
    assert slug_from_host("ACME.recaudo.example:8443", "recaudo.example") == "acme"
    assert slug_from_host("recaudo.example", "recaudo.example") is None
    assert slug_from_host("a.b.recaudo.example", "recaudo.example") is None
    assert slug_from_host("static.recaudo.example", "recaudo.example") is None  # reserved
    assert slug_from_host("acme.otro.example", "recaudo.example") is None


async def test_prefix_subdomain_and_custom_domain_reach_the_same_portal(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant("acme")
    await make_tenant("otra")
    await add_domain(acme, "pagos.acme-store.example")

    by_prefix = await client.get("/t/acme/")
    by_subdomain = await client.get("http://acme.testserver/")
    by_domain = await client.get("http://pagos.acme-store.example/")
    for response in (by_prefix, by_subdomain, by_domain):
        assert response.status_code == 200
        assert "Acme" in response.text and "Otra" not in response.text
    # On its own host the portal's links carry no /t/<slug> prefix.
    assert 'action="/t/acme/acceso"' in by_prefix.text
    assert 'action="/acceso"' in by_subdomain.text
    assert 'action="/acceso"' in by_domain.text
    assert (await client.get("http://acme.testserver/theme.css")).status_code == 200


async def test_unknown_hosts_and_slugs_are_404_and_the_base_host_is_the_platform(
    client: httpx.AsyncClient,
) -> None:
    await make_tenant("acme")
    assert (await client.get("http://nadie.testserver/")).status_code == 404
    assert (await client.get("/t/nadie/")).status_code == 404
    assert (await client.get("http://desconocido.example/")).status_code == 200  # platform page
    home = await client.get("/")
    assert home.status_code == 200 and "acme" not in home.text.lower()
    assert (await client.get("/health")).json()["status"] == "ok"
