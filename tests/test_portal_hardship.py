""" "No puedo pagar" over HTTP: plans within the limits, promises, reviews, installments."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from recaudo.core.collections.plans import PlanError, PlanPolicy, policy_of, schedule
from recaudo.core.tables import HardshipRequest, Invoice, PaymentPlan, PlanInstallment
from recaudo.web.portal.common import tenant_today
from tests.portal_support import Env, hidden, login, open_env, post_form

PLAN_URL = "/no-puedo-pagar/plan"


@pytest.fixture
async def env(database: str, host: object) -> Env:
    e = await open_env(database)
    await login(e.client, e.shop, e.customer)
    yield e
    await e.client.aclose()


async def test_reasons_then_options_without_judgement(env: Env) -> None:
    start = await env.client.get(env.shop.prefix + "/no-puedo-pagar")
    assert start.status_code == 200 and "Le puede pasar a cualquiera" in start.text
    options = await env.client.get(env.shop.prefix + "/no-puedo-pagar/opciones?motivo=illness")
    assert options.status_code == 200
    for text in (
        "Paga en partes",
        "Dinos cuándo puedes pagar",
        "Habla con una persona",
        "https://example.org/finanzas",
        'id="plan-preview"',
    ):
        assert text in options.text
    bad = await env.client.get(env.shop.prefix + "/no-puedo-pagar/opciones?motivo=flojera")
    assert bad.status_code == 400


async def test_accepting_a_plan_creates_installments_and_marks_invoices(env: Env) -> None:
    preview = await env.client.get(
        env.shop.prefix + "/no-puedo-pagar/opciones?motivo=lost_income&cuotas=3&inicial=175"
    )
    assert preview.status_code == 200
    response = await post_form(
        env.client,
        env.shop.prefix + PLAN_URL,
        {
            "motivo": "lost_income",
            "cuotas": hidden(preview.text, "cuotas"),
            "inicial": hidden(preview.text, "inicial"),
        },
    )
    assert response.status_code == 303 and response.headers["location"].endswith("aviso=plan")
    plan = await env.shop.scope.objects(PaymentPlan).first()
    assert plan.status == "active" and int(plan.total) == 175_000
    rows = await env.shop.scope.objects(PlanInstallment).order_by(PlanInstallment.number)
    assert [r.number for r in rows] == [0, 1, 2, 3]
    assert int(rows[0].amount) == 17_500 and sum(int(r.amount) for r in rows) == 175_000
    assert rows[-1].due_date <= rows[0].due_date + timedelta(days=120)
    covered = await env.shop.scope.objects(Invoice).where(Invoice.plan_id == plan.id)
    assert sorted(int(i.id) for i in covered) == sorted(env.invoice_ids())
    request = await env.shop.scope.objects(HardshipRequest).first()
    assert request.outcome == "plan" and int(request.plan) == int(plan.id)
    statement = await env.client.get(env.shop.prefix + "/estado-de-cuenta?aviso=plan")
    assert "Tu plan de pagos" in statement.text and "En plan de pagos" in statement.text
    # One active plan at a time: accepting again is refused clearly.
    again = await post_form(
        env.client,
        env.shop.prefix + PLAN_URL,
        {"motivo": "lost_income", "cuotas": "2", "inicial": "175"},
    )
    assert again.status_code == 400 and await env.shop.scope.count(PaymentPlan) == 1


@pytest.mark.parametrize(
    ("cuotas", "inicial", "message"),
    [
        ("5", "175", "número de pagos"),  # policy allows 4
        ("3", "100", "menor que el mínimo"),  # minimum is 10 % = 175.00
        ("3", "1750", "no puede cubrir todo"),
        ("3", "abc", "Escribe el monto así: 1,500.00"),
        ("3", "1,5", "Escribe el monto así: 1,500.00"),
    ],
)
async def test_plan_limits_are_enforced(env: Env, cuotas: str, inicial: str, message: str) -> None:
    response = await post_form(
        env.client,
        env.shop.prefix + PLAN_URL,
        {"motivo": "other", "cuotas": cuotas, "inicial": inicial},
    )
    assert response.status_code == 400 and message in response.text
    assert await env.shop.scope.count(PaymentPlan) == 0
    assert await env.shop.scope.count(Invoice).where(Invoice.plan_id.is_not_null()) == 0


async def test_no_plan_without_a_policy(database: str, host: object) -> None:
    env = await open_env(database, policy={})
    try:
        await login(env.client, env.shop, env.customer)
        page = await env.client.get(env.shop.prefix + "/no-puedo-pagar/opciones?motivo=other")
        assert "Paga en partes" not in page.text and "Habla con una persona" in page.text
        response = await post_form(
            env.client,
            env.shop.prefix + PLAN_URL,
            {"motivo": "other", "cuotas": "1", "inicial": "0"},
        )
        assert response.status_code == 400
    finally:
        await env.client.aclose()


async def test_promise_and_review(env: Env) -> None:
    today = tenant_today(env.shop.tenant)
    too_far = (today + timedelta(days=90)).isoformat()
    far = await post_form(
        env.client,
        env.shop.prefix + "/no-puedo-pagar/promesa",
        {"motivo": "illness", "fecha": too_far},
    )
    assert far.status_code == 400
    ok = await post_form(
        env.client,
        env.shop.prefix + "/no-puedo-pagar/promesa",
        {"motivo": "illness", "fecha": (today + timedelta(days=7)).isoformat()},
    )
    assert ok.status_code == 303
    review = await post_form(
        env.client,
        env.shop.prefix + "/no-puedo-pagar/revision",
        {"motivo": "dispute", "mensaje": "Necesito hablar"},
    )
    assert review.status_code == 303
    rows = await env.shop.scope.objects(HardshipRequest).order_by(HardshipRequest.id)
    assert [(r.outcome, r.status) for r in rows] == [("promise", "open"), ("review", "open")]
    assert rows[0].promise_date == today + timedelta(days=7)


async def test_paying_an_installment_works_like_paying_an_invoice(env: Env) -> None:
    await post_form(
        env.client,
        env.shop.prefix + PLAN_URL,
        {"motivo": "lost_income", "cuotas": "2", "inicial": "175"},
    )
    statement = await env.client.get(env.shop.prefix + "/estado-de-cuenta")
    cuota = re.search(r"/pagar\?cuota=(\d+)", statement.text).group(1)
    page = await env.client.get(env.shop.prefix + f"/pagar?cuota={cuota}")
    assert "Pago inicial de tu plan de pagos" in page.text and "$175.00" in page.text
    checkout = await post_form(
        env.client,
        env.shop.prefix + "/pagar",
        {"clave": hidden(page.text, "clave"), "cuota": cuota, "metodo": "sandbox"},
    )
    decided = await post_form(env.client, checkout.headers["location"], {"decision": "approve"})
    await env.client.get(decided.headers["location"].split("http://testserver", 1)[1])
    rows = await env.shop.scope.objects(PlanInstallment).order_by(PlanInstallment.number)
    await env.client.get(env.shop.prefix + "/estado-de-cuenta")  # progress is derived on read
    rows = await env.shop.scope.objects(PlanInstallment).order_by(PlanInstallment.number)
    assert rows[0].status == "paid" and int(rows[0].amount_paid) == 17_500
    assert rows[1].status == "open"


def test_schedule_respects_the_term_and_sums_exactly() -> None:
    policy = PlanPolicy(max_installments=12, min_down_payment_bp=500, max_days=90)
    today = date(2026, 1, 31)
    rows = schedule(100_001, 5_001, 12, today, policy)
    assert sum(a for _, _, a in rows) == 100_001
    assert rows[-1][1] <= today + timedelta(days=90)
    with pytest.raises(PlanError):
        schedule(100_000, 4_999, 3, today, policy)
    with pytest.raises(PlanError):
        schedule(100_000, 5_000, 13, today, policy)


def test_policy_values_are_read_defensively() -> None:
    policy = policy_of(
        {
            "plan_max_installments": "7",
            "plan_min_down_payment_bp": -5,
            "plan_max_days": True,
            "advice_links": [["ok", "https://a.example"], ["bad", "javascript:x"], "junk"],
        }
    )
    assert policy.max_installments == 7 and policy.min_down_payment_bp == 0
    assert policy.max_days == 0 and not policy.allows_plans
    assert policy.advice_links == (("ok", "https://a.example"),)


def _figure(html: str, figure_id: str) -> str:
    match = re.search(rf'id="{figure_id}">([^<]*)<', html)
    assert match, f"no figure {figure_id}"
    return match.group(1)


async def test_a_plan_moves_overdue_and_next_due_to_its_installments(env: Env) -> None:
    from recaudo.core.messaging.i18n import formatter_for

    today = tenant_today(env.shop.tenant)
    fmt = formatter_for("es", env.shop.tenant.locale, env.shop.tenant.timezone)
    before = await env.client.get(env.shop.prefix + "/estado-de-cuenta")
    assert _figure(before.text, "overdue") == "$1,500.00" and "días de atraso" in before.text
    await post_form(
        env.client,
        env.shop.prefix + PLAN_URL,
        {"motivo": "lost_income", "cuotas": "3", "inicial": "175"},
    )
    after = await env.client.get(env.shop.prefix + "/estado-de-cuenta")
    # Nothing is late any more: the covered invoices are due by installment now.
    assert _figure(after.text, "overdue") == "$0.00"
    assert "días de atraso" not in after.text and "Vence según tu plan" in after.text
    # The next due date is the down payment's (today), not the uncovered invoice's in 10 days.
    assert _figure(after.text, "next-due") == fmt.date(today)
    # An installment left unpaid past its date is overdue again, by its own amount.
    await env.shop.scope.update(
        PlanInstallment, {PlanInstallment.due_date: today - timedelta(days=2)}
    ).where(PlanInstallment.number == 0)
    late = await env.client.get(env.shop.prefix + "/estado-de-cuenta")
    assert _figure(late.text, "overdue") == "$175.00"
    first = await env.shop.scope.objects(PlanInstallment).where(PlanInstallment.number == 1)
    assert _figure(late.text, "next-due") == fmt.date(first[0].due_date)


async def test_the_installment_count_means_installments_after_the_down_payment(env: Env) -> None:
    page = await env.client.get(
        env.shop.prefix + "/no-puedo-pagar/opciones?motivo=lost_income&cuotas=3&inicial=175"
    )
    assert "Cuotas después del enganche" in page.text and "Número de pagos" not in page.text
    assert "enganche + 3 cuotas" in page.text and "4 pagos en total" in page.text
    no_down = await env.client.get(
        env.shop.prefix + "/no-puedo-pagar/opciones?motivo=lost_income&cuotas=3&inicial=0"
    )
    assert no_down.status_code == 200


async def test_a_colombian_customer_accepts_the_plan_the_page_shows(
    database: str, host: object
) -> None:
    env = await open_env(database, country="CO", currency="COP")
    try:
        await login(env.client, env.shop, env.customer)
        preview = await env.client.get(
            env.shop.prefix + "/no-puedo-pagar/opciones?motivo=other&cuotas=2"
        )
        assert hidden(preview.text, "inicial") == "175,00"  # written the way es-CO reads it
        accepted = await post_form(
            env.client,
            env.shop.prefix + PLAN_URL,
            {"motivo": "other", "cuotas": "2", "inicial": hidden(preview.text, "inicial")},
        )
        assert accepted.status_code == 303, accepted.text
        plan = await env.shop.scope.objects(PaymentPlan).first()
        assert int(plan.down_payment) == 17_500
    finally:
        await env.client.aclose()


async def test_an_english_page_reads_amounts_as_it_shows_them(database: str, host: object) -> None:
    """English pages show Colombian money the Colombian way, so they read it that way too."""
    env = await open_env(database, country="CO", currency="COP")
    try:
        await login(env.client, env.shop, env.customer)
        url = env.shop.prefix + "/no-puedo-pagar/opciones?motivo=other&cuotas=2&lang=en"
        page = await env.client.get(url + "&inicial=1.000,50")
        assert page.status_code == 200 and 'id="plan-preview"' in page.text
        assert hidden(page.text, "inicial") == "1000,50" and "$1.000,50" in page.text
    finally:
        await env.client.aclose()
