"""The collection forecast: exact on a fully predictable history (and so is its back-test),
plans and promises replace the invoices they cover (nothing counted twice), the back-test error
is reported by ``recaudo forecast``, and the page renders with the weeks and the error."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from recaudo.cli_forecast import report
from recaudo.core.tables import Invoice, PaymentPlan, PaymentPromise, PlanInstallment
from recaudo.core.workspace import forecast
from recaudo.tenants.scoped import TenantScope
from tests.credit_history import customer, invoice, noon, pay, week_start
from tests.test_api_keys import recaudo
from tests.test_staff_http import World, signed_in
from tests.test_staff_http import world as world

AT = date(2026, 6, 15)  # a Monday


async def weekly_payer(scope: TenantScope, at: date = AT, weeks: int = 20) -> dict[int, int]:
    """Every Monday an invoice due 14 days later, always paid 3 days after its due date.
    Returns each invoice's amount by the Monday it is expected to be paid in."""
    cid = await customer(scope, "W-1", at - timedelta(days=400))
    expected: dict[int, int] = {}
    for k in range(weeks):
        issued = at - timedelta(days=7 * k)
        amount = 10_000 * (k + 1)
        inv = await invoice(scope, cid, f"W-{k}", issued, issued + timedelta(days=14), amount)
        paid_on = issued + timedelta(days=17)
        if paid_on < at:
            await pay(scope, cid, inv, amount, paid_on)
        else:
            expected[(week_start(paid_on) - at).days // 7] = amount
    return expected


async def test_a_predictable_payer_is_forecast_exactly_and_backtests_to_zero_error(
    two_tenants: tuple[TenantScope, TenantScope],
) -> None:
    scope, _ = two_tenants
    expected = await weekly_payer(scope)
    made = await forecast.forecast(scope, "MXN", AT)
    assert [w.start for w in made.weeks] == [AT + timedelta(days=7 * n) for n in range(8)]
    assert [w.invoices for w in made.weeks] == [expected.get(n, 0) for n in range(8)]
    assert [w.total for w in made.weeks][:3] == [30_000, 20_000, 10_000]
    assert made.later == 0 and made.total == made.open_balance
    assert made.default_delay_days == 3

    test = await forecast.backtest(scope, "MXN", AT, 12)
    assert len(test.points) == 12 and all(p.actual > 0 for p in test.points)
    assert [p.forecast for p in test.points] == [p.actual for p in test.points]
    assert test.wape == 0 and test.mape == 0 and test.mae == 0


async def test_a_late_payer_backtest_error_is_finite_and_reported(
    two_tenants: tuple[TenantScope, TenantScope],
) -> None:
    scope, _ = two_tenants
    await weekly_payer(scope)
    # a second customer who pays irregularly: the method cannot be exact for them
    cid = await customer(scope, "I-1", AT - timedelta(days=400))
    for k in range(12):
        issued = AT - timedelta(days=10 * k + 20)
        inv = await invoice(scope, cid, f"I-{k}", issued, issued + timedelta(days=7), 5_000)
        paid_on = issued + timedelta(days=7 + (k * 5) % 23)
        if paid_on < AT:
            await pay(scope, cid, inv, 5_000, paid_on)
    test = await forecast.backtest(scope, "MXN", AT, 12)
    assert test.wape is not None and 0 < test.wape < 10
    assert test.mae is not None and test.mae > 0
    printed = await report(scope, AT, 8, as_json=False)
    assert "Back-test (12 weeks" in printed and "WAPE" in printed and "MAE" in printed
    assert f"WAPE {float(test.wape) * 100:.1f} %" in printed
    data = json.loads(await report(scope, AT, 8, as_json=True))
    (mxn,) = data["currencies"]
    assert mxn["backtest"]["wape"] == str(test.wape) and len(mxn["weeks"]) == 8


async def test_plans_and_promises_replace_their_invoices(
    two_tenants: tuple[TenantScope, TenantScope],
) -> None:
    scope, _ = two_tenants
    at = week_start(date.today()) + timedelta(days=7)  # next Monday: everything is known by then
    cid = await customer(scope, "PP-1", at - timedelta(days=400))
    due = at + timedelta(days=7)
    planned = await invoice(scope, cid, "PP-X", at - timedelta(days=7), due, 10_000)
    promised = await invoice(scope, cid, "PP-Y", at - timedelta(days=7), due, 8_000)
    await invoice(scope, cid, "PP-Z", at - timedelta(days=7), due, 2_000)
    plan = PaymentPlan(
        customer=cid, currency="MXN", total=10_000, installments_count=2, invoice_ids=[planned]
    )
    await scope.add(plan)
    await scope.update(Invoice, {Invoice.plan_id: plan.id}).where(Invoice.id == planned)
    for n, days in ((1, 14), (2, 42)):
        await scope.add(
            PlanInstallment(
                plan=plan.id, number=n, due_date=at + timedelta(days=days), amount=5_000
            )
        )
    from recaudo.core.tables import PromiseInvoice

    promise = PaymentPromise(
        customer=cid, currency="MXN", amount=6_000, promised_date=at + timedelta(days=21)
    )
    await scope.add(promise)
    await scope.add(PromiseInvoice(promise=promise.id, invoice=promised))
    # one promise kept before: the tenant's kept rate is 100 %
    await scope.add(
        PaymentPromise(
            customer=cid,
            currency="MXN",
            amount=1,
            promised_date=at - timedelta(days=30),
            status="kept",
            resolved_at=noon(at - timedelta(days=29)),
        )
    )
    made = await forecast.forecast(scope, "MXN", at)
    weeks = {(w.start - at).days // 7: w for w in made.weeks}
    # the 2,000 left of PP-Y after the promise stays with it, at its due date
    assert (weeks[1].invoices, weeks[1].plans, weeks[1].promises) == (4_000, 0, 0)
    assert (weeks[2].invoices, weeks[2].plans, weeks[2].promises) == (0, 5_000, 0)
    assert (weeks[3].invoices, weeks[3].plans, weeks[3].promises) == (0, 0, 6_000)
    assert weeks[6].plans == 5_000
    assert made.total == made.open_balance == 20_000  # nothing counted twice
    assert made.promise_kept_rate == 1


def test_cli_prints_the_weeks_and_the_backtest_error(tmp_path: Path) -> None:
    assert recaudo(tmp_path, "migrate").returncode == 0
    made = recaudo(
        tmp_path, "tenants", "create", "acme", "--name", "Acme", "--country", "MX",
        "--currency", "MXN",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    out = recaudo(tmp_path, "forecast", "--tenant", "acme", "--at", "2026-06-15")
    assert out.returncode == 0, out.stderr
    assert "Forecast MXN as of 2026-06-15" in out.stdout and "WAPE" in out.stdout
    as_json = recaudo(tmp_path, "forecast", "--tenant", "acme", "--json", "--weeks", "4")
    assert (
        as_json.returncode == 0 and len(json.loads(as_json.stdout)["currencies"][0]["weeks"]) == 4
    )
    bad = recaudo(tmp_path, "forecast", "--tenant", "nope")
    assert bad.returncode == 1 and "not found" in bad.stderr
    bad_day = recaudo(tmp_path, "forecast", "--tenant", "acme", "--at", "ayer")
    assert bad_day.returncode == 1 and "a date such as" in bad_day.stderr


async def test_page_shows_the_weeks_the_method_and_the_error(world: World) -> None:
    a = world.a
    url = f"{a.staff}/indicadores/pronostico"
    async with signed_in(world, a, "viewer") as c:
        page = await c.get(url)
        assert page.status_code == 200, page.text
        # two invoices 10 days past due and nothing ever paid: both expected this week
        assert page.text.count("<tr data-week=") == 8
        assert 'id="forecast-weeks-MXN"' in page.text and "$1,500.00" in page.text
        assert "<svg" in page.text and "Cómo se calcula" in page.text
        assert "Todavía no hay cobros pasados con qué comparar." in page.text
        english = await c.get(url + "?lang=en")
        assert "Collection forecast" in english.text and "How it is calculated" in english.text
