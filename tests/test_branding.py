"""Tenant branding is untrusted: it is escaped, validated, and never leaks into another tenant."""

from __future__ import annotations

import httpx

from recaudo.core.messaging.branding import sanitize, theme_css
from recaudo.core.platform.values import Branding, TenantInfo
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import NewTenant, create_tenant

INFO = TenantInfo(1, "acme", "Acme", "MX", "MXN", "es_MX", "America/Mexico_City")


def test_sanitize_rejects_hostile_values() -> None:
    hostile = Branding(
        display_name="x" * 500,
        primary_color="red;}</style><script>",
        accent_color="#12345g",
        logo_url="javascript:alert(1)",
        tagline="ok",
    )
    clean = sanitize(hostile, INFO)
    assert clean.primary_color == "#1f6feb" and clean.accent_color == "#0b3d91"
    assert clean.logo_url == "" and len(clean.display_name) == 120
    assert (
        sanitize(Branding("A", logo_url='https://x.example/a.png"onerror=1'), INFO).logo_url == ""
    )
    assert "script" not in theme_css(hostile)


async def test_hostile_branding_is_escaped_on_the_page(
    client: httpx.AsyncClient, database: str
) -> None:
    tenant = await create_tenant(
        NewTenant("mala", "<script>alert('x')</script>", "MX", "MXN"),
        branding={"tagline": "<img src=x onerror=alert(1)>", "primary_color": "#ff0000"},
    )
    await set_plugin(TenantScope(int(tenant.id)), "branding", enabled=True)
    page = await client.get("/t/mala/")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;" in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text
    css = await client.get("/t/mala/theme.css")
    assert css.headers["content-type"].startswith("text/css") and "--brand:#ff0000" in css.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
