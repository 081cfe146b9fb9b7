"""Colombia, Ley 2300 de 2023 ("dejen de fregar"): when a collection message may reach a customer.

- Hours (art. 3): Monday to Friday 07:00–19:00, Saturday 08:00–15:00; never on Sundays or public
  holidays (``holidays.country_holidays("CO")``, which moves the "Ley Emiliani" holidays to
  Monday). Windows are half-open: 19:00:00 is already outside.
- Frequency: once a contact was made, at most one contact a day, and not by several channels in
  the same week. The week is the calendar week, Monday to Sunday, in the customer's time zone; a
  request on another channel than the one already used that week waits until next Monday's window
  (the engine then prefers the channel already used, when the customer authorised it).

Everything is read on the customer's clock (``ContactRequest.timezone``). The decision names the
first objection to the moment asked about, and ``not_before`` is the earliest moment that every
part of this law allows, so a deferred message is never refused again by this rule.
"""

from __future__ import annotations

from recaudo.api import ContactRequest, ContactRule, PluginContext, RuleDecision, hookimpl

from .law import earliest_allowed, objection

RECAUDO_API = "1.0"  # the plugin API this plugin is written for


class Ley2300(ContactRule):
    """Ley 2300 de 2023 for tenants in Colombia; applies whether or not the tenant enabled it."""

    name = "co.ley2300"
    label = "Colombia: Ley 2300 de 2023 (horarios, festivos y frecuencia de cobro)"
    countries = ("CO",)

    def check(self, ctx: PluginContext, request: ContactRequest) -> RuleDecision | None:
        found = objection(request)
        if found is None:
            return None
        rule, reason = found
        return RuleDecision(rule=rule, reason=reason, not_before=earliest_allowed(request))


@hookimpl
def recaudo_contact_rules() -> list[ContactRule]:
    return [Ley2300()]
