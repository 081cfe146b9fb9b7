"""The reminder engine: the sweep's decision, one message per stage, rules deferring, fallback."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from recaudo.core import config
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.collections import reminders
from recaudo.core.config import Settings
from recaudo.core.hookspecs import hookimpl
from recaudo.core.messaging.preferences import save_consents
from recaudo.core.platform.extensions import ContactRule, NotificationChannel
from recaudo.core.platform.host import PluginHost
from recaudo.core.platform.values import DeliveryResult, OutgoingMessage, RuleDecision
from recaudo.core.tables import (
    ContactAttempt,
    DunningMark,
    Invoice,
    PaymentPromise,
    PromiseInvoice,
)
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope
from tests.clock_support import drain_at
from tests.conftest import make_tenant

BOGOTA = ZoneInfo("America/Bogota")
sent: list[tuple[str, OutgoingMessage]] = []


class Mail(NotificationChannel):
    name = "email"
    label = "Correo de prueba"
    address_kind = "email"

    async def send(self, ctx: Any, message: OutgoingMessage) -> DeliveryResult:
        sent.append(("email", message))
        return DeliveryResult(ok=True, provider_id=f"m{len(sent)}")


class Sms(NotificationChannel):
    name = "sms"
    label = "SMS de prueba"
    address_kind = "phone"

    async def send(self, ctx: Any, message: OutgoingMessage) -> DeliveryResult:
        sent.append(("sms", message))
        if message.to.endswith("0000"):
            return DeliveryResult(ok=False, error="número inválido", permanent=True)
        return DeliveryResult(ok=True, provider_id=f"s{len(sent)}")


class Channels:
    @hookimpl
    def recaudo_notification_channels(self) -> list[NotificationChannel]:
        return [Mail(), Sms()]


class NoSundays(ContactRule):
    """A stand-in for a country's law: never on Sundays, 8:00–19:00 otherwise."""

    name = "test.no_sundays"
    label = "Prueba"
    countries = ("CO",)

    def check(self, ctx: Any, request: Any) -> RuleDecision | None:
        local = request.moment.astimezone(ZoneInfo(request.timezone))
        if local.weekday() == 6:
            nxt = (local + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
            return RuleDecision("test.sunday", "Los domingos no se contacta.", nxt)
        if local.hour < 8 or local.hour >= 19:
            day = local if local.hour < 8 else local + timedelta(days=1)
            nxt = day.replace(hour=8, minute=0, second=0, microsecond=0)
            return RuleDecision("test.hours", "Fuera del horario permitido.", nxt)
        return None


class OnlyMexico(ContactRule):
    name = "test.mexico"
    label = "Solo México"
    countries = ("MX",)

    def check(self, ctx: Any, request: Any) -> RuleDecision | None:
        return RuleDecision("test.mexico", "No aplica aquí.", channel_refused=True)


class Rules:
    @hookimpl
    def recaudo_contact_rules(self) -> list[ContactRule]:
        return [NoSundays(), OnlyMexico()]


@pytest.fixture
async def world(database: str, host: PluginHost, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    sent.clear()
    host.register(Channels(), name="testchannels", source="test")
    host.register(Rules(), name="testrules", source="test")
    settings = Settings(
        env="development",
        database_url=database,
        secret_key="test-secret-" + "s" * 40,
        base_url="http://testserver",
    )
    config.activate(settings)
    tenant = await make_tenant("clinica", "CO", "COP")
    scope = TenantScope(int(tenant.id))
    await set_plugin(scope, "testchannels", enabled=True)
    clock: dict[str, datetime] = {"now": datetime(2026, 12, 1, 15, tzinfo=UTC)}
    monkeypatch.setattr(reminders, "clock", lambda: clock["now"])
    return {"scope": scope, "clock": clock}


async def _customer(
    scope: TenantScope, number: str, channels: tuple[str, ...] = ("email",), phone: str = ""
) -> int:
    customer = await create_customer(
        scope,
        NewCustomer(number, f"Cliente {number}", "", "CO", f"{number.lower()}@example.com", phone),
        "CO",
    )
    await save_consents(scope, int(customer.id), list(channels), "", "")
    return int(customer.id)


async def _invoice(scope: TenantScope, customer_id: int, number: str, due: date) -> int:
    invoice = await create_invoice(
        scope,
        NewInvoice(
            customer_id=customer_id,
            number=number,
            issue_date=due - timedelta(days=30),
            due_date=due,
            currency="COP",
            lines=(NewLine("Consulta", 1, 10_000_000),),
            tax=0,
            description="Consulta",
        ),
    )
    return int(invoice.id)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BOGOTA)


async def _day(world: dict[str, Any], moment: datetime) -> list[int]:
    world["clock"]["now"] = moment
    created = await reminders.run_sweep(world["scope"], moment)
    await drain_at(moment)
    return created


async def test_walking_the_default_policy_sends_each_stage_once(world: dict[str, Any]) -> None:
    scope: TenantScope = world["scope"]
    due = date(2026, 9, 2)  # a Wednesday
    chased = await _customer(scope, "C1")
    await _invoice(scope, chased, "F-1", due)
    paid = await _customer(scope, "C2")
    paid_id = await _invoice(scope, paid, "F-2", due)
    await scope.update(Invoice, {Invoice.status: "paid"}).where(Invoice.id == paid_id)
    disputed = await _customer(scope, "C3")
    disputed_id = await _invoice(scope, disputed, "F-3", due)
    await scope.update(Invoice, {Invoice.disputed: True}).where(Invoice.id == disputed_id)
    planned = await _customer(scope, "C4")
    planned_id = await _invoice(scope, planned, "F-4", due)
    await scope.update(Invoice, {Invoice.plan_id: 99}).where(Invoice.id == planned_id)

    for offset in range(-7, 66):
        await _day(world, _at(due + timedelta(days=offset)))

    emails = [m for ch, m in sent if ch == "email"]
    assert {m.to for m in emails} == {"c1@example.com"}, "paid/disputed/in-plan are never chased"
    subjects = [m.subject for m in emails]
    assert len(subjects) == 6, subjects  # -5, 0, +3, +10, +30, +60: one message each
    assert "vence pronto" in subjects[0] and "vence hoy" in subjects[1]
    assert all(m.idempotency_key.startswith("reminder:") for m in emails)
    assert len({m.idempotency_key for m in emails}) == 6
    assert "/acceso/" in emails[0].link and "$" in emails[0].text
    marks = await scope.count(DunningMark)
    assert marks == 6
    tasks = await scope.select(ContactAttempt, ContactAttempt.kind).where(
        ContactAttempt.kind.is_in(["call", "handoff"])
    )
    assert sorted(r["kind"] for r in tasks) == ["call", "handoff"], "staff get their tasks"


async def test_a_promise_pauses_reminders_and_a_broken_one_resumes(world: dict[str, Any]) -> None:
    scope: TenantScope = world["scope"]
    due = date(2026, 9, 2)
    customer = await _customer(scope, "C1")
    invoice_id = await _invoice(scope, customer, "F-1", due)
    promise = PaymentPromise(
        customer=customer, currency="COP", amount=10_000_000, promised_date=due + timedelta(20)
    )
    promise.created_at = datetime.now(UTC)  # type: ignore[assignment]
    await scope.add(promise)
    await scope.add(PromiseInvoice(promise=promise.id, invoice=invoice_id))

    for offset in range(0, 21):
        await _day(world, _at(due + timedelta(days=offset)))
    assert sent == [], "nothing while the promise is pending and not due"

    await scope.update(PaymentPromise, {PaymentPromise.status: "broken"}).where(
        PaymentPromise.id == promise.id
    )
    await _day(world, _at(due + timedelta(days=21)))
    assert len(sent) == 1 and "saldo vencido" in sent[0][1].subject, (
        "the current stage (+10) goes out; missed ones are not sent late"
    )


async def test_sunday_defers_to_monday_and_never_sends_early(world: dict[str, Any]) -> None:
    scope: TenantScope = world["scope"]
    sunday = date(2026, 12, 6)
    customer = await _customer(scope, "C1")
    await _invoice(scope, customer, "F-1", sunday - timedelta(days=3))
    skipped = await _customer(scope, "C2", channels=())
    await _invoice(scope, skipped, "F-2", sunday)

    decided = await reminders.plan(scope, _at(sunday))
    assert decided.of("send") == []
    [deferred] = decided.of("deferred")
    assert deferred.at == datetime(2026, 12, 7, 8, tzinfo=BOGOTA)
    # Every rule that held it back is named (the installed Ley 2300 plugin objects too).
    assert "test.sunday" in deferred.rule.split(", ") and "domingos" in deferred.reason
    [skip] = decided.of("skipped")
    assert "autorizado" in skip.reason
    assert await scope.count(ContactAttempt) == 0, "a plan writes nothing"

    await _day(world, _at(sunday))
    await _day(world, _at(sunday, 23))
    assert sent == []
    contact = await scope.objects(ContactAttempt).where(ContactAttempt.customer == customer).first()
    assert contact.status == "deferred" and "test.sunday" in contact.rule
    world["clock"]["now"] = datetime(2026, 12, 7, 8, tzinfo=BOGOTA)
    await drain_at(datetime(2026, 12, 7, 8, tzinfo=BOGOTA))
    assert len(sent) == 1
    contact = await scope.get(ContactAttempt, int(contact.id))
    assert contact.status == "sent" and contact.sent_at is not None


async def test_a_permanent_failure_falls_back_to_the_next_channel(world: dict[str, Any]) -> None:
    scope: TenantScope = world["scope"]
    wednesday = date(2026, 12, 9)
    customer = await _customer(scope, "C1", channels=("sms", "email"), phone="+573000000000")
    await _invoice(scope, customer, "F-1", wednesday)  # stage 0: email, whatsapp, sms
    # Make the SMS channel the stage's first choice for this test.
    from recaudo.core.collections.policies import load_policies
    from recaudo.core.tables import DunningStage

    await load_policies(scope)
    await scope.update(DunningStage, {DunningStage.channels: ["sms", "email"]}).where(
        DunningStage.offset_days == 0
    )
    await _day(world, _at(wednesday))
    assert [ch for ch, _m in sent] == ["sms", "email"]
    rows = await scope.select(ContactAttempt, ContactAttempt.channel, ContactAttempt.status).where(
        ContactAttempt.kind == "reminder"
    )
    assert sorted((r["channel"], r["status"]) for r in rows) == [
        ("email", "sent"),
        ("sms", "failed"),
    ]


async def test_two_sweeps_at_once_plan_a_stage_once(world: dict[str, Any]) -> None:
    scope: TenantScope = world["scope"]
    wednesday = date(2026, 12, 9)
    for n in range(6):
        customer = await _customer(scope, f"C{n}")
        await _invoice(scope, customer, f"F-{n}", wednesday - timedelta(days=3))
    moment = _at(wednesday)
    first, second = await asyncio.gather(
        reminders.run_sweep(scope, moment), reminders.run_sweep(scope, moment)
    )
    assert len(first) + len(second) == 6
    assert await scope.count(DunningMark) == 6
    assert await reminders.run_sweep(scope, moment) == []
    world["clock"]["now"] = moment
    await drain_at(moment)
    assert len(sent) == 6


async def test_stage_actions_call_the_other_areas_or_go_on_without_them(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys
    import types

    from recaudo.core.collections.policies import load_policies
    from recaudo.core.tables import DunningStage

    scope: TenantScope = world["scope"]
    wednesday = date(2026, 12, 9)
    customer = await _customer(scope, "C1")
    invoice_id = await _invoice(scope, customer, "F-1", wednesday - timedelta(days=3))
    await load_policies(scope)
    await scope.update(DunningStage, {DunningStage.action: "late_fee"}).where(
        DunningStage.offset_days == 3
    )
    charged: list[tuple[date, list[int]]] = []

    async def charge_late_fees(_scope: TenantScope, at: date, invoice_ids: list[int]) -> None:
        charged.append((at, invoice_ids))

    fake = types.ModuleType("recaudo.core.collections.late_fees")
    fake.charge_late_fees = charge_late_fees  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "recaudo.core.collections.late_fees", fake)
    await _day(world, _at(wednesday))
    assert charged == [(wednesday, [invoice_id])]
    assert len(sent) == 1

    # Without the area installed (pause_autopay here), the reminder still goes and the job ends.
    other = await _customer(scope, "C2")
    await _invoice(scope, other, "F-2", wednesday - timedelta(days=3))
    await scope.update(DunningStage, {DunningStage.action: "pause_autopay"}).where(
        DunningStage.offset_days == 3
    )
    monkeypatch.setitem(sys.modules, "recaudo.core.payments.autopay", None)
    world["clock"]["now"] = _at(wednesday, 11)
    await reminders.run_sweep(scope, _at(wednesday, 11))
    assert set(await drain_at(_at(wednesday, 11))) == {"done"}
    assert len(sent) == 2


class Broken(ContactRule):
    name = "test.broken"
    label = "Rota"

    def check(self, ctx: Any, request: Any) -> RuleDecision | None:
        raise RuntimeError("bug in a legal rule")


class BrokenRules:
    @hookimpl
    def recaudo_contact_rules(self) -> list[ContactRule]:
        return [Broken()]


async def test_a_failing_rule_holds_the_message_back(
    world: dict[str, Any], host: PluginHost
) -> None:
    scope: TenantScope = world["scope"]
    host.register(BrokenRules(), name="brokenrules", source="test")
    wednesday = date(2026, 12, 9)
    customer = await _customer(scope, "C1")
    await _invoice(scope, customer, "F-1", wednesday)
    decided = await reminders.plan(scope, _at(wednesday))
    assert decided.of("send") == []
    [item] = decided.of("deferred")
    assert item.rule == "brokenrules.error" and item.at is not None and item.at > _at(wednesday)


async def test_another_tenants_contact_is_never_sent(world: dict[str, Any]) -> None:
    scope: TenantScope = world["scope"]
    wednesday = date(2026, 12, 9)
    customer = await _customer(scope, "C1")
    await _invoice(scope, customer, "F-1", wednesday)
    [contact_id] = await reminders.run_sweep(scope, _at(wednesday))
    other = TenantScope(int((await make_tenant("otra", "CO", "COP")).id))
    world["clock"]["now"] = _at(wednesday)
    await reminders.send_contact(other, {"contact_id": contact_id})
    await reminders.contact_failed(other, {"contact_id": contact_id})
    await reminders.dunning_action(other, {"contact_id": contact_id})
    assert sent == []
    contact = await scope.get(ContactAttempt, contact_id)
    assert contact is not None and contact.status == "planned"


async def test_a_transient_channel_error_is_retried_not_failed_over(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    scope: TenantScope = world["scope"]
    wednesday = date(2026, 12, 9)
    customer = await _customer(scope, "C1", channels=("email", "sms"), phone="+573001112233")
    await _invoice(scope, customer, "F-1", wednesday)
    real = Mail.send
    calls = {"n": 0}

    async def flaky(self: Mail, ctx: Any, message: OutgoingMessage) -> DeliveryResult:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("provider unreachable")
        return await real(self, ctx, message)

    monkeypatch.setattr(Mail, "send", flaky)
    [contact_id] = await reminders.run_sweep(scope, _at(wednesday))
    world["clock"]["now"] = _at(wednesday)
    assert "pending" in await drain_at(_at(wednesday)), "the send job waits for its retry"
    contact = await scope.get(ContactAttempt, contact_id)
    assert contact is not None and contact.status == "planned"
    later = _at(wednesday, 11)
    world["clock"]["now"] = later
    assert await drain_at(later) == ["done"]  # only the retried send_contact was due
    assert [ch for ch, _m in sent] == ["email"], "sent once, through the same channel"
    contact = await scope.get(ContactAttempt, contact_id)
    assert contact is not None and contact.status == "sent"


def test_a_customer_who_never_answered_gets_email_reminders_only() -> None:
    from recaudo.core.collections.contact_engine import reminder_channels
    from recaudo.core.messaging.preferences import Consents

    assert reminder_channels(Consents(())) == ("email",)
    # Once they answer, their answer is all that counts: "none" means no reminders at all.
    assert reminder_channels(Consents((), updated_at="2026-12-01T10:00:00+00:00")) == ()
    assert reminder_channels(Consents(("sms",), updated_at="2026-12-01T10:00:00+00:00")) == ("sms",)


async def test_the_reminder_link_opens_the_pay_page_with_exactly_its_invoices(
    world: dict[str, Any],
) -> None:
    from recaudo.core.access.links import token_hash
    from recaudo.core.tables import MagicLink

    scope: TenantScope = world["scope"]
    due = date(2026, 9, 2)  # a Wednesday
    customer = await _customer(scope, "C1")
    first = await _invoice(scope, customer, "F-1", due)
    second = await _invoice(scope, customer, "F-2", due)
    later = await _invoice(scope, customer, "F-3", due + timedelta(days=40))
    await _day(world, _at(due))
    [(channel, message)] = sent
    assert channel == "email" and "vence hoy" in message.subject
    # One message for the customer's due invoices; the link signs in and opens the pay page
    # with exactly those selected (the one due in 40 days is not part of this reminder).
    link = (
        await scope.objects(MagicLink)
        .where(MagicLink.token_hash == token_hash(message.link.rsplit("/", 1)[1]))
        .first()
    )
    assert link is not None and int(link.customer) == customer
    assert link.target == f"/pagar?factura={min(first, second)}&factura={max(first, second)}"
    assert str(later) not in link.target


async def test_the_scheduled_sweep_leaves_test_tenants_alone(world: dict[str, Any]) -> None:
    from recaudo.workers.dunning import dunning_sweep

    scope: TenantScope = world["scope"]
    due = date(2026, 9, 2)
    world["clock"]["now"] = _at(due)
    await _invoice(scope, await _customer(scope, "C1"), "F-1", due)
    trial = await make_tenant("prueba", "CO", "COP", test=True)
    trial_scope = TenantScope(int(trial.id))
    await set_plugin(trial_scope, "testchannels", enabled=True)
    await _invoice(trial_scope, await _customer(trial_scope, "T1"), "T-1", due)

    await dunning_sweep(trial_scope, {})
    await dunning_sweep(scope, {})
    assert await trial_scope.count(ContactAttempt) == 0, "a trial never chases on its own"
    assert await scope.count(ContactAttempt) == 1
    # On purpose, a test tenant is swept like any other.
    assert len(await reminders.run_sweep(trial_scope, _at(due))) == 1
