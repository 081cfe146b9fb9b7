"""Ajustes → Dominios: an owner adds a custom domain, reads the DNS record to create, and the
portal answers on that domain; bad, platform-owned and taken domains are refused by name."""

from __future__ import annotations

from recaudo.core.tenant_settings.domains import check_domain, dns_records, is_apex
from recaudo.core.tenant_settings.errors import FormErrors
from recaudo.tenants.models import TenantDomain
from recaudo.tenants.resolve import resolve_host
from tests import test_staff_http
from tests.settings_support import actions
from tests.test_staff_http import World, client, post, signed_in

world = test_staff_http.world  # the two-tenant fixture of the staff HTTP tests


def test_domain_rules() -> None:
    assert check_domain(" HTTPS://Pagos.Ferreteria.MX./ ", "recaudo.example") == (
        "pagos.ferreteria.mx"
    )
    assert check_domain("pagos.ñandú.mx", "recaudo.example") == "pagos.xn--and-6ma2c.mx"
    for bad, words in [
        ("", "Escribe un dominio"),
        ("no valido!", "No es un nombre"),
        ("localhost", "No es un nombre"),
        ("10.0.0.1", "dirección IP"),
        ("recaudo.example", "de la plataforma"),
        ("acme.recaudo.example", "de la plataforma"),
        ("pagos.acme.test", "no se puede usar"),
        ("a" * 64 + ".mx", "No es un nombre"),
    ]:
        try:
            check_domain(bad, "recaudo.example:8443")
        except FormErrors as exc:
            assert words in exc.errors["domain"], bad
        else:
            raise AssertionError(f"{bad!r} was accepted")
    assert dns_records("pagos.acme.mx", "recaudo.example:8443")[0].value == "recaudo.example."
    assert is_apex("acme.mx") and is_apex("acme.com.mx") and not is_apex("pagos.acme.mx")


async def test_owner_adds_a_domain_and_the_portal_answers_on_it(world: World) -> None:
    a, b = world.a, world.b
    domain = f"pagos.{a.slug}.mx"
    async with signed_in(world, a) as c:
        added = await post(c, a, f"{a.staff}/ajustes/dominios", {"domain": domain.upper()})
        assert added.status_code == 303, added.text
        page = await c.get(added.headers["location"])
    assert domain in page.text and "<code>CNAME</code>" in page.text
    assert "<code>testserver.</code>" in page.text  # the platform's host, from RECAUDO_BASE_URL
    match = await resolve_host(domain, "testserver")
    assert match is not None and match.slug == a.slug
    async with client(world) as visitor:
        home = await visitor.get("/", headers={"host": domain})
        assert home.status_code == 200 and str(a.slug.title()) in home.text
        assert f'href="/t/{a.slug}/' not in home.text  # links stay on the custom domain
    assert "settings.domain.added" in await actions(a)
    # The same domain for another tenant: refused, naming the field; nothing stored.
    async with signed_in(world, b) as c:
        taken = await post(c, b, f"{b.staff}/ajustes/dominios", {"domain": domain})
        assert taken.status_code == 400 and 'id="domain-error"' in taken.text
        assert "Ese dominio ya lo usa otra cuenta." in taken.text
        platform = await post(c, b, f"{b.staff}/ajustes/dominios", {"domain": "x.testserver"})
        assert platform.status_code == 400 and "de la plataforma" in platform.text
        junk = await post(c, b, f"{b.staff}/ajustes/dominios", {"domain": "<script>.mx"})
        assert junk.status_code == 400 and "<script>" not in junk.text
        # Removing a's domain through b's back office: not b's, so a 404 and it stays.
        row = await TenantDomain.objects().where(TenantDomain.domain == domain).first()
        gone = await post(c, b, f"{b.staff}/ajustes/dominios/{row.id}/quitar")
        assert gone.status_code == 404
    assert await TenantDomain.count().where(TenantDomain.tenant == b.scope.tenant_id) == 0
    assert await resolve_host(domain, "testserver") is not None
    async with signed_in(world, a) as c:
        again = await post(c, a, f"{a.staff}/ajustes/dominios", {"domain": domain})
        assert again.status_code == 400 and "Ya agregaste ese dominio." in again.text
        removed = await post(c, a, f"{a.staff}/ajustes/dominios/{row.id}/quitar")
        assert removed.status_code == 303
    assert await resolve_host(domain, "testserver") is None
    assert "settings.domain.removed" in await actions(a)
