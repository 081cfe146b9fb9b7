"""Ajustes → Marca: an owner's branding and logo appear in the portal at once; bad colours, bad
files and other roles are refused without changing anything."""

from __future__ import annotations

import re

from recaudo.core.messaging.branding import contrast_ratio
from recaudo.core.tables import TenantLogo
from recaudo.tenants.plugin_config import set_plugin
from tests import test_staff_http
from tests.settings_support import BRAND_FORM, actions, branding_of, jpeg, png, upload
from tests.test_staff_http import World, client, post, signed_in

world = test_staff_http.world  # the two-tenant fixture of the staff HTTP tests


async def test_settings_index_links_every_settings_page(world: World) -> None:
    a = world.a
    async with signed_in(world, a) as c:
        page = await c.get(f"{a.staff}/ajustes")
    assert page.status_code == 200
    for path in (
        "ajustes/marca",
        "ajustes/dominios",
        "ajustes/pagos",
        "ajustes/planes",
        "ajustes/ayuda",
        "ajustes/api",
        "ajustes/webhooks",
        "equipo",
        "auditoria",
    ):
        assert f'href="{a.staff}/{path}"' in page.text, path
    async with signed_in(world, a, "viewer") as c:
        page = await c.get(f"{a.staff}/ajustes")
    assert page.status_code == 200 and 'id="owner-only"' in page.text
    assert f'href="{a.staff}/ajustes/marca"' not in page.text
    # A read-only summary: name, domains, methods on, plan limits.
    assert 'id="settings-summary"' in page.text and a.slug.title() in page.text
    english = await _english_index(world)
    assert "Branding" in english and "Payment methods" in english


async def _english_index(world: World) -> str:
    async with signed_in(world, world.a) as c:
        return (await c.get(f"{world.a.staff}/ajustes?lang=en")).text


async def test_branding_change_shows_in_the_portal_at_once(world: World) -> None:
    a = world.a
    await set_plugin(a.scope, "branding", enabled=True)
    async with client(world) as visitor:
        before = await visitor.get(f"/t/{a.slug}/")
        assert "Ferretería Nueva" not in before.text
        async with signed_in(world, a) as c:
            form = await c.get(f"{a.staff}/ajustes/marca")
            assert form.status_code == 200 and 'name="primary_color"' in form.text
            saved = await post(c, a, f"{a.staff}/ajustes/marca", BRAND_FORM)
            assert saved.status_code == 303, saved.text
            again = await c.get(saved.headers["location"])
            assert 'id="saved"' in again.text and 'value="usted" checked' in again.text
        page = await visitor.get(f"/t/{a.slug}/")
        assert "Ferretería Nueva" in page.text and "Todo para tu obra" in page.text
        theme = re.search(r'href="(/t/[^"]+/theme\.css[^"]*)"', page.text)
        assert theme is not None and "0b5d1e" in theme.group(1)  # a new URL: no stale cache
        css = await visitor.get(theme.group(1))
        assert "--brand:#0b5d1e" in css.text and "--brand-accent:#5b2a86" in css.text
        help_page = await visitor.get(f"/t/{a.slug}/ayuda")
        assert "lunes a viernes, 9 a 18 h" in help_page.text
        assert "+52 55 8765 4321" in help_page.text
    stored = await branding_of(a)
    assert stored["address_form"] == "usted" and stored["display_name"] == "Ferretería Nueva"
    assert "settings.branding.updated" in await actions(a)


async def test_low_contrast_colours_are_refused_naming_the_field(world: World) -> None:
    a = world.a
    assert contrast_ratio("#ffd700", "#ffffff") < 4.5
    async with signed_in(world, a) as c:
        response = await post(
            c, a, f"{a.staff}/ajustes/marca", {**BRAND_FORM, "primary_color": "#ffd700"}
        )
        assert response.status_code == 400
        assert 'id="primary_color-error"' in response.text
        assert "no contrasta lo suficiente" in response.text
        assert 'value="#ffd700"' in response.text  # what was typed comes back to be fixed
        bad = await post(
            c,
            a,
            f"{a.staff}/ajustes/marca",
            {**BRAND_FORM, "accent_color": "red;}</style>", "support_email": "no-es-correo"},
        )
        assert bad.status_code == 400
        assert 'id="accent_color-error"' in bad.text and 'id="support_email-error"' in bad.text
        assert "</style>" not in bad.text.split('id="accent_color"')[1][:200]
        empty = await post(c, a, f"{a.staff}/ajustes/marca", {**BRAND_FORM, "display_name": " "})
        assert empty.status_code == 400 and 'id="display_name-error"' in empty.text
    assert "display_name" not in (await branding_of(a))
    assert "settings.branding.updated" not in await actions(a)


async def test_logo_upload_is_served_with_its_sniffed_type(world: World) -> None:
    a = world.a
    await set_plugin(a.scope, "branding", enabled=True)
    image = png(120, 40)
    async with signed_in(world, a) as c:
        # The browser's name and type are ignored: the bytes say PNG.
        response = await upload(
            c, a, f"{a.staff}/ajustes/marca/logo", "logo.gif", image, "image/gif"
        )
        assert response.status_code == 303, response.text
    async with client(world) as visitor:
        page = await visitor.get(f"/t/{a.slug}/")
        found = re.search(r'<img src="(/t/[^"]+/logo/[0-9a-f]{64}\.png)"', page.text)
        assert found is not None, page.text
        logo = await visitor.get(found.group(1))
        assert logo.status_code == 200 and logo.content == image
        assert logo.headers["content-type"] == "image/png"
        assert logo.headers["x-content-type-options"] == "nosniff"
        assert "max-age" in logo.headers["cache-control"]
        # Another tenant's portal does not serve it; a made-up digest is a 404.
        other = await visitor.get(found.group(1).replace(f"/t/{a.slug}/", f"/t/{world.b.slug}/"))
        assert other.status_code == 404
        assert (await visitor.get(f"/t/{a.slug}/logo/{'0' * 64}.png")).status_code == 404
    async with signed_in(world, a) as c:
        replaced = await upload(
            c, a, f"{a.staff}/ajustes/marca/logo", "x.jpg", jpeg(200, 100), "image/jpeg"
        )
        assert replaced.status_code == 303
    rows = await a.scope.objects(TenantLogo)
    assert len(rows) == 1 and rows[0].content_type == "image/jpeg" and rows[0].width == 200
    assert (await branding_of(a))["logo_url"].endswith(".jpg")
    async with signed_in(world, a) as c:
        removed = await post(c, a, f"{a.staff}/ajustes/marca/logo/quitar")
        assert removed.status_code == 303
    assert await a.scope.count(TenantLogo) == 0
    assert "logo_url" not in (await branding_of(a))
    assert {"settings.logo.uploaded", "settings.logo.removed"} <= set(await actions(a))


async def test_svg_fake_oversized_and_huge_logos_are_refused(world: World) -> None:
    a = world.a
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    cases = [
        ("logo.svg", svg, "image/svg+xml", 400, "SVG"),
        ("logo.png", b"GIF89a" + b"\x00" * 50, "image/png", 400, "no es una imagen"),
        ("logo.png", png(5000, 20), "image/png", 400, "4096"),
        ("logo.png", png(8, 8), "image/png", 400, "16"),
        ("logo.png", png(64, 64)[:20], "image/png", 400, "dañado"),
        ("big.png", png(16, 16) + b"\x00" * (600 * 1024), "image/png", 413, "512 KB"),
    ]
    async with signed_in(world, a) as c:
        for name, content, kind, status, words in cases:
            response = await upload(c, a, f"{a.staff}/ajustes/marca/logo", name, content, kind)
            assert response.status_code == status, (name, response.status_code)
            assert 'id="logo-error"' in response.text and words in response.text, name
        empty = await post(c, a, f"{a.staff}/ajustes/marca/logo")
        assert empty.status_code == 400
    assert await a.scope.count(TenantLogo) == 0
    assert "logo_url" not in (await branding_of(a))
