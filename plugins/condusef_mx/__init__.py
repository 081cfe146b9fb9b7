"""Mexico: collection messages only inside a window each tenant may narrow but never widen.

CONDUSEF's rules for collection agencies ("Disposiciones de carácter general aplicables a las
entidades financieras en materia de despachos de cobranza", DOF 2014 and amendments) allow contact
with a debtor only between 07:00 and 22:00 in the debtor's time zone. That is the legal bound.
The default window is narrower, Monday to Saturday 08:00–21:00: an hour of margin at each end
(clock drift, a provider's queue) and no Sundays, as good practice; docs/contact-rules.md gives
the reasoning and the sources. A tenant changes days and hours in the plugin's settings; the
choices offered stay inside 07:00–22:00, and a window whose end is not after its start falls back
to the default rather than to no limit at all.
"""

from __future__ import annotations

from recaudo.api import (
    ContactRequest,
    ContactRule,
    PluginContext,
    PluginSettingsSchema,
    RuleDecision,
    hookimpl,
)

from .window import FIELDS, Window, window_from_settings

RECAUDO_API = "1.0"  # the plugin API this plugin is written for

SCHEMA = PluginSettingsSchema(plugin="condusef_mx", fields=FIELDS)


class CondusefWindow(ContactRule):
    """The tenant's window (or the default) on the customer's clock, for tenants in Mexico."""

    name = "mx.condusef"
    label = "México: horario de cobranza (CONDUSEF, 7:00–22:00 como máximo)"
    countries = ("MX",)
    settings_schema = FIELDS

    def check(self, ctx: PluginContext, request: ContactRequest) -> RuleDecision | None:
        window, problem = window_from_settings(ctx.settings)
        found = window.objection(request)
        if found is None:
            return None
        rule, reason = found
        if problem:
            reason = f"{reason} ({problem})"
        return RuleDecision(rule=rule, reason=reason, not_before=window.earliest_allowed(request))


@hookimpl
def recaudo_settings_schema() -> PluginSettingsSchema:
    """Declared here because the host reads settings schemas of payment methods, channels and
    e-invoicing backends by itself, not of contact rules."""
    return SCHEMA


@hookimpl
def recaudo_contact_rules() -> list[ContactRule]:
    return [CondusefWindow()]


__all__ = ["SCHEMA", "CondusefWindow", "Window", "window_from_settings"]
