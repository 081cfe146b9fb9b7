"""When and through which channel a collection message may reach a customer.

The law is in plugins (``recaudo_contact_rules``); this module only combines their answers. For
each channel of a stage that the customer authorised and has an address for, it asks every rule
for the moment it would allow, moves to the latest ``not_before`` and asks again until no rule
objects — the earliest allowed moment of that channel. The channel allowed soonest wins (ties:
the stage's order). Rules apply to the tenants of their ``countries`` whether or not the tenant
enabled the plugin: a business cannot switch the law off.

A rule that raises or hangs is recorded by the plugin guard and counts as an objection for an
hour: a bug in a legal rule must delay a message, never let it out against the law.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from recaudo.core.messaging.preferences import Consents, consents_of
from recaudo.core.platform import guard
from recaudo.core.platform.context import context_for
from recaudo.core.platform.extensions import ContactRule
from recaudo.core.platform.host import get_host
from recaudo.core.platform.values import ContactAttempt as PastContact
from recaudo.core.platform.values import ContactRequest, RuleDecision, TenantInfo
from recaudo.core.tables import ContactAttempt, Customer
from recaudo.tenants.scoped import TenantScope

log = logging.getLogger(__name__)

#: How far back a customer's contacts are shown to rules ("not twice a day", "one channel a week").
HISTORY = timedelta(days=14)
#: Rounds of "ask, move to not_before" before a channel is given up as never allowed.
MAX_ROUNDS = 60
#: How long a failing rule holds a message back.
FAILED_RULE_WAIT = timedelta(hours=1)
#: The reason given when a rule raised or hung (its objection holds the message back).
RULE_FAILED = "Una regla de contacto falló; el mensaje espera y se vuelve a evaluar."
#: Which customer field each channel sends to.
ADDRESS_FIELD = {"email": "email", "sms": "phone", "whatsapp": "phone"}


@dataclass(frozen=True)
class LoadedRule:
    plugin: str
    rule: ContactRule
    ctx: Any  # the plugin's PluginContext for this tenant


@dataclass(frozen=True)
class Decision:
    """What to do with one customer's message.

    ``outcome`` is ``send`` (``at`` is the moment asked about), ``deferred`` (``at`` is the
    earliest allowed moment) or ``skipped`` (no channel can ever carry it; ``reason`` says why).
    ``rule``/``reason`` name the rules that held the message back, for staff and the plan.
    """

    outcome: str
    channel: str = ""
    at: datetime | None = None
    rule: str = ""
    reason: str = ""
    others: tuple[str, ...] = ()  # further allowed channels, in the order to fall back to


@dataclass
class _ChannelAnswer:
    channel: str
    at: datetime | None
    retry: datetime | None = None  # a rule failed: ask again then (never send meanwhile)
    rules: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


async def load_rules(tenant: TenantInfo) -> list[LoadedRule]:
    """Every installed rule that applies to the tenant's country, with its plugin's context."""
    contexts: dict[str, Any] = {}
    found: list[LoadedRule] = []
    for plugin, rule in get_host().provided("recaudo_contact_rules"):
        if not isinstance(rule, ContactRule):
            log.error(
                "plugin %s: recaudo_contact_rules returned %r, not a ContactRule", plugin, rule
            )
            continue
        countries = tuple(getattr(rule, "countries", ()) or ())
        if countries and tenant.country.upper() not in {c.upper() for c in countries}:
            continue
        if plugin not in contexts:
            contexts[plugin] = await context_for(tenant, plugin)
        found.append(LoadedRule(plugin, rule, contexts[plugin]))
    return found


def _check(loaded: LoadedRule, request: ContactRequest) -> RuleDecision | None:
    failed: RuleDecision | None = RuleDecision(
        rule=f"{loaded.plugin}.error",
        reason=RULE_FAILED,
        not_before=request.moment + FAILED_RULE_WAIT,
    )
    answer: RuleDecision | None = guard.call(
        loaded.plugin,
        "contact_rule",
        loaded.rule.check,
        loaded.ctx,
        request,
        fallback=failed,
        tenant_id=request.tenant.id,
    )
    return answer if answer is None or isinstance(answer, RuleDecision) else failed


def earliest_moment(rules: list[LoadedRule], request: ContactRequest) -> _ChannelAnswer:
    """The first moment ≥ ``request.moment`` no rule objects to (``at=None``: never)."""
    answer = _ChannelAnswer(request.channel, None)
    moment = request.moment
    for _ in range(MAX_ROUNDS):
        asked = ContactRequest(**{**request.__dict__, "moment": moment})
        objections = [d for d in (_check(r, asked) for r in rules) if d is not None]
        if not objections:
            answer.at = moment
            return answer
        for decision in objections:
            if decision.rule not in answer.rules:
                answer.rules.append(decision.rule)
                answer.reasons.append(decision.reason)
        if any(d.reason == RULE_FAILED for d in objections):
            answer.retry = moment + FAILED_RULE_WAIT
            return answer
        if any(d.channel_refused for d in objections):
            return answer
        later = [d.not_before for d in objections if d.not_before is not None]
        nxt = max(later) if later else None
        if nxt is None or nxt <= moment:  # an objection without a way forward
            return answer
        moment = nxt
    answer.reasons.append("No se encontró un momento permitido en el plazo revisado.")
    return answer


#: Channels a customer who never answered ``/preferencias`` is taken to have authorised: the
#: e-mail address they gave the business for their invoices. SMS and WhatsApp always need the
#: customer's own yes; once they answer, their answer is all that counts (none: no reminders).
DEFAULT_CHANNELS = ("email",)


def reminder_channels(consents: Consents) -> tuple[str, ...]:
    if consents.channels or consents.updated_at:
        return tuple(consents.channels)
    return DEFAULT_CHANNELS


def address_of(customer: Customer, channel: str) -> str:
    return str(getattr(customer, ADDRESS_FIELD.get(channel, "email"), "") or "").strip()


def decide(
    rules: list[LoadedRule],
    tenant: TenantInfo,
    customer: Customer,
    channels: tuple[str, ...],
    available: set[str],
    history: tuple[PastContact, ...],
    moment: datetime,
) -> Decision:
    """The decision for one customer at ``moment`` over the stage's ``channels`` (in order)."""
    consents = consents_of(customer)
    authorised = reminder_channels(consents)
    candidates = [
        ch for ch in channels if ch in authorised and ch in available and address_of(customer, ch)
    ]
    if not candidates:
        if not authorised:
            reason = "El cliente no ha autorizado ningún canal de contacto."
        elif not [ch for ch in channels if ch in authorised]:
            reason = "Ningún canal de esta etapa está autorizado por el cliente."
        else:
            reason = (
                "El cliente no tiene dirección o teléfono en los canales autorizados disponibles."
            )
        return Decision("skipped", rule="engine.no_channel", reason=reason)
    quiet = (consents.quiet_start, consents.quiet_end) if consents.quiet_start else None
    zone = str(customer.timezone or "") or tenant.timezone
    answers = []
    for channel in candidates:
        request = ContactRequest(
            tenant=tenant,
            customer_id=int(customer.id),
            channel=channel,
            moment=moment,
            timezone=zone,
            authorized_channels=authorised,
            quiet_hours=quiet,
            history=history,
        )
        answers.append(earliest_moment(rules, request))
    allowed = [a for a in answers if a.at is not None]
    retrying = [a for a in answers if a.retry is not None]
    if not allowed and retrying:
        first = min(retrying, key=lambda a: (a.retry, candidates.index(a.channel)))
        return Decision(
            "deferred",
            first.channel,
            first.retry,
            rule=", ".join(first.rules),
            reason=" ".join(first.reasons),
        )
    if not allowed:
        rules_named = [r for a in answers for r in a.rules]
        reasons = [r for a in answers for r in a.reasons]
        return Decision(
            "skipped",
            rule=", ".join(dict.fromkeys(rules_named)) or "engine.no_channel",
            reason=" ".join(dict.fromkeys(reasons)) or "Ningún canal está permitido.",
        )
    best = min(allowed, key=lambda a: (a.at, candidates.index(a.channel)))
    assert best.at is not None
    others = tuple(a.channel for a in sorted(allowed, key=lambda a: candidates.index(a.channel)))
    others = tuple(ch for ch in others if ch != best.channel)
    if best.at <= moment:
        return Decision("send", best.channel, moment, others=others)
    return Decision(
        "deferred",
        best.channel,
        best.at,
        rule=", ".join(best.rules),
        reason=" ".join(best.reasons),
        others=others,
    )


async def histories(
    scope: TenantScope, customer_ids: list[int], moment: datetime
) -> dict[int, tuple[PastContact, ...]]:
    """Contacts made with each customer in the :data:`HISTORY` before ``moment``."""
    if not customer_ids:
        return {}
    out: dict[int, list[PastContact]] = {}
    for start in range(0, len(customer_ids), 500):
        chunk = customer_ids[start : start + 500]
        rows = await scope.select(
            ContactAttempt, ContactAttempt.customer, ContactAttempt.channel, ContactAttempt.sent_at
        ).where(
            ContactAttempt.customer.is_in(chunk),
            ContactAttempt.status.is_in(["sent", "delivered"]),
            ContactAttempt.sent_at >= moment - HISTORY,
            ContactAttempt.sent_at <= moment,
        )
        for row in rows:
            sent = row["sent_at"]
            if sent is None or not row["channel"]:
                continue
            out.setdefault(int(row["customer"]), []).append(
                PastContact(at=sent, channel=str(row["channel"]))
            )
    return {cid: tuple(sorted(v, key=lambda c: c.at)) for cid, v in out.items()}
