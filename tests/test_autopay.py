"""Autopay: enrolling in the portal through the sandbox's own "save card" page, charges on due
dates keyed before charging, reminders before each charge, retries, pause, and isolation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from recaudo.core.common.jsonfield import loads
from recaudo.core.payments.autopay import (
    begin_enrollment,
    complete_enrollment,
    current_enrollment,
    local_today,
    pause_retries,
    plan_tenant,
    retry_days,
    run_charge,
    setup_checkout,
)
from recaudo.core.payments.registry import all_methods
from recaudo.core.platform.context import context_for
from recaudo.core.platform.jobs import Job
from recaudo.core.tables import (
    AuditEvent,
    AutopayCharge,
    AutopayEnrollment,
    Invoice,
    OutboxJob,
    Payment,
    PaymentPlan,
    PlanInstallment,
    Ticket,
)
from recaudo.plugins.sandbox import card_token
from recaudo.plugins.sandbox.tables import SandboxCharge
from recaudo.tenants.service import tenant_info
from recaudo.workers import jobs
from tests.clock_support import drain_at
from tests.portal_support import Env, login, make_shop, open_env, post_form

VISA_OK = "4242 4242 4242 4242"
DECLINED = "4000000000000002"
MINUTE = timedelta(minutes=1)


@pytest.fixture
async def env(database: str, host: object) -> AsyncIterator[Env]:
    e = await open_env(database)
    await login(e.client, e.shop, e.customer)
    # The messages area renders "customer_message"; here the job only has to exist.
    if jobs.find("customer_message") is None:

        async def noop(_scope: Any, _payload: dict[str, Any]) -> None:
            return None

        jobs.register(Job("customer_message", noop, queue="messages"))
    yield e
    await e.client.aclose()


async def enroll(env: Env, card: str = "4242424242424242", what: str = "both") -> AutopayEnrollment:
    """Enroll the first customer directly (the portal flow has its own test)."""
    plugin, method = "sandbox", all_methods()["sandbox"][1]
    row = await begin_enrollment(
        env.shop.scope, int(env.customer.id), plugin=plugin, method=method, what=what, days_before=3
    )
    outcome = "approve" if card != DECLINED else "decline"
    token = card_token(env.shop.slug, "Visa", outcome, card[-4:], "12/30")
    ctx = await context_for(tenant_info(env.shop.tenant), plugin)
    instrument = await method.save_instrument(
        ctx, setup_checkout(row, env.customer, "MXN", ""), token
    )
    return await complete_enrollment(env.shop.scope, row, instrument, actor="test")


async def charges(env: Env) -> list[AutopayCharge]:
    return (
        await env.shop.scope.objects(AutopayCharge)
        .where(AutopayCharge.attempt > 0)
        .order_by(AutopayCharge.id)
    )


# --- the portal -----------------------------------------------------------------------------


async def test_enroll_on_the_sandbox_page_then_see_and_cancel(env: Env) -> None:
    base = env.shop.prefix + "/pago-automatico"
    page = await env.client.get(base)
    assert page.status_code == 200
    assert "Activar pago automático" in page.text and 'id="autopay-terms"' in page.text
    assert "a los 1, 3, 7 días de cada intento" in page.text, "the tenant's retry policy"
    assert 'value="sandbox"' in page.text

    # Without consent: a clear 400 and nothing recorded.
    form = {"metodo": "sandbox", "cobrar": "both", "aviso": "3"}
    refused = await post_form(env.client, base + "/inscribir", form)
    assert refused.status_code == 400 and "aceptar las condiciones" in refused.text
    assert await env.shop.scope.count(AutopayEnrollment) == 0

    started = await post_form(env.client, base + "/inscribir", {**form, "acepto": "si"})
    assert started.status_code == 303
    card_page_url = started.headers["location"]
    assert card_page_url.startswith(f"/sandbox/tarjetas/{env.shop.slug}/")
    card_page = await env.client.get(card_page_url)
    assert card_page.status_code == 200 and "4242 4242 4242 4242" in card_page.text

    wrong = await post_form(env.client, card_page_url, {"numero": "1234", "vence": "12/30"})
    assert wrong.status_code == 400 and "números de prueba" in wrong.text
    saved = await post_form(
        env.client, card_page_url, {"numero": VISA_OK, "vence": "12/30", "accion": "guardar"}
    )
    assert saved.status_code == 303
    back = saved.headers["location"].split("http://testserver", 1)[1]
    assert "token=sbxcard." in back and "4242424242424242" not in back
    done = await env.client.get(back)
    assert done.status_code == 303 and done.headers["location"].endswith("aviso=inscrito")
    # The one-time return cannot be replayed.
    assert (await env.client.get(back)).status_code == 404

    shown = await env.client.get(base)
    assert 'data-status="active"' in shown.text and "Visa •••• 4242" in shown.text
    row = await current_enrollment(env.shop.scope, int(env.customer.id))
    assert row is not None and row.provider_instrument_id.startswith("sbxcard.")
    consent = await env.shop.scope.objects(AuditEvent).where(
        AuditEvent.action == "autopay.enrolled"
    )
    assert len(consent) == 1
    data = loads(consent[0].data, {})
    assert data["terms_version"] and data["covers"] == "both" and data["instrument"]

    cancelled = await post_form(env.client, base + "/cancelar", {})
    assert cancelled.status_code == 303 and cancelled.headers["location"].endswith("cancelado")
    assert await current_enrollment(env.shop.scope, int(env.customer.id)) is None
    after = await env.client.get(base)
    assert 'id="autopay-enrollment"' not in after.text and "Activar pago automático" in after.text
    english = await env.client.get(base + "?lang=en")
    assert "Turn on automatic payment" in english.text and "I accept these terms" in english.text


async def test_portal_bad_input_changes_nothing(env: Env) -> None:
    base = env.shop.prefix + "/pago-automatico"
    for form, text in [
        ({"metodo": "mercadopago", "cobrar": "both", "aviso": "3"}, "Elige un medio de pago"),
        ({"metodo": "sandbox", "cobrar": "todo", "aviso": "3"}, "qué quieres pagar"),
        ({"metodo": "sandbox", "cobrar": "both", "aviso": "99"}, "días de aviso"),
    ]:
        response = await post_form(env.client, base + "/inscribir", {**form, "acepto": "si"})
        assert response.status_code == 400 and text in response.text, response.text[-500:]
    assert await env.shop.scope.count(AutopayEnrollment) == 0
    # Without the CSRF token: refused.
    bare = await env.client.post(base + "/cancelar", data={})
    assert bare.status_code == 403


async def test_return_with_another_tenants_or_customers_enrollment_is_404(env: Env) -> None:
    base = env.shop.prefix + "/pago-automatico"
    form = {"metodo": "sandbox", "cobrar": "both", "aviso": "3", "acepto": "si"}
    # Another customer of the same shop starts enrolling.
    other_client = await env.new_client()
    await login(other_client, env.shop, env.shop.customers[1])
    started = await post_form(other_client, base + "/inscribir", form)
    assert started.status_code == 303
    theirs = await env.shop.scope.objects(AutopayEnrollment).first()
    token = card_token(env.shop.slug, "Visa", "approve", "4242", "12/30")
    query = f"?estado={theirs.setup_token}&token={token}"
    assert (await env.client.get(f"{base}/tarjeta/{theirs.id}{query}")).status_code == 404
    # Another tenant's pending enrollment, with its right state: 404 here too.
    foreign_shop = await make_shop("otra")
    await login(other_client, foreign_shop, foreign_shop.customers[0])
    started = await post_form(
        other_client, foreign_shop.prefix + "/pago-automatico/inscribir", form
    )
    assert started.status_code == 303
    foreign = await foreign_shop.scope.objects(AutopayEnrollment).first()
    query = f"?estado={foreign.setup_token}&token={token}"
    assert (await env.client.get(f"{base}/tarjeta/{foreign.id}{query}")).status_code == 404
    assert (await env.client.get(f"{base}/tarjeta/abc{query}")).status_code == 404
    assert (await env.client.get(f"{base}/tarjeta/99999999999999999999")).status_code == 404
    # Nothing was activated anywhere.
    for scope in (env.shop.scope, foreign_shop.scope):
        assert not await scope.exists(AutopayEnrollment).where(AutopayEnrollment.status == "active")
    await other_client.aclose()


# --- charges --------------------------------------------------------------------------------


async def test_due_invoices_are_charged_once_and_paid(env: Env) -> None:
    await enroll(env)
    now = datetime.now(UTC)
    ids = env.invoice_ids()
    created = await plan_tenant(env.shop.scope, now)
    assert len(created) == 2, "the two invoices already due, not the one due in 10 days"
    again = await plan_tenant(env.shop.scope, now)
    assert again == [], "a second sweep (or a second worker) plans nothing new"

    results = await drain_at(now + MINUTE)
    assert results.count("done") >= 2
    rows = await charges(env)
    assert [r.status for r in rows] == ["approved", "approved"]
    assert sorted(int(r.target_id) for r in rows) == sorted(ids[:2])
    for invoice_id in ids[:2]:
        assert (await env.shop.scope.get(Invoice, invoice_id)).status == "paid"
    assert (await env.shop.scope.get(Invoice, ids[2])).status == "open"
    payments = await env.shop.scope.objects(Payment)
    assert len(payments) == 2 and all(p.status == "approved" for p in payments)
    assert all(p.idempotency_key.startswith("autopay:t") for p in payments)
    assert await env.shop.scope.count(SandboxCharge) == 2

    # Running a finished charge's job again changes nothing.
    assert await run_charge(env.shop.scope, int(rows[0].id)) == "approved"
    assert await env.shop.scope.count(Payment) == 2

    # The portal lists them with links to the payments.
    page = await env.client.get(env.shop.prefix + "/pago-automatico")
    assert page.text.count('data-status="approved"') == 2


async def test_reminder_before_the_charge_then_the_charge_on_the_due_date(env: Env) -> None:
    await enroll(env, what="invoices")
    now = datetime.now(UTC)
    ids = env.invoice_ids()
    await plan_tenant(env.shop.scope, now)
    await drain_at(now + MINUTE)

    async def reminders() -> list[dict[str, Any]]:
        rows = await env.shop.scope.objects(OutboxJob).where(OutboxJob.actor == "customer_message")
        payloads = [loads(r.payload, {}) for r in rows]
        return [p for p in payloads if p["kind"] == "upcoming_charge"]  # not receipts

    assert await reminders() == [], "10 days ahead is beyond the 3 days of notice"
    await plan_tenant(env.shop.scope, now + timedelta(days=8))
    await plan_tenant(env.shop.scope, now + timedelta(days=9))
    sent = await reminders()
    assert len(sent) == 1, "one reminder per charge, however many sweeps"
    reminder = sent[0]
    assert reminder["kind"] == "upcoming_charge" and reminder["invoice_ids"] == [ids[2]]
    assert reminder["amount"] == 25_000 and reminder["currency"] == "MXN"
    assert reminder["instrument_label"] == "Visa •••• 4242"
    invoice = await env.shop.scope.get(Invoice, ids[2])
    assert reminder["charge_date"] == invoice.due_date.isoformat()
    assert reminder["customer_id"] == int(env.customer.id)
    assert not await env.shop.scope.exists(AutopayCharge).where(AutopayCharge.target_id == ids[2])

    await plan_tenant(env.shop.scope, now + timedelta(days=11))
    await drain_at(now + timedelta(days=11))
    assert (await env.shop.scope.get(Invoice, ids[2])).status == "paid"


async def test_plan_installments_are_charged_once_each_not_their_invoices(env: Env) -> None:
    ids = env.invoice_ids()
    now = datetime.now(UTC)
    # "today" is the customer's local day (hours behind UTC in Mexico), as the planner sees it
    zones = str(env.shop.tenant.timezone), str(env.customer.timezone or "")
    today = local_today(*zones, now)
    scope = env.shop.scope
    plan = PaymentPlan(
        customer=env.customer.id,
        status="active",
        currency="MXN",
        total=150_000,
        down_payment=0,
        installments_count=2,
        invoice_ids=ids[:2],
        reason="test",
        created_at=datetime.now(UTC) - timedelta(days=1),
    )
    await scope.add(plan)
    first, second = (
        PlanInstallment(plan=plan.id, number=1, due_date=today, amount=75_000, status="open"),
        PlanInstallment(
            plan=plan.id,
            number=2,
            due_date=today + timedelta(days=30),
            amount=75_000,
            status="open",
        ),
    )
    await scope.add(first, second)
    await scope.update(Invoice, {Invoice.plan_id: int(plan.id)}).where(Invoice.id.is_in(ids[:2]))
    await enroll(env, what="plan")

    assert len(await plan_tenant(scope, now)) == 1, "only the installment due today"
    await drain_at(now + MINUTE)
    rows = await charges(env)
    assert [(r.target_kind, int(r.target_id), r.status) for r in rows] == [
        ("installment", int(first.id), "approved")
    ]
    payment = await scope.get(Payment, rows[0].payment)
    assert int(payment.amount) == 75_000
    # The installment is paid; the next sweeps charge nothing until the next one is due.
    assert await plan_tenant(scope, now + timedelta(hours=1)) == []
    assert len(await plan_tenant(scope, now + timedelta(days=31))) == 1
    await drain_at(now + timedelta(days=31))
    assert [r.status for r in await charges(env)] == ["approved", "approved"]
    assert await scope.count(Payment) == 2
    for invoice_id in ids[:2]:
        assert (await scope.get(Invoice, invoice_id)).status == "paid"


async def test_declined_card_retries_per_policy_then_tells_staff(env: Env) -> None:
    await enroll(env, card=DECLINED, what="invoices")
    now = datetime.now(UTC)
    ids = env.invoice_ids()
    first = await plan_tenant(env.shop.scope, now)
    await drain_at(now + MINUTE)
    rows = await charges(env)
    assert {r.status for r in rows} == {"rejected", "planned"}
    retries = [r for r in rows if r.attempt == 2]
    assert len(retries) == len(first) == 2
    assert all(r.scheduled_for >= now + timedelta(days=1) - timedelta(seconds=5) for r in retries)
    assert await env.shop.scope.count(Ticket) == 0

    # Walk the policy: +1, +3, +7 days after each failure; then it stops.
    moment = now
    for days in (1, 3, 7):
        moment += timedelta(days=days, minutes=5)
        await drain_at(moment + timedelta(minutes=5))
    rows = await charges(env)
    by_invoice = {i: sorted(r.attempt for r in rows if r.target_id == i) for i in ids[:2]}
    assert by_invoice == {ids[0]: [1, 2, 3, 4], ids[1]: [1, 2, 3, 4]}
    assert all(r.status == "rejected" for r in rows)
    assert await env.shop.scope.count(Ticket) == 2, "staff are told once per target"
    failed = await env.shop.scope.objects(OutboxJob).where(OutboxJob.actor == "customer_message")
    assert sorted(loads(r.payload, {})["kind"] for r in failed) == ["autopay_failed"] * 2
    await drain_at(moment + timedelta(days=30))
    assert len(await charges(env)) == 8, "no fifth attempt"
    for invoice_id in ids[:2]:
        assert (await env.shop.scope.get(Invoice, invoice_id)).status != "paid"


async def test_pause_retries_stops_planned_retries(env: Env) -> None:
    await enroll(env, card=DECLINED, what="invoices")
    now = datetime.now(UTC)
    ids = env.invoice_ids()
    await plan_tenant(env.shop.scope, now)
    await drain_at(now + MINUTE)
    paused = await pause_retries(env.shop.scope, int(env.customer.id), [ids[0]])
    assert paused == 1
    await drain_at(now + timedelta(days=2))
    rows = await charges(env)
    first = sorted((r.attempt, r.status) for r in rows if r.target_id == ids[0])
    second = sorted((r.attempt, r.status) for r in rows if r.target_id == ids[1])
    assert first == [(1, "rejected"), (2, "paused")]
    assert second == [(1, "rejected"), (2, "rejected"), (3, "planned")]
    assert await pause_retries(env.shop.scope, int(env.customer.id), []) == 0


async def test_cancel_stops_planned_charges_and_a_paid_invoice_is_not_charged(env: Env) -> None:
    await enroll(env, what="invoices")
    now = datetime.now(UTC)
    ids = env.invoice_ids()
    await plan_tenant(env.shop.scope, now)
    # The customer cancels before the worker picks the charges up.
    cancelled = await post_form(env.client, env.shop.prefix + "/pago-automatico/cancelar", {})
    assert cancelled.status_code == 303
    await drain_at(now + MINUTE)
    assert {r.status for r in await charges(env)} == {"cancelled"}
    assert await env.shop.scope.count(Payment) == 0
    assert (await env.shop.scope.get(Invoice, ids[0])).status == "open"

    # Enrolling again: what was cancelled before reaching the provider is charged (a new
    # attempt); the invoice the customer paid by hand meanwhile is not.
    await env.shop.scope.update(Invoice, {Invoice.status: "paid"}).where(Invoice.id == ids[1])
    await enroll(env, what="invoices")
    assert len(await plan_tenant(env.shop.scope, now)) == 1
    await drain_at(now + MINUTE)
    rows = await charges(env)
    assert sorted((int(r.target_id), r.attempt, r.status) for r in rows) == sorted(
        [(ids[0], 1, "cancelled"), (ids[1], 1, "cancelled"), (ids[0], 2, "approved")]
    )
    assert await plan_tenant(env.shop.scope, now + timedelta(hours=1)) == []


def test_retry_policy_reads_the_tenant_policy_safely() -> None:
    assert retry_days({}) == (1, 3, 7)
    assert retry_days({"autopay_retry_days": [2, 5]}) == (2, 5)
    assert retry_days({"autopay_retry_days": []}) == (), "a tenant may switch retries off"
    assert retry_days('{"autopay_retry_days": [4]}') == (4,)
    assert retry_days({"autopay_retry_days": [0, 5]}) == (1, 3, 7)
    assert retry_days({"autopay_retry_days": "1,3"}) == (1, 3, 7)
    assert retry_days({"autopay_retry_days": [1] * 9}) == (1, 3, 7)
    assert retry_days({"autopay_retry_days": [True]}) == (1, 3, 7)
