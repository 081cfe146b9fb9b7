"""A tenant's branding, asked of the enabled branding plugins and validated before use.

Branding values come from tenants (untrusted): colours must be ``#rrggbb``, logos ``https://`` or
our own ``/static/`` paths, and text is length-limited; templates escape everything anyway.
"""

from __future__ import annotations

import re
from dataclasses import replace

from recaudo.core.platform import guard
from recaudo.core.platform.host import call_impl, get_host
from recaudo.core.platform.values import Branding, TenantInfo

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_DEFAULT = Branding(display_name="")


def _color(value: str, fallback: str) -> str:
    return value if isinstance(value, str) and _COLOR.match(value) else fallback


def _url(value: str) -> str:
    if not isinstance(value, str) or len(value) > 500 or any(c in value for c in "\"'<> \\"):
        return ""
    return value if value.startswith(("https://", "/static/")) else ""


def _text(value: str, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def sanitize(branding: Branding, tenant: TenantInfo) -> Branding:
    return replace(
        branding,
        display_name=_text(branding.display_name, 120) or tenant.name,
        primary_color=_color(branding.primary_color, _DEFAULT.primary_color),
        accent_color=_color(branding.accent_color, _DEFAULT.accent_color),
        logo_url=_url(branding.logo_url),
        tagline=_text(branding.tagline, 200),
        support_email=_text(branding.support_email, 254),
        support_phone=_text(branding.support_phone, 32),
        support_whatsapp=_text(branding.support_whatsapp, 32),
    )


async def branding_for(tenant: TenantInfo, enabled: list[str]) -> Branding:
    """The first branding an enabled plugin answers (each asked through its own context), else
    the tenant's name, validated.

    A branding plugin that raises, hangs or answers something else than a ``Branding`` is
    recorded by the guard and passed over, so the page renders with the next one or the default.
    """
    from recaudo.core.platform.context import context_for

    for impl in get_host().impls_for(enabled, "recaudo_branding"):
        ctx = await context_for(tenant, impl.plugin_name)
        result = guard.call(
            impl.plugin_name,
            "recaudo_branding",
            call_impl,
            impl,
            fallback=None,
            tenant_id=tenant.id,
            ctx=ctx,
        )
        if result is None:
            continue
        if isinstance(result, Branding):
            return sanitize(result, tenant)
        guard.report(
            impl.plugin_name,
            "recaudo_branding",
            TypeError(f"answered {type(result).__name__}, not Branding"),
            tenant.id,
        )
    return sanitize(Branding(display_name=tenant.name), tenant)


def theme_css(branding: Branding) -> str:
    """CSS custom properties from validated colours (served as ``theme.css`` to keep CSP strict)."""
    return (
        ":root{"
        f"--brand:{_color(branding.primary_color, '#1f6feb')};"
        f"--brand-accent:{_color(branding.accent_color, '#0b3d91')};"
        "}\n"
    )
