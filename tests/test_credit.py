"""Credit evaluation on hand-made histories: a punctual payer scores above one who pays late,
breaks promises and disputes; no history is neutral and says so; the set-based scores agree with
the one-customer evaluation; decisions update the customer, are audited and kept with what the
decider saw; the limit warning fires only above the limit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from recaudo.core.access.staff import create_staff
from recaudo.core.tables import (
    AuditEvent,
    CreditDecision,
    Customer,
    Dispute,
    PaymentPlan,
    PaymentPromise,
    PlanInstallment,
    WriteOff,
)
from recaudo.core.workspace import credit
from recaudo.tenants.scoped import TenantScope
from tests.credit_history import customer, invoice, pay

AT = date(2026, 6, 15)
LONG_AGO = AT - timedelta(days=400)


async def punctual(scope: TenantScope, number: str = "P-1") -> int:
    cid = await customer(scope, number, LONG_AGO)
    for n in range(4):
        due = AT - timedelta(days=30 * (n + 1))
        inv = await invoice(scope, cid, f"{number}-F{n}", due - timedelta(days=30), due, 100_000)
        await pay(scope, cid, inv, 100_000, due - timedelta(days=2))
    return cid


async def troubled(scope: TenantScope, number: str = "T-1") -> int:
    cid = await customer(scope, number, LONG_AGO)
    invoices = []
    for n in range(4):
        due = AT - timedelta(days=30 * (n + 2))
        inv = await invoice(scope, cid, f"{number}-F{n}", due - timedelta(days=30), due, 100_000)
        await pay(scope, cid, inv, 100_000, due + timedelta(days=20))
        invoices.append(inv)
    for status in ("broken", "broken", "kept"):
        await scope.add(
            PaymentPromise(
                customer=cid, currency="MXN", amount=1000, promised_date=AT, status=status
            )
        )
    await scope.add(Dispute(invoice=invoices[0], customer=cid, reason="wrong_amount"))
    return cid


async def test_punctual_payer_scores_above_a_troubled_one(
    two_tenants: tuple[TenantScope, TenantScope],
) -> None:
    scope, _ = two_tenants
    good, bad = await punctual(scope), await troubled(scope)
    a = await credit.evaluate(scope, good, AT)
    b = await credit.evaluate(scope, bad, AT)
    assert a is not None and b is not None
    assert (a.score, a.grade) == (100, "A")
    assert "Pagó 4 de 4 facturas a tiempo; en promedio 0 días tarde (−0 puntos)." in a.reasons
    # 20 days late (−20), 2 broken promises (−16), one open dispute (−5)
    assert (b.score, b.grade) == (59, "C")
    assert "Pagó 0 de 4 facturas a tiempo; en promedio 20 días tarde (−20 puntos)." in b.reasons
    assert "Cumplió 1 de 3 promesas de pago (−16 puntos)." in b.reasons
    assert "Tiene 1 disputas abiertas y 0 cerradas (−5 puntos)." in b.reasons
    # monthly average over the window × the grade's factor, rounded to 2 significant digits
    assert a.suggested_terms_days == 30 and b.suggested_terms_days == 15
    assert a.suggested_limit > b.suggested_limit > 0
    assert a.suggested_limit % 100 == 0


async def test_open_overdue_plan_default_and_write_off_lower_the_score(
    two_tenants: tuple[TenantScope, TenantScope],
) -> None:
    scope, _ = two_tenants
    cid = await customer(scope, "D-1", AT - timedelta(days=60))
    inv = await invoice(scope, cid, "D-F1", AT - timedelta(days=70), AT - timedelta(days=50), 5000)
    await scope.add(WriteOff(invoice=inv, customer=cid, currency="MXN", amount=1, reason="x"))
    plan = PaymentPlan(customer=cid, currency="MXN", total=5000, installments_count=1)
    await scope.add(plan)
    await scope.add(
        PlanInstallment(plan=plan.id, number=1, due_date=AT - timedelta(days=20), amount=5000)
    )
    evaluation = await credit.evaluate(scope, cid, AT)
    assert evaluation is not None
    # 50 days past due (−40, capped), plan in default (−10), write-off (−15), new (−5)
    assert evaluation.score == 30 and evaluation.grade == "E"
    assert evaluation.suggested_limit == 0 and evaluation.suggested_terms_days == 0
    assert "Incumplió 1 planes de pago (−10 puntos)." in evaluation.reasons
    assert "Se dieron por incobrables 1 facturas (−15 puntos)." in evaluation.reasons
    assert any("menos de 6 meses" in r for r in evaluation.reasons)
    assert evaluation.open_balance == 5000


async def test_no_history_is_neutral_and_says_so(
    two_tenants: tuple[TenantScope, TenantScope],
) -> None:
    scope, _ = two_tenants
    cid = await customer(scope, "N-1", LONG_AGO)
    evaluation = await credit.evaluate(scope, cid, AT)
    assert evaluation is not None
    assert evaluation.score == credit.NEUTRAL_SCORE and evaluation.grade == "C"
    assert evaluation.reasons[0] == "Sin historial de pagos todavía: puntaje neutral de 60."


async def test_risk_scores_agree_with_evaluate_and_skip_other_tenants(
    two_tenants: tuple[TenantScope, TenantScope],
) -> None:
    scope, other = two_tenants
    ids = [await punctual(scope), await troubled(scope), await customer(scope, "N-2", AT)]
    foreign = await punctual(other, "X-1")
    scores = await credit.risk_scores(scope, [*ids, foreign, 999_999], AT)
    assert set(scores) == set(ids)
    for cid in ids:
        evaluation = await credit.evaluate(scope, cid, AT)
        assert evaluation is not None and scores[cid] == evaluation.score
    assert await credit.evaluate(scope, foreign, AT) is None
    assert await credit.risk_scores(scope, [], AT) == {}


async def test_decide_updates_the_customer_audits_and_keeps_what_was_seen(
    two_tenants: tuple[TenantScope, TenantScope],
) -> None:
    scope, other = two_tenants
    cid = await punctual(scope)
    owner = await create_staff(scope, "o@x.example", "clave-de-prueba-123", "owner", "Olga")
    viewer = await create_staff(scope, "v@x.example", "clave-de-prueba-123", "viewer")
    evaluation = await credit.evaluate(scope, cid, AT)
    assert evaluation is not None

    row = await credit.decide(scope, cid, owner, "approved", None, None, "Buen pagador", AT)
    assert row is not None
    customer_row = await scope.get(Customer, cid)
    assert customer_row is not None
    assert customer_row.credit_limit == evaluation.suggested_limit
    assert customer_row.credit_terms_days == 30
    audit = await scope.objects(AuditEvent).where(AuditEvent.action == "credit.decided")
    assert len(audit) == 1 and audit[0].subject == f"customer:{cid}"

    await credit.decide(scope, cid, owner, "adjusted", 1_000_000, 45, "", AT)
    await credit.decide(scope, cid, owner, "hold", None, None, "esperar", AT)
    customer_row = await scope.get(Customer, cid)
    assert customer_row is not None
    assert (customer_row.credit_limit, customer_row.credit_terms_days) == (1_000_000, 45)
    await credit.decide(scope, cid, owner, "refused", None, None, "", AT)
    customer_row = await scope.get(Customer, cid)
    assert customer_row is not None
    assert (customer_row.credit_limit, customer_row.credit_terms_days) == (0, 0)

    shown = await credit.history(scope, cid)
    assert [d.decision for d in shown] == ["refused", "hold", "adjusted", "approved"]
    assert shown[-1].staff_name == "Olga" and shown[-1].note == "Buen pagador"
    assert shown[-1].score == evaluation.score
    assert [r.text for r in shown[-1].explained] == evaluation.reasons

    with pytest.raises(PermissionError):
        await credit.decide(scope, cid, viewer, "approved", None, None, "", AT)
    for bad in (
        ("maybe", None, None, ""),
        ("adjusted", -1, 30, ""),
        ("adjusted", 100, 366, ""),
        ("adjusted", None, 30, ""),
        ("hold", None, None, "x" * 501),
    ):
        with pytest.raises(credit.CreditError):
            await credit.decide(scope, cid, owner, *bad, AT)  # type: ignore[arg-type]
    assert await scope.count(CreditDecision) == 4
    # another tenant's customer: nothing is decided
    foreign = await customer(other, "X-2", LONG_AGO)
    assert await credit.decide(scope, foreign, owner, "refused", None, None, "", AT) is None
    foreign_row = await other.get(Customer, foreign)
    assert foreign_row is not None and foreign_row.credit_limit is None


async def test_limit_warning_only_above_the_limit(
    two_tenants: tuple[TenantScope, TenantScope],
) -> None:
    scope, _ = two_tenants
    cid = await customer(scope, "L-1", LONG_AGO)
    await invoice(scope, cid, "L-F1", AT, AT + timedelta(days=30), 60_000)
    assert await credit.limit_warning(scope, cid, 50_000, "MXN") is None  # no limit set
    await scope.update(Customer, {Customer.credit_limit: 100_000}).where(Customer.id == cid)
    assert await credit.limit_warning(scope, cid, 40_000, "MXN") is None  # exactly at the limit
    warning = await credit.limit_warning(scope, cid, 50_000, "MXN")
    assert warning is not None
    assert "supera su límite de crédito" in warning and "100.00" in warning
    assert await credit.limit_warning(scope, cid, 50_000, "USD") is None  # another currency
