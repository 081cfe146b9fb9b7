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
# A logo uploaded in the back office (Ajustes → Marca), served by this site.
_OWN_LOGO = re.compile(r"^/t/[a-z0-9-]{1,63}/logo/[0-9a-f]{64}\.(png|jpg|webp)$")
_DEFAULT = Branding(display_name="")
# Pages paint white text on the primary colour (header, buttons) and on the accent colour (the
# sub-navigation), and the accent colour as text on white (secondary buttons): each pair must
# reach WCAG 2's 4.5:1 for normal text.
TEXT_ON_BRAND = "#ffffff"
MIN_CONTRAST = 4.5


def luminance(colour: str) -> float:
    """Relative luminance of ``#rrggbb`` (WCAG 2 definition)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def valid_color(value: str) -> bool:
    return isinstance(value, str) and bool(_COLOR.match(value))


def _color(value: str, fallback: str) -> str:
    return value if isinstance(value, str) and _COLOR.match(value) else fallback


def _url(value: str) -> str:
    if not isinstance(value, str) or len(value) > 500 or any(c in value for c in "\"'<> \\"):
        return ""
    if _OWN_LOGO.match(value):
        return value
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
        support_hours=_text(branding.support_hours, 120),
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
