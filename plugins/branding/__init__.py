"""Built-in branding: the tenant's own name, colours, logo and contacts from its settings.

A third-party theme plugin enabled for a tenant can answer ``recaudo_branding`` instead; this one
answers from ``Tenant.branding`` and is the fallback.
"""

from __future__ import annotations

from recaudo.api import Branding, PluginContext, hookimpl

RECAUDO_API = "1.0"  # the plugin API this plugin is written for

FIELDS = (
    "display_name",
    "primary_color",
    "accent_color",
    "logo_url",
    "tagline",
    "support_email",
    "support_phone",
    "support_whatsapp",
    "support_hours",
)


@hookimpl(trylast=True)
def recaudo_branding(ctx: PluginContext) -> Branding:
    values = {k: str(v) for k, v in ctx.tenant.branding.items() if k in FIELDS and v is not None}
    values.setdefault("display_name", ctx.tenant.name)
    return Branding(**values)
