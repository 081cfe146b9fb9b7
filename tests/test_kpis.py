"""KPI engine against a small ledger whose figures are computed by hand in the comments: DSO,
CEI, average days delinquent, the aging buckets (which add up to the open balance), promises,
automatic reconciliation, money recovered by stage and channel, a past day rebuilt from the
ledger, the segment and collector filters, other currencies, and another tenant never counted."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from recaudo.core.tables import (
    Allocation,
    BankLine,
    BankStatement,
    ContactAttempt,
    Customer,
    DunningMark,
    DunningPolicy,
    DunningStage,
    Invoice,
    Payment,
    PaymentPromise,
    WriteOff,
)
from recaudo.core.workspace.definitions import DEFINITIONS
from recaudo.core.workspace.kpis import (
    default_filters,
    kpi_report,
    kpi_reports,
    report_as_json,
    reports_as_json,
    trend_months,
    trend_weeks,
)
from recaudo.core.workspace.values import KpiFilters, KpiReport
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant

TZ = ZoneInfo("America/Mexico_City")
COLLECTOR_B = 7


def today() -> date:
    return datetime.now(TZ).date()


def noon(day: date) -> datetime:
    """Noon of ``day`` on the tenant's calendar."""
    return datetime.combine(day, time(12), TZ)


@dataclass
class Ledger:
    """Rows of one tenant written directly, so every date is the test's choice."""

    scope: TenantScope
    n: int = 0
    ids: dict[str, int] = field(default_factory=dict)

    def key(self) -> str:
        self.n += 1
        return f"k{self.n}-{uuid.uuid4().hex[:6]}"

    async def customer(self, name: str, segment: str = "", collector: int | None = None) -> int:
        row = Customer(
            number=name,
            name=name,
            segment=segment,
            collector_id=collector,
            created_at=datetime.now(UTC),
        )
        await self.scope.add(row)
        self.ids[name] = int(row.id)
        return int(row.id)

    async def invoice(
        self,
        name: str,
        customer: int,
        issued: date,
        due: date,
        total: int,
        *,
        currency: str = "MXN",
        status: str = "open",
    ) -> int:
        row = Invoice(
            customer=customer,
            number=name,
            issue_date=issued,
            due_date=due,
            currency=currency,
            subtotal=total,
            total=total,
            amount_applied=0,
            status=status,
            created_at=noon(issued),
            updated_at=noon(issued),
        )
        await self.scope.add(row)
        self.ids[name] = int(row.id)
        return int(row.id)

    async def _applied(self, invoice: int, amount: int) -> None:
        row = await self.scope.get(Invoice, invoice)
        assert row is not None
        applied = int(row.amount_applied) + amount
        status = "paid" if applied >= int(row.total) else "partially_paid"
        await self.scope.update(
            Invoice, {Invoice.amount_applied: applied, Invoice.status: status}
        ).where(Invoice.id == invoice)

    async def pay(self, invoice: int, amount: int, day: date, currency: str = "MXN") -> int:
        row = await self.scope.get(Invoice, invoice)
        assert row is not None
        payment = Payment(
            customer=int(row.customer),
            method="banktransfer",
            status="succeeded",
            currency=currency,
            amount=amount,
            idempotency_key=self.key(),
            created_at=noon(day),
            updated_at=noon(day),
        )
        await self.scope.add(payment)
        await self.scope.add(
            Allocation(
                payment=int(payment.id), invoice=invoice, amount=amount, created_at=noon(day)
            )
        )
        await self._applied(invoice, amount)
        return int(payment.id)

    async def write_off(self, invoice: int, amount: int, day: date) -> None:
        row = await self.scope.get(Invoice, invoice)
        assert row is not None
        await self.scope.add(
            WriteOff(
                invoice=invoice,
                customer=int(row.customer),
                currency=str(row.currency),
                amount=amount,
                reason="incobrable",
                created_at=noon(day),
            )
        )
        await self._applied(invoice, amount)

    async def promise(self, customer: int, day: date, status: str) -> None:
        await self.scope.add(
            PaymentPromise(
                customer=customer,
                currency="MXN",
                amount=1000,
                promised_date=day,
                status=status,
                created_at=noon(day - timedelta(days=5)),
            )
        )

    async def bank_line(
        self, day: date, rule: str, payment: int | None, status: str, customer: int | None = None
    ) -> None:
        if "statement" not in self.ids:
            st = BankStatement(
                format="csv", currency="MXN", file_sha256=self.key(), created_at=noon(day)
            )
            await self.scope.add(st)
            self.ids["statement"] = int(st.id)
        await self.scope.add(
            BankLine(
                statement=self.ids["statement"],
                key=self.key(),
                booked_on=day,
                amount=1000,
                currency="MXN",
                status=status,
                rule=rule,
                payment=payment,
                customer=customer,
                created_at=noon(day),
            )
        )

    async def stage(self, name: str) -> int:
        if "policy" not in self.ids:
            policy = DunningPolicy(name="General", created_at=datetime.now(UTC))
            await self.scope.add(policy)
            self.ids["policy"] = int(policy.id)
        row = DunningStage(policy=self.ids["policy"], name=name, created_at=datetime.now(UTC))
        await self.scope.add(row)
        return int(row.id)

    async def mark(self, invoice: int, stage: int, day: date) -> None:
        await self.scope.add(DunningMark(invoice=invoice, stage=stage, created_at=noon(day)))

    async def contact(self, customer: int, channel: str, day: date) -> None:
        await self.scope.add(
            ContactAttempt(
                customer=customer,
                key=self.key(),
                channel=channel,
                status="sent",
                scheduled_for=noon(day),
                sent_at=noon(day),
                created_at=noon(day),
                updated_at=noon(day),
            )
        )


async def seed(scope: TenantScope) -> Ledger:
    """T is today; the period is the 90 days T−89 … T.

    ====  ========  =========  =======  =======  =============================  ==========
    inv   customer  issued     due      total    movements                      balance
    ====  ========  =========  =======  =======  =============================  ==========
    I1    A         T−100      T−70     100,000  paid 30,000 at T−30            70,000
    I2    A         T−50       T−20     200,000  paid 50,000 at T−10            150,000
    I3    B         T−10       T+20     300,000                                 300,000
    I4    B         T−200      T−170     40,000  written off 10,000 at T−2      30,000
    I5    B         T−30       T−1       60,000  paid 60,000 at T−5             0
    I6    B         T−20       T−5      999,999  void                           —
    ====  ========  =========  =======  =======  =============================  ==========
    """
    t = today()
    led = Ledger(scope)
    a = await led.customer("A", segment="Mayoreo")
    b = await led.customer("B", segment="menudeo", collector=COLLECTOR_B)
    i1 = await led.invoice("I1", a, t - timedelta(100), t - timedelta(70), 100_000)
    i2 = await led.invoice("I2", a, t - timedelta(50), t - timedelta(20), 200_000)
    await led.invoice("I3", b, t - timedelta(10), t + timedelta(20), 300_000)
    i4 = await led.invoice("I4", b, t - timedelta(200), t - timedelta(170), 40_000)
    i5 = await led.invoice("I5", b, t - timedelta(30), t - timedelta(1), 60_000)
    await led.invoice("I6", b, t - timedelta(20), t - timedelta(5), 999_999, status="void")
    p1 = await led.pay(i1, 30_000, t - timedelta(30))
    p2 = await led.pay(i2, 50_000, t - timedelta(10))
    p3 = await led.pay(i5, 60_000, t - timedelta(5))
    await led.write_off(i4, 10_000, t - timedelta(2))
    # promises: in the period 2 kept, 1 broken; a pending one and one before the period don't count
    await led.promise(a, t - timedelta(20), "kept")
    await led.promise(a, t - timedelta(15), "broken")
    await led.promise(b, t - timedelta(3), "kept")
    await led.promise(b, t + timedelta(5), "pending")
    await led.promise(b, t - timedelta(120), "broken")
    # bank lines: 3 matched in the period (2 by rules, 1 by staff), 1 unmatched, 1 before it
    await led.bank_line(t - timedelta(30), "reference", p1, "matched", a)
    await led.bank_line(t - timedelta(10), "amount_customer", p2, "matched", a)
    await led.bank_line(t - timedelta(5), "manual", p3, "matched", b)
    await led.bank_line(t - timedelta(4), "", None, "unmatched")
    await led.bank_line(t - timedelta(100), "manual", None, "ignored")
    # dunning: I2 got "Recordatorio 1" 5 days before its payment; I5's mark is 45 days old
    first = await led.stage("Recordatorio 1")
    notice = await led.stage("Aviso previo")
    await led.mark(i2, first, t - timedelta(15))
    await led.mark(i5, notice, t - timedelta(50))
    # contacts: A got e-mail at T−65 (too old for either payment) and WhatsApp at T−12;
    # B got an SMS at T−7
    await led.contact(a, "email", t - timedelta(65))
    await led.contact(a, "whatsapp", t - timedelta(12))
    await led.contact(b, "sms", t - timedelta(7))
    return led


async def report(scope: TenantScope, **kw: object) -> KpiReport:
    return await kpi_report(scope, default_filters(today(), **kw), "MXN")  # type: ignore[arg-type]


def buckets(r: KpiReport) -> dict[str, tuple[int, int]]:
    return {b.key: (b.amount, b.count) for b in r.aging}


async def test_figures_match_the_hand_computed_ledger(database: str) -> None:
    tenant = await make_tenant("kpi-" + uuid.uuid4().hex[:6])
    scope = TenantScope(int(tenant.id))
    await seed(scope)
    r = await report(scope)
    # aging at T: I3 current; I2 20 days; I1 70 days; I4 170 days; I5 paid; I6 void
    assert buckets(r) == {
        "current": (300_000, 1),
        "1_30": (150_000, 1),
        "31_60": (0, 0),
        "61_90": (70_000, 1),
        "90_plus": (30_000, 1),
    }
    assert r.open_balance == 550_000 and r.overdue_balance == 250_000
    # sales in the period: I2 + I3 + I5 = 560,000 (I1, I4 issued before it, I6 void)
    assert r.sales == 560_000
    # receivables at T−90: I1 100,000 (its payment came later) + I4 40,000 (written off later)
    assert r.opening_receivables == 140_000
    assert r.closing_receivables == 550_000 and r.closing_current == 300_000
    # DSO = 550,000 / 560,000 × 90 = 88.39 ; best DSO = 300,000 / 560,000 × 90 = 48.21
    assert r.dso == Decimal("88.4")
    # ADD = 88.39 − 48.21 = 40.18
    assert r.average_days_delinquent == Decimal("40.2")
    # CEI = (140,000 + 560,000 − 550,000) / (140,000 + 560,000 − 300,000) = 150 / 400
    assert r.cei == Decimal("0.3750")
    # promises: kept 2 of 3 resolved in the period
    assert (r.promises_kept, r.promises_due, r.promise_kept_rate) == (2, 3, Decimal("0.6667"))
    # bank lines: 2 of 3 matched by a rule
    assert (r.auto_reconciled, r.reconciled) == (2, 3)
    assert r.auto_reconciled_share == Decimal("0.6667")
    # recovered: I2's 50,000 after "Recordatorio 1"; I1's 30,000 and I5's 60,000 without one
    stage = {a.key: (a.label, a.amount, a.count) for a in r.recovered_by_stage}
    assert stage == {
        "Recordatorio 1": ("Recordatorio 1", 50_000, 1),
        "none": ("Sin recordatorio", 90_000, 2),
    }
    # by channel: I2 (A, WhatsApp 2 days before), I5 (B, SMS 2 days before), I1 none in 30 days
    channel = {a.key: (a.label, a.amount) for a in r.recovered_by_channel}
    assert channel == {
        "sms": ("SMS", 60_000),
        "whatsapp": ("WhatsApp", 50_000),
        "none": ("Sin contacto", 30_000),
    }
    # weekly: the week of T collected what was applied from its Monday on
    monday = today() - timedelta(days=today().weekday())
    collected = {p.period: p.values["collected"] for p in r.weekly}
    due = {p.period: p.values["due"] for p in r.weekly}
    assert list(collected) == trend_weeks(today()) and len(collected) == 12
    expected_this_week = sum(
        amount
        for day, amount in ((30, 30_000), (10, 50_000), (5, 60_000))
        if today() - timedelta(day) >= monday
    )
    assert collected[monday] == expected_this_week
    assert sum(collected.values()) == sum(  # all three payments are within 12 weeks
        amount for day, amount in ((30, 30_000), (10, 50_000), (5, 60_000))
    )
    i5_week = (today() - timedelta(1)) - timedelta(days=(today() - timedelta(1)).weekday())
    assert due[i5_week] >= 60_000  # I5 fell due that week
    # DSO trend: 12 months, the last ends at T; its receivables are today's
    assert [p.period for p in r.dso_trend] == [first for first, _ in trend_months(today())]
    last_first, _last = trend_months(today())[-1]
    month_sales = sum(
        total
        for day, total in ((50, 200_000), (10, 300_000), (30, 60_000), (100, 100_000))
        if today() - timedelta(day) >= last_first
    )
    last = r.dso_trend[-1].values["dso"]
    if month_sales:
        days = (today() - last_first).days + 1
        expected = (Decimal(550_000) * days / month_sales).quantize(Decimal("0.1"))
        assert last == expected
    else:
        assert last is None


async def test_a_past_day_is_rebuilt_from_the_ledger(database: str) -> None:
    tenant = await make_tenant("kpi-" + uuid.uuid4().hex[:6])
    scope = TenantScope(int(tenant.id))
    await seed(scope)
    at = today() - timedelta(60)
    r = await kpi_report(scope, default_filters(at), "MXN")
    # at T−60 only I1 (issued T−100, paid later: 100,000, 10 days late) and I4 (40,000, the
    # write-off came later, 110 days late) existed
    assert buckets(r) == {
        "current": (0, 0),
        "1_30": (100_000, 1),
        "31_60": (0, 0),
        "61_90": (0, 0),
        "90_plus": (40_000, 1),
    }
    assert r.open_balance == 140_000 == r.closing_receivables
    # period T−149 … T−60: sales I1 100,000; opening (T−150) I4 40,000; nothing collected
    # DSO = 140,000 / 100,000 × 90 = 126.0; CEI = (40 + 100 − 140) / (40 + 100 − 0) = 0
    assert r.sales == 100_000 and r.opening_receivables == 40_000
    assert r.dso == Decimal("126.0") and r.cei == Decimal("0.0000")
    assert r.average_days_delinquent == Decimal("126.0")
    assert r.recovered_by_stage == () and r.recovered_by_channel == ()
    # the promise of T−120 was broken; no bank line was matched in that period
    assert (r.promises_kept, r.promises_due, r.promise_kept_rate) == (0, 1, Decimal("0.0000"))
    assert r.auto_reconciled_share is None


async def test_segment_and_collector_narrow_every_figure(database: str) -> None:
    tenant = await make_tenant("kpi-" + uuid.uuid4().hex[:6])
    scope = TenantScope(int(tenant.id))
    await seed(scope)
    # segment "mayoreo" (any case) is customer A: I1 70,000 (61–90) and I2 150,000 (1–30)
    a = await report(scope, segment="mayoreo")
    assert a.open_balance == 220_000 and buckets(a)["current"] == (0, 0)
    # sales I2 200,000; closing 220,000, none current; opening I1 100,000
    # DSO = 220/200 × 90 = 99.0 = ADD; CEI = (100 + 200 − 220) / (100 + 200 − 0) = 0.2667
    assert (a.dso, a.average_days_delinquent, a.cei) == (
        Decimal("99.0"),
        Decimal("99.0"),
        Decimal("0.2667"),
    )
    assert (a.promises_kept, a.promises_due) == (1, 2)
    assert (a.auto_reconciled, a.reconciled) == (2, 2)
    assert sum(x.amount for x in a.recovered_by_stage) == 80_000
    # collector 7 works customer B: I3 300,000 current + I4 30,000 90+
    b = await report(scope, collector_id=COLLECTOR_B)
    assert b.open_balance == 330_000
    assert buckets(b)["current"] == (300_000, 1) and buckets(b)["90_plus"] == (30_000, 1)
    assert (b.promises_kept, b.promises_due) == (1, 1)
    assert sum(x.amount for x in b.recovered_by_channel) == 60_000
    assert (b.auto_reconciled, b.reconciled, b.auto_reconciled_share) == (0, 1, Decimal(0))
    nobody = await report(scope, segment="no-existe")
    assert nobody.open_balance == 0 and nobody.dso is None and nobody.cei is None
    both = await report(scope, segment="menudeo", collector_id=COLLECTOR_B + 1)
    assert both.open_balance == 0


async def test_other_tenants_and_currencies_are_kept_apart(database: str) -> None:
    mine = await make_tenant("kpi-" + uuid.uuid4().hex[:6])
    other = await make_tenant("kpi-" + uuid.uuid4().hex[:6])
    scope, theirs = TenantScope(int(mine.id)), TenantScope(int(other.id))
    led = await seed(scope)
    await seed(theirs)  # the same ledger again, in another tenant: must not double anything
    t = today()
    big = Ledger(theirs)
    c = await big.customer("X", segment="Mayoreo", collector=COLLECTOR_B)
    await big.invoice("X1", c, t - timedelta(3), t - timedelta(1), 5_000_000)
    await led.invoice("U1", led.ids["B"], t - timedelta(3), t + timedelta(3), 5_000, currency="USD")
    reports = await kpi_reports(scope, default_filters(t))
    assert [r.currency for r in reports] == ["MXN", "USD"]
    assert reports[0].open_balance == 550_000 and reports[0].sales == 560_000
    assert reports[1].open_balance == 5_000 and buckets(reports[1])["current"] == (5_000, 1)
    assert (await report(scope, collector_id=COLLECTOR_B)).open_balance == 330_000
    doc = reports_as_json(reports, "mine")
    assert doc["currency"] == "MXN" and doc["open_balance"] == 550_000
    assert [o["currency"] for o in doc["other_currencies"]] == ["USD"]


async def test_the_json_shape(database: str) -> None:
    tenant = await make_tenant("kpi-" + uuid.uuid4().hex[:6])
    scope = TenantScope(int(tenant.id))
    await seed(scope)
    doc = report_as_json(await report(scope))
    assert (doc["dso"], doc["cei"], doc["average_days_delinquent"]) == ("88.4", "0.3750", "40.2")
    assert doc["promise_kept_rate"] == "0.6667" and doc["open_balance"] == 550_000
    assert doc["period"] == {
        "start": (today() - timedelta(89)).isoformat(),
        "end": today().isoformat(),
        "days": 90,
    }
    assert doc["aging"]["buckets"][0] == {
        "key": "current",
        "label": "Al corriente",
        "from_days": 0,
        "to_days": 0,
        "amount": 300_000,
        "count": 1,
    }
    assert sum(b["amount"] for b in doc["aging"]["buckets"]) == doc["open_balance"]
    assert len(doc["dso_trend"]) == 12 and len(doc["weekly"]) == 12
    assert set(doc["weekly"][0]) == {"period", "due", "collected"}


async def test_an_empty_tenant_has_no_rates_and_zero_balances(database: str) -> None:
    tenant = await make_tenant("kpi-" + uuid.uuid4().hex[:6])
    r = await report(TenantScope(int(tenant.id)))
    assert r.open_balance == 0 and all(b.amount == 0 for b in r.aging)
    assert (r.dso, r.cei, r.average_days_delinquent, r.promise_kept_rate) == (None,) * 4
    assert all(p.values["dso"] is None for p in r.dso_trend)
    doc = report_as_json(r)
    assert doc["dso"] is None and doc["cei"] is None


async def test_a_period_that_ends_before_it_starts_is_refused(database: str) -> None:
    tenant = await make_tenant("kpi-" + uuid.uuid4().hex[:6])
    t = today()
    with pytest.raises(ValueError, match="termina antes"):
        await kpi_report(TenantScope(int(tenant.id)), KpiFilters(t, t, t - timedelta(1)), "MXN")


@pytest.mark.parametrize("seed_value", [1, 2, 3])
async def test_buckets_add_up_to_the_open_balance_on_any_day(
    database: str, seed_value: int
) -> None:
    """Property: on random ledgers, for today and past days, the buckets add up to the open
    balance, and today's open balance is the sum of every non-void ``total − amount_applied``."""
    rng = random.Random(seed_value)
    tenant = await make_tenant("kpi-" + uuid.uuid4().hex[:6])
    scope = TenantScope(int(tenant.id))
    led = Ledger(scope)
    t = today()
    customers = [await led.customer(f"C{k}", segment=rng.choice(["", "x"])) for k in range(3)]
    for k in range(20):
        issued = t - timedelta(rng.randint(0, 200))
        total = rng.randint(1, 500) * 100
        inv = await led.invoice(
            f"F{k}",
            rng.choice(customers),
            issued,
            issued + timedelta(rng.randint(0, 60)),
            total,
            status="void" if rng.random() < 0.1 else "open",
        )
        left = total
        for _ in range(rng.randint(0, 3)):
            if left <= 0:
                break
            amount = rng.randint(1, left)
            day = issued + timedelta(rng.randint(0, (t - issued).days))
            if rng.random() < 0.2:
                await led.write_off(inv, amount, day)
            else:
                await led.pay(inv, amount, day)
            left -= amount
    rows = await scope.select(Invoice).where(Invoice.status != "void")
    api_balance = sum(int(r["total"]) - int(r["amount_applied"]) for r in rows)
    for back in (0, 15, 90, 400):
        for segment in ("", "x"):
            r = await kpi_report(
                scope, default_filters(t - timedelta(back), segment=segment), "MXN"
            )
            assert sum(b.amount for b in r.aging) == r.open_balance
            assert r.open_balance == r.closing_receivables
            assert r.open_balance >= 0
            if back == 0 and not segment:
                assert r.open_balance == api_balance
    empty = await kpi_report(scope, default_filters(t - timedelta(1000)), "MXN")
    assert empty.open_balance == 0


def test_every_kpi_has_a_definition() -> None:
    keys = {
        "dso",
        "cei",
        "aging",
        "add",
        "promise_kept_rate",
        "auto_reconciled_share",
        "recovered_by_stage",
        "recovered_by_channel",
        "dso_trend",
        "weekly",
    }
    assert set(DEFINITIONS) == keys
    for d in DEFINITIONS.values():
        assert d.title and len(d.definition) > 30 and len(d.formula) > 30


def test_every_label_and_definition_is_translated() -> None:
    from recaudo.core.messaging.i18n import translations
    from recaudo.core.workspace.kpis import BUCKETS, CHANNEL_LABELS, NO_CONTACT, NO_STAGE

    en = translations("en")
    texts = {t for d in DEFINITIONS.values() for t in (d.title, d.definition, d.formula)}
    texts |= {label for _k, label, _lo, _hi in BUCKETS} | set(CHANNEL_LABELS.values())
    texts |= {NO_STAGE[1], NO_CONTACT[1]}
    same = {"SMS", "WhatsApp"}  # the same word in English
    missing = sorted(t for t in texts if en.gettext(t) == t and t not in same)
    assert not missing, "add to core/messaging/locale/en/LC_MESSAGES/kpis.po:\n" + "\n".join(
        missing
    )
    assert en.gettext("Tendencia del DSO") == "DSO trend"
