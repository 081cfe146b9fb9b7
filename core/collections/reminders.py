"""The reminder engine: plan a sweep, record it, send each contact once, fall back on failure.

* :func:`plan` — what the sweep would do at a moment, changing nothing (``recaudo reminders plan``).
* :func:`run_sweep` — the same decision, recorded: per customer, in one transaction, a
  ``dunning_mark`` per invoice (unique per invoice and stage: a second worker's insert conflicts
  and that worker backs off), a ``ContactAttempt`` under its unique key, a ``send_contact`` job
  available at the allowed moment and, for stages with an action, a ``dunning_action`` job.
* :func:`send_contact` — claims the contact (planned/deferred → sending, committed *before*
  the provider is called), re-checks the rules at the real moment (deferring again rather than
  sending early), renders the stage text and sends through the one chosen channel.
* :func:`contact_failed` — a permanent failure: the contact is marked failed and, when the stage
  allows, the next authorised channel gets its own contact.

The window that cannot be closed: a worker that dies after the provider accepted a message and
before ``sent`` was committed leaves the contact ``sending``; after :data:`CLAIM_STALE` it is
claimed and sent again (at least once). The message's ``idempotency_key`` (the contact's key)
lets providers that honour one drop the duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from recaudo.core.collections import contact_engine as engine
from recaudo.core.collections.policies import (
    PolicySpec,
    StageSpec,
    load_policies,
    render_template,
    stage_text,
)
from recaudo.core.collections.sweep import CustomerDue, due_invoices, group_by_customer
from recaudo.core.common.atomic import atomic
from recaudo.core.common.jsonfield import loads
from recaudo.core.messaging.i18n import Formatter, formatter_for, pick_language
from recaudo.core.platform.values import Attachment, OutgoingMessage, TenantInfo
from recaudo.core.tables import ContactAttempt, Customer, DunningMark, Invoice, OutboxJob
from recaudo.core.tenant_settings.tenant_rows import json_dict
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info

log = logging.getLogger(__name__)

#: A contact left ``sending`` this long (its worker died) may be claimed and sent again.
CLAIM_STALE = timedelta(minutes=10)


def clock() -> datetime:
    """The engine's now (tests replace it to walk a policy across weeks)."""
    return datetime.now(UTC)


class TransientFailure(RuntimeError):
    """The channel could not take the message now; the job is retried with backoff."""


class _Taken(Exception):
    """Another worker planned this customer's stage first: roll back and skip."""


@dataclass(frozen=True)
class PlanItem:
    customer_id: int
    customer_number: str
    customer_name: str
    outcome: str  # send, deferred, skipped
    channel: str
    stage: StageSpec
    invoice_ids: tuple[int, ...]
    invoice_numbers: tuple[str, ...]
    totals: tuple[tuple[str, int], ...]  # (currency, minor units)
    at: datetime | None
    rule: str
    reason: str
    others: tuple[str, ...] = ()


@dataclass
class Plan:
    tenant: TenantInfo
    at: datetime
    today: date
    items: list[PlanItem] = field(default_factory=list)
    stage_of: dict[int, int] = field(default_factory=dict)  # invoice id → its own stage id

    def of(self, outcome: str) -> list[PlanItem]:
        return [i for i in self.items if i.outcome == outcome]


async def _tenant(scope: TenantScope) -> Tenant:
    row = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    if row is None:
        raise LookupError(f"tenant {scope.tenant_id} not found")
    return row


async def _available_channels(scope: TenantScope) -> set[str]:
    from recaudo.core.messaging.notify import tenant_channels

    return {channel.name for _plugin, channel in await tenant_channels(scope)}


def _totals(due: CustomerDue) -> tuple[tuple[str, int], ...]:
    sums: dict[str, int] = {}
    for inv in due.invoices:
        sums[inv.currency] = sums.get(inv.currency, 0) + inv.balance
    return tuple(sorted(sums.items()))


async def plan(scope: TenantScope, at: datetime) -> Plan:
    """What a sweep at ``at`` would send, defer and skip. Writes nothing but the default policy."""
    if at.tzinfo is None:
        raise ValueError("the moment must carry its time zone")
    tenant = await _tenant(scope)
    info = tenant_info(tenant)
    today = at.astimezone(ZoneInfo(info.timezone)).date()
    policies = await load_policies(scope)
    result = Plan(info, at, today)
    found = await due_invoices(scope, policies, today)
    result.stage_of = {inv.invoice_id: inv.stage_id for inv in found}
    dues = group_by_customer(found, policies)
    if not dues:
        return result
    ids = [d.customer_id for d in dues]
    customers: dict[int, Customer] = {}
    for start in range(0, len(ids), 500):
        for row in await scope.objects(Customer).where(Customer.id.is_in(ids[start : start + 500])):
            customers[int(row.id)] = row
    rules = await engine.load_rules(info)
    available = await _available_channels(scope)
    history = await engine.histories(scope, ids, at)
    by_id = {inv.invoice_id: inv.number for d in dues for inv in d.invoices}
    for due in dues:
        customer = customers[due.customer_id]
        decision = engine.decide(
            rules,
            info,
            customer,
            due.stage.channels,
            available,
            history.get(due.customer_id, ()),
            at,
        )
        result.items.append(
            PlanItem(
                customer_id=due.customer_id,
                customer_number=str(customer.number),
                customer_name=str(customer.name),
                outcome=decision.outcome,
                channel=decision.channel,
                stage=due.stage,
                invoice_ids=tuple(due.invoice_ids),
                invoice_numbers=tuple(by_id[i] for i in due.invoice_ids),
                totals=_totals(due),
                at=decision.at,
                rule=decision.rule,
                reason=decision.reason,
                others=decision.others,
            )
        )
    return result


def contact_key(customer_id: int, stage_id: int, invoice_ids: tuple[int, ...]) -> str:
    return f"reminder:{customer_id}:{stage_id}:{','.join(str(i) for i in sorted(invoice_ids))}"[
        :200
    ]


async def _job_at(
    scope: TenantScope, actor: str, payload: dict[str, Any], key: str, at: datetime
) -> None:
    """An outbox job available at an absolute moment (a deferral is to a moment, not a delay)."""
    if await scope.exists(OutboxJob).where(OutboxJob.key == key):
        return
    job = OutboxJob(key=key, actor=actor, payload=payload, status="pending", available_at=at)
    job.created_at = clock()  # type: ignore[assignment]
    await scope.add(job)


async def _record(
    scope: TenantScope, item: PlanItem, stages: dict[int, int], now: datetime
) -> int | None:
    """One customer's contact, marks and jobs in one transaction; ``None`` if already planned."""
    status = {"send": "planned", "deferred": "deferred", "skipped": "skipped"}[item.outcome]

    async def work(_tx: Any) -> int:
        contact = ContactAttempt(
            customer=item.customer_id,
            key=contact_key(item.customer_id, item.stage.id, item.invoice_ids),
            kind="reminder",
            stage=item.stage.id,
            invoice_ids=list(item.invoice_ids),
            channel=item.channel,
            status=status,
            scheduled_for=item.at or now,
            rule=item.rule[:200],
            reason=item.reason[:500],
        )
        contact.created_at = contact.updated_at = now  # type: ignore[assignment]
        contact_id = await scope.add_unless_exists(contact)
        if contact_id is None:
            raise _Taken
        for invoice_id in item.invoice_ids:
            mark = DunningMark(
                invoice=invoice_id,
                stage=stages[invoice_id],
                contact=contact_id,
                status="skipped" if status == "skipped" else "sent",
            )
            mark.created_at = now  # type: ignore[assignment]
            if await scope.add_unless_exists(mark) is None:
                raise _Taken
        if status != "skipped":
            await _job_at(
                scope,
                "send_contact",
                {"contact_id": contact_id},
                f"send_contact:{contact_id}:0",
                item.at or now,
            )
        if item.stage.action:
            await _job_at(
                scope,
                "dunning_action",
                {"contact_id": contact_id},
                f"dunning_action:{contact_id}",
                now,
            )
        return contact_id

    try:
        return await atomic(work)
    except _Taken:
        return None


async def run_sweep(scope: TenantScope, at: datetime | None = None) -> list[int]:
    """Plan and record the tenant's reminders due at ``at``; returns the new contact ids."""
    at = at or clock()
    decided = await plan(scope, at)
    if not decided.items:
        return []
    created: list[int] = []
    for item in decided.items:
        contact_id = await _record(scope, item, decided.stage_of, at)
        if contact_id is not None:
            created.append(contact_id)
    return created


# --- sending ---------------------------------------------------------------------------------


async def _claim(scope: TenantScope, contact_id: int, now: datetime) -> ContactAttempt | None:
    table = ContactAttempt
    claimable = table.status.is_in(["planned", "deferred"]) | (
        (table.status == "sending") & (table.claimed_at < now - CLAIM_STALE)
    )
    rows = (
        await scope.update(
            table,
            {
                table.status: "sending",
                table.claimed_at: now,
                table.attempts: table.attempts + 1,
                table.updated_at: now,
            },
        )
        .where((table.id == contact_id) & claimable)
        .returning(table.id)
    )
    if not rows:
        return None
    return await scope.get(ContactAttempt, contact_id)


async def _set(scope: TenantScope, contact_id: int, **values: Any) -> None:
    table = ContactAttempt
    change = {getattr(table, k): v for k, v in values.items()}
    change[table.updated_at] = clock()
    await scope.update(table, change).where(table.id == contact_id)


async def _stage(scope: TenantScope, stage_id: int | None) -> StageSpec | None:
    if stage_id is None:
        return None
    for policy in (await load_policies(scope)).values():
        for stage in policy.stages:
            if stage.id == int(stage_id):
                return stage
    from recaudo.core.collections.policies import _stage as to_spec
    from recaudo.core.tables import DunningStage

    rows = await scope.select(DunningStage).where(DunningStage.id == int(stage_id))
    return to_spec(rows[0]) if rows else None


async def _open_invoices(scope: TenantScope, ids: list[int], today: date) -> list[Invoice]:
    """The contact's invoices that still need chasing (not paid, disputed, in a plan, promised)."""
    if not ids:
        return []
    rows = await scope.objects(Invoice).where(
        Invoice.id.is_in(ids),
        Invoice.status.is_in(["open", "partially_paid"]),
        Invoice.disputed == False,  # noqa: E712
        Invoice.plan_id.is_null(),
    )
    promised = await scope.raw(
        "SELECT pi.invoice FROM promise_invoice pi JOIN payment_promise pp ON pp.id = pi.promise "
        "WHERE pi.tenant = {tenant} AND pp.tenant = {tenant} AND pp.status = 'pending' "
        "AND pp.promised_date >= {}",
        today,
    )
    held = {int(r["invoice"]) for r in promised}
    return [r for r in rows if r.balance > 0 and int(r.id) not in held]


def _values(
    tenant: Tenant,
    info: TenantInfo,
    customer: Customer,
    invoices: list[Invoice],
    fmt: Formatter,
    today: date,
    link: str,
    language: str,
) -> dict[str, str]:
    branding = json_dict(tenant.branding)
    sums: dict[str, int] = {}
    for inv in invoices:
        sums[str(inv.currency)] = sums.get(str(inv.currency), 0) + inv.balance
    oldest = min(inv.due_date for inv in invoices)
    lines = [
        f"- {inv.number}: {fmt.money(inv.balance, str(inv.currency))} "
        f"({'due' if language == 'en' else 'vence'} {fmt.date(inv.due_date)})"
        for inv in sorted(invoices, key=lambda i: (i.due_date, i.id))
    ]
    contact = " · ".join(
        str(branding.get(k) or "") for k in ("support_email", "support_phone") if branding.get(k)
    )
    return {
        "nombre": str(customer.name),
        "negocio": str(branding.get("display_name") or info.name),
        "facturas": "\n".join(lines),
        "total": " + ".join(fmt.money(v, c) for c, v in sorted(sums.items())),
        "vencimiento": fmt.date(oldest),
        "dias": str(abs((today - oldest).days)),
        "enlace": link,
        "contacto": contact or str(info.name),
    }


async def _letter(
    scope: TenantScope, info: TenantInfo, customer: Customer, ids: list[int], language: str
) -> tuple[Attachment, ...]:
    try:
        from recaudo.core.messaging.letters import (  # type: ignore[import-not-found,unused-ignore]
            letter_attachment,
        )
    except ImportError:
        log.info("letters are not available yet: the final notice goes without its letter")
        return ()
    try:
        attachment = await letter_attachment(scope, info, customer, ids, language)
    except Exception:
        log.exception("the formal letter for customer %s could not be rendered", customer.id)
        return ()
    return (attachment,) if isinstance(attachment, Attachment) else ()


async def send_contact(scope: TenantScope, payload: dict[str, Any]) -> None:
    """Job ``send_contact`` {contact_id}: send one planned reminder, once, when the rules allow."""
    from recaudo.core.access.links import pay_link
    from recaudo.core.config import active
    from recaudo.core.messaging.notify import TransientDeliveryError, send_to_customer
    from recaudo.tenants.urls import portal_base_url

    now = clock()
    contact_id = int(payload["contact_id"])
    contact = await _claim(scope, contact_id, now)
    if contact is None:
        return  # sent, failed, skipped, or another worker is on it
    tenant = await _tenant(scope)
    info = tenant_info(tenant)
    customer = await scope.get(Customer, int(contact.customer))
    stage = await _stage(scope, contact.stage)
    today = now.astimezone(ZoneInfo(info.timezone)).date()
    ids = [int(i) for i in loads(contact.invoice_ids, []) or []]
    invoices = await _open_invoices(scope, ids, today)
    if customer is None or stage is None or not invoices:
        await _set(
            scope,
            contact_id,
            status="skipped",
            reason="Ya no hay saldo que recordar (pagado, en aclaración, en plan o prometido).",
        )
        return
    channels = tuple(dict.fromkeys([str(contact.channel), *stage.channels]))
    rules = await engine.load_rules(info)
    history = await engine.histories(scope, [int(customer.id)], now)
    decision = engine.decide(
        rules,
        info,
        customer,
        channels,
        await _available_channels(scope),
        history.get(int(customer.id), ()),
        now,
    )
    if decision.outcome == "skipped":
        await _set(
            scope,
            contact_id,
            status="skipped",
            rule=decision.rule[:200],
            reason=decision.reason[:500],
        )
        return
    if decision.outcome == "deferred":
        assert decision.at is not None

        async def defer(_tx: Any) -> None:
            await _set(
                scope,
                contact_id,
                status="deferred",
                channel=decision.channel,
                scheduled_for=decision.at,
                rule=decision.rule[:200],
                reason=decision.reason[:500],
            )
            await _job_at(
                scope,
                "send_contact",
                {"contact_id": contact_id},
                f"send_contact:{contact_id}:{int(contact.attempts)}",
                decision.at,  # type: ignore[arg-type]
            )

        await atomic(defer)
        return
    channel = decision.channel
    await _set(scope, contact_id, channel=channel)
    settings = active()
    preferred = str(customer.locale or "").split("_")[0] or None
    language = pick_language(None, preferred, info.locale)
    zone = str(customer.timezone or "") or info.timezone
    fmt = formatter_for(language, info.locale, zone)
    address_form = str(json_dict(tenant.branding).get("address_form") or "tu")
    invoice_ids = sorted(int(i.id) for i in invoices)
    link = await pay_link(
        scope, portal_base_url(info.slug, settings), int(customer.id), invoice_ids
    )
    values = _values(tenant, info, customer, invoices, fmt, today, link, language)
    text = stage_text(stage, language, address_form)
    attachments = (
        await _letter(scope, info, customer, invoice_ids, language)
        if stage.action == "letter"
        else ()
    )
    message = OutgoingMessage(
        to="",
        subject=render_template(text["subject"], values)[:300],
        text=render_template(text["body"], values),
        kind="reminder",
        language=language,
        template=f"recordatorio_{max(0, stage.offset_days)}"
        if stage.offset_days >= 0
        else "recordatorio_previo",
        params=(values["nombre"], values["total"], values["vencimiento"], link),
        link=link,
        idempotency_key=str(contact.key),
        attachments=attachments,
    )
    try:
        entry = await send_to_customer(
            scope,
            info,
            customer,
            message,
            secret_key=settings.secret_key,
            secrets=[link.rsplit("/", 1)[1]],
            keep_secrets_in_log=settings.dev_outbox,
            only=(channel,),
            contact_id=contact_id,
            raise_transient=True,
        )
    except TransientDeliveryError as exc:
        # Network, provider 5xx or 429: not the customer's fault. Put the contact back and fail
        # the job, so the outbox retries it with backoff on the same channel; no fallback yet.
        await _set(scope, contact_id, status="planned")
        raise TransientFailure(
            f"channel {channel} failed for contact {contact_id}; retried"
        ) from exc
    if entry is None:
        await _set(scope, contact_id, status="failed", error="El canal no está disponible.")
        await contact_failed(scope, {"contact_id": contact_id})
        return
    if entry.status == "failed" and not entry.error and not entry.provider_id:
        # The channel raised (network, provider 5xx): not the customer's fault. Put the contact
        # back and fail the job, so the outbox retries it with backoff; no fallback yet.
        await _set(scope, contact_id, status="planned", notification=entry.id)
        raise TransientFailure(f"channel {channel} failed for contact {contact_id}; retried")
    if entry.status == "failed":
        await _set(
            scope,
            contact_id,
            status="failed",
            notification=entry.id,
            provider_id=str(entry.provider_id or "")[:120],
            error=str(entry.error or "")[:500],
        )
        await contact_failed(scope, {"contact_id": contact_id})
        return
    await _set(
        scope,
        contact_id,
        status="sent",
        sent_at=now,
        notification=entry.id,
        provider_id=str(entry.provider_id or "")[:120],
        rule="",
        reason="",
    )


def _base_key(key: str) -> str:
    return key.split(":fallback:")[0]


async def contact_failed(scope: TenantScope, payload: dict[str, Any]) -> None:
    """Job ``contact_failed`` {contact_id}: the channel refused the message for good.

    The contact is marked failed; if its stage allows a fallback, the customer's next authorised
    channel (not yet tried for this reminder) gets a new contact, judged by the rules again."""
    now = clock()
    contact_id = int(payload["contact_id"])
    contact = await scope.get(ContactAttempt, contact_id)
    if contact is None or contact.kind != "reminder":
        return
    if contact.status != "failed":
        await _set(scope, contact_id, status="failed")
    stage = await _stage(scope, contact.stage)
    if stage is None or not stage.fallback:
        return
    base = _base_key(str(contact.key))
    chain = await scope.select(ContactAttempt, ContactAttempt.key, ContactAttempt.channel).where(
        (ContactAttempt.customer == contact.customer)
        & ((ContactAttempt.key == base) | ContactAttempt.key.like(base + ":fallback:%"))
    )
    tried = {str(r["channel"]) for r in chain} | {str(contact.channel)}
    remaining = tuple(ch for ch in stage.channels if ch not in tried)
    if not remaining:
        return
    customer = await scope.get(Customer, int(contact.customer))
    if customer is None:
        return
    info = tenant_info(await _tenant(scope))
    rules = await engine.load_rules(info)
    history = await engine.histories(scope, [int(customer.id)], now)
    decision = engine.decide(
        rules,
        info,
        customer,
        remaining,
        await _available_channels(scope),
        history.get(int(customer.id), ()),
        now,
    )
    if decision.outcome == "skipped":
        return
    at = decision.at or now

    async def work(_tx: Any) -> None:
        row = ContactAttempt(
            customer=int(customer.id),
            key=f"{base}:fallback:{decision.channel}"[:200],
            kind="reminder",
            stage=contact.stage,
            invoice_ids=loads(contact.invoice_ids, []),
            channel=decision.channel,
            status="planned" if decision.outcome == "send" else "deferred",
            scheduled_for=at,
            rule=decision.rule[:200],
            reason=decision.reason[:500],
        )
        row.created_at = row.updated_at = now  # type: ignore[assignment]
        new_id = await scope.add_unless_exists(row)
        if new_id is not None:
            await _job_at(
                scope, "send_contact", {"contact_id": new_id}, f"send_contact:{new_id}:0", at
            )

    await atomic(work)


# --- stage actions ---------------------------------------------------------------------------


async def dunning_action(scope: TenantScope, payload: dict[str, Any]) -> None:
    """Job ``dunning_action`` {contact_id}: what the stage asks besides the message.

    ``call``/``handoff`` put a task in the staff's list (a contact of that kind, ``planned``);
    ``late_fee``, ``pause_autopay`` call the areas that own them when they are installed."""
    contact = await scope.get(ContactAttempt, int(payload["contact_id"]))
    if contact is None:
        return
    stage = await _stage(scope, contact.stage)
    if stage is None or not stage.action:
        return
    ids = [int(i) for i in loads(contact.invoice_ids, []) or []]
    now = clock()
    if stage.action in ("call", "handoff"):
        task = ContactAttempt(
            customer=int(contact.customer),
            key=f"{stage.action}:{_base_key(str(contact.key))}"[:200],
            kind=stage.action,
            stage=contact.stage,
            invoice_ids=ids,
            channel="phone" if stage.action == "call" else "",
            status="planned",
            scheduled_for=now,
            reason=(
                "Llamar al cliente por su saldo vencido."
                if stage.action == "call"
                else "Pasar el cobro a gestión personal."
            ),
        )
        task.created_at = task.updated_at = now  # type: ignore[assignment]
        await scope.add_unless_exists(task)
        return
    tenant = tenant_info(await _tenant(scope))
    today = now.astimezone(ZoneInfo(tenant.timezone)).date()
    await _call_other_area(stage.action, scope, int(contact.customer), ids, today)


async def _call_other_area(
    action: str, scope: TenantScope, customer_id: int, ids: list[int], today: date
) -> None:
    """Late fees and autopay live in other areas; until they are installed this logs and goes on."""
    try:
        if action == "late_fee":
            from recaudo.core.collections.late_fees import (  # type: ignore[import-not-found,unused-ignore]
                charge_late_fees,
            )

            await charge_late_fees(scope, at=today, invoice_ids=ids)
        elif action == "pause_autopay":
            from recaudo.core.payments.autopay import (  # type: ignore[import-not-found,unused-ignore]
                pause_retries,
            )

            await pause_retries(scope, customer_id, ids)
    except ImportError:
        log.warning("stage action %s is not available in this installation; skipped", action)


Handler = Callable[[TenantScope, dict[str, Any]], Any]
__all__ = [
    "Plan",
    "PlanItem",
    "PolicySpec",
    "contact_failed",
    "dunning_action",
    "plan",
    "run_sweep",
    "send_contact",
]
