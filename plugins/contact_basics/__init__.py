"""Contact rules every tenant obeys, whatever its country: the customer's own choices.

A customer is reached only through the channels they authorised in ``/preferencias`` and never
inside the quiet hours they chose, read in *their* time zone (a customer in Monterrey of a tenant
in Bogotá is judged on Monterrey's clock). Country laws (``ley2300_co``, ``condusef_mx``) add
their own windows on top; the engine asks every rule and waits for the latest moment they allow.
"""

from __future__ import annotations

from recaudo.api import ContactRequest, ContactRule, PluginContext, RuleDecision, hookimpl

from .clock import in_quiet_hours, local_zone, parse_hhmm, quiet_end_after

RECAUDO_API = "1.0"  # the plugin API this plugin is written for

CHANNEL_NAMES = {"email": "correo electrónico", "sms": "SMS", "whatsapp": "WhatsApp"}


class AuthorizedChannels(ContactRule):
    """Only channels the customer authorised: any other is refused outright (not deferred), so
    the engine moves on to the customer's next authorised channel. No authorised channel at all
    means no channel may be used."""

    name = "basics.channels"
    label = "Solo canales autorizados por el cliente"
    countries = ()

    def check(self, ctx: PluginContext, request: ContactRequest) -> RuleDecision | None:
        if request.channel in request.authorized_channels:
            return None
        channel = CHANNEL_NAMES.get(request.channel, request.channel)
        return RuleDecision(
            rule="basics.not_authorized",
            reason=f"El cliente no autorizó el canal {channel} para recordatorios de cobro.",
            channel_refused=True,
        )


class QuietHours(ContactRule):
    """The customer's quiet hours (e.g. 21:00–08:00, may wrap midnight) in their time zone:
    a message inside them waits for the moment they end. Unreadable or empty hours (start equal
    to end) mean no quiet hours: the preferences page refuses both, so only stale data has them."""

    name = "basics.quiet_hours"
    label = "Horas de silencio del cliente"
    countries = ()

    def check(self, ctx: PluginContext, request: ContactRequest) -> RuleDecision | None:
        if not request.quiet_hours:
            return None
        start, end = (parse_hhmm(v) for v in request.quiet_hours)
        if start is None or end is None or start == end:
            return None
        zone = local_zone(request.timezone, request.tenant.timezone)
        local = request.moment.astimezone(zone)
        if not in_quiet_hours(local.time(), start, end):
            return None
        return RuleDecision(
            rule="basics.quiet_hours",
            reason=(
                "Dentro de las horas de silencio que eligió el cliente "
                f"({request.quiet_hours[0]}–{request.quiet_hours[1]}, hora local)."
            ),
            not_before=quiet_end_after(local, start, end),
        )


@hookimpl
def recaudo_contact_rules() -> list[ContactRule]:
    return [AuthorizedChannels(), QuietHours()]
