"""The matching engine as staff would notice it: which lines pay which invoices on their own,
which wait for a person (and with which proposals), and that nothing is paid twice or beyond what
is owed. Pure: hand-made books, no database (the last tests load a book from one)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recaudo.api import MatchCandidate, MatchRule, StatementLine, TenantInfo
from recaudo.core.platform.context import build_context
from recaudo.core.reconciliation.book import Book, name_tokens, number_key
from recaudo.core.reconciliation.engine import (
    DEFAULT_RULES,
    LoadedMatchRule,
    MatchSettings,
    available_rules,
    match_lines,
)
from recaudo.plugins.banktransfer import BankReference, payment_reference
from recaudo.plugins.match_basics.amounts import AmountDateCustomer
from recaudo.plugins.match_basics.names import PayerName
from recaudo.plugins.match_basics.numbers import InvoiceNumber

MX = TenantInfo(1, "ferreteria", "Ferretería Norte", "MX", "MXN", "es_MX", "America/Mexico_City")
BANK = {"reference_scheme": "numeric_check", "reference_prefix": ""}
DAY = date(2026, 12, 1)

#: customer id -> name, payment reference stored
CUSTOMERS = [
    (11, "Comercializadora Álamo, S.A. de C.V.", ""),
    (12, "Tlapalería Hermanos Ruiz", "REF-RUIZ-77"),
    (13, "Juana Pérez Ortiz", ""),
    (14, "Constructora del Valle SAS", ""),
]
#: invoice id, customer, number, balance (centavos), due
INVOICES = [
    (101, 11, "F-1001", 150_000, DAY - timedelta(days=20)),
    (102, 11, "F-1002", 80_000, DAY - timedelta(days=10)),
    (103, 11, "F-1003", 45_000, DAY + timedelta(days=5)),
    (201, 12, "F-2001", 99_900, DAY - timedelta(days=3)),
    (301, 13, "A-77", 12_345, DAY + timedelta(days=2)),
    (302, 13, "F-1004", 80_000, DAY + timedelta(days=40)),
    (401, 14, "F-4001", 700_000, DAY),
]


def book(**kw: Any) -> Book:
    return Book("MXN", INVOICES, CUSTOMERS, **kw)


def rules(*names: str, bank: dict[str, str] | None = None) -> list[LoadedMatchRule]:
    made = {
        "bank_reference": ("banktransfer", BankReference(), bank if bank is not None else BANK),
        "invoice_number": ("match_basics", InvoiceNumber(), {}),
        "amount_date_customer": ("match_basics", AmountDateCustomer(), {}),
        "payer_name": ("match_basics", PayerName(), {}),
    }
    out = []
    for name in names or DEFAULT_RULES:
        plugin, rule, values = made[name]
        out.append(LoadedMatchRule(plugin, rule, build_context(MX, plugin, values)))
    return out


_keys = iter(range(1, 10**9))


def line(amount: int, description: str = "", **kw: Any) -> StatementLine:
    return StatementLine(
        key=f"k{next(_keys)}",
        booked_on=kw.pop("booked_on", DAY),
        amount=amount,
        currency=kw.pop("currency", "MXN"),
        description=description,
        **kw,
    )


def decide(lines: list[StatementLine], b: Book | None = None, **kw: Any) -> list[Any]:
    names = kw.pop("names", DEFAULT_RULES)
    return match_lines(lines, b or book(), rules(*names), MatchSettings(rules=names, **kw))


def applied(decision: Any) -> tuple[int, tuple[tuple[int, int], ...]]:
    assert decision.outcome == "matched", decision
    best = decision.candidates[0]
    return best.customer_id, best.allocations


# --- invoice numbers ----------------------------------------------------------------------------


def test_an_invoice_number_and_its_exact_amount_pay_that_invoice() -> None:
    [d] = decide([line(80_000, "PAGO FACTURA F-1002")])
    assert applied(d) == (11, ((102, 80_000),))
    assert d.candidates[0].rule == "invoice_number"
    assert d.candidates[0].confidence >= 0.95
    assert "F-1002" in d.candidates[0].reason


def test_separators_case_and_o_for_zero_do_not_matter() -> None:
    for text in ("fact f 1002", "F1002", "FO1OO2", "f/1002", "Factura No. F-l002"):
        [d] = decide([line(80_000, text)])
        assert applied(d) == (11, ((102, 80_000),)), text


def test_several_numbers_in_one_text_pay_several_invoices() -> None:
    [d] = decide([line(230_000, "PAGO F-1001, F-1002")])
    assert applied(d) == (11, ((101, 150_000), (102, 80_000)))


def test_two_lines_paying_one_invoice_each_see_what_the_other_left() -> None:
    first, second, third = decide(
        [line(300_000, "ABONO F-4001"), line(400_000, "F-4001 resto"), line(1_000, "F-4001")]
    )
    assert applied(first) == (14, ((401, 300_000),))
    assert applied(second) == (14, ((401, 400_000),))
    assert third.outcome != "matched" or third.candidates[0].allocations == ()


def test_a_fee_within_the_tolerance_still_closes_the_invoice() -> None:
    [d] = decide([line(79_500, "F-1002")], fee_tolerance=500)
    assert applied(d) == (11, ((102, 80_000),))
    assert "comisión" in d.candidates[0].reason
    [short] = decide([line(79_400, "F-1002")], fee_tolerance=500)
    assert applied(short) == (11, ((102, 79_400),))  # beyond the fee: a partial payment


def test_a_number_one_typo_away_is_applied_only_when_the_amount_confirms_it() -> None:
    [swapped] = decide([line(99_900, "pago factura F-2010")])  # F-2001 with digits swapped
    assert applied(swapped) == (12, ((201, 99_900),))
    assert swapped.candidates[0].confidence < 0.98
    [missing] = decide([line(150_000, "F-101")], names=("invoice_number",))  # F-1001
    assert applied(missing) == (11, ((101, 150_000),))
    [two_fit] = decide([line(80_000, "F-100")], names=("invoice_number",))  # F-1002 or F-1004?
    assert two_fit.outcome == "review"
    assert {c.allocations[0][0] for c in two_fit.candidates} == {102, 302}
    [unsure] = decide([line(55_555, "pago F-2010")], names=("invoice_number",))
    assert unsure.outcome == "review"
    assert unsure.candidates[0].customer_id == 12


def test_a_typo_that_hits_another_real_invoice_goes_to_review() -> None:
    # F-1003 exists (45,000) but the amount is F-1002's: the customer mistyped one digit.
    [d] = decide([line(80_000, "F-1003")], names=("invoice_number",))
    assert d.outcome == "review"
    assert {c.allocations[0][0] for c in d.candidates} >= {102, 103}


# --- bank references ----------------------------------------------------------------------------


def test_a_valid_reference_pays_the_customers_invoices_that_add_up() -> None:
    ref = payment_reference(BANK, 11)
    [d] = decide([line(125_000, reference=ref)])  # F-1002 + F-1003 add up; F-1001 does not
    assert applied(d) == (11, ((102, 80_000), (103, 45_000)))
    assert d.candidates[0].rule == "bank_reference"


def test_without_an_exact_sum_a_reference_pays_the_oldest_first() -> None:
    ref = payment_reference(BANK, 11)
    [d] = decide([line(200_000, f"SPEI REF {ref}")])
    assert applied(d) == (11, ((101, 150_000), (102, 50_000)))


def test_a_stored_payment_reference_identifies_its_customer() -> None:
    [d] = decide([line(99_900, "REF RUIZ 77", reference="REF-RUIZ-77")])
    assert applied(d) == (12, ((201, 99_900),))


def test_a_reference_with_a_wrong_check_digit_is_never_applied() -> None:
    ref = payment_reference(BANK, 13)
    typo = ref[:-2] + str((int(ref[-2]) + 1) % 10) + ref[-1]
    [d] = decide([line(12_345, reference=typo)], names=("bank_reference",))
    assert d.outcome == "review"
    assert 13 in {c.customer_id for c in d.candidates}
    assert "verificador" in d.candidates[0].reason
    [even_at_a_low_threshold] = decide(
        [line(12_345, reference=typo)], names=("bank_reference",), auto_threshold=0.5
    )
    assert even_at_a_low_threshold.outcome == "review"


def test_an_account_the_customer_paid_from_before_identifies_them() -> None:
    clabe = "002180700000000019"
    first, second = decide(
        [
            line(45_000, f"REF {payment_reference(BANK, 11)}", payer_account=clabe),
            line(80_000, "transferencia", payer_account=clabe),
        ],
        names=("bank_reference",),
    )
    assert applied(first)[0] == 11
    assert applied(second) == (11, ((102, 80_000),))
    [known] = decide([line(80_000, "x", payer_account=clabe)], book(accounts={clabe: 13}))
    assert applied(known) == (13, ((302, 80_000),))


def test_a_reference_is_read_with_the_tenants_own_scheme_and_prefix() -> None:
    ref = payment_reference(BANK, 11)
    prefixed = {"reference_scheme": "numeric_check", "reference_prefix": "9"}
    [d] = match_lines(
        [line(125_000, reference=ref)],
        book(),
        rules("bank_reference", bank=prefixed),
        MatchSettings(rules=("bank_reference",)),
    )
    assert d.outcome != "matched"
    [ok] = match_lines(
        [line(125_000, reference=payment_reference(prefixed, 11))],
        book(),
        rules("bank_reference", bank=prefixed),
        MatchSettings(rules=("bank_reference",)),
    )
    assert applied(ok)[0] == 11


# --- amount, date, name -------------------------------------------------------------------------


def test_an_amount_alone_is_never_sure_and_several_are_all_shown() -> None:
    [unique] = decide([line(12_345, "DEPOSITO")])
    assert unique.outcome == "review"
    assert unique.candidates[0].rule == "amount_date_customer"
    assert unique.candidates[0].allocations == ((301, 12_345),)
    [two] = decide([line(80_000, "DEPOSITO")], date_window_days=60)  # F-1002 and F-1004
    assert two.outcome == "review"
    assert {c.customer_id for c in two.candidates} == {11, 13}
    [far] = decide([line(80_000, "DEPOSITO")], date_window_days=12)  # F-1004: due in 40 days
    assert {c.customer_id for c in far.candidates} == {11}


def test_a_payer_name_alone_is_a_hint_but_with_the_amount_it_is_enough() -> None:
    alone = decide(
        [line(150_000, "", payer_name="COMERCIALIZADORA ALAMO SA DE CV")],
        names=("payer_name",),
        auto_threshold=0.7,
    )
    assert alone[0].outcome == "review"
    assert alone[0].candidates[0].customer_id == 11
    [both] = decide([line(12_345, "DEPOSITO", payer_name="PEREZ ORTIZ JUANA")])
    assert applied(both) == (13, ((301, 12_345),))
    assert set(both.candidates[0].rule.split("+")) == {"amount_date_customer", "payer_name"}


def test_names_are_compared_without_accents_or_company_forms() -> None:
    assert name_tokens("Comercializadora Álamo, S.A. de C.V.") == ["COMERCIALIZADORA", "ALAMO"]
    assert name_tokens("Constructora del Valle S.A.S.") == ["CONSTRUCTORA", "DEL", "VALLE"]
    assert number_key("fo-l0o2") == "F01002"
    assert book().customers_named("CONSTRUCTORA DEL VALLE")[0][0] == 14


# --- the engine ----------------------------------------------------------------------------------


def test_debits_and_unknown_money_are_unmatched() -> None:
    debit, nobody, other_currency = decide(
        [
            line(-80_000, "F-1002"),
            line(31_337, "PAGO SERVICIOS", payer_name="Nadie Conocido"),
            line(80_000, "F-1002", currency="USD"),
        ]
    )
    assert (debit.outcome, debit.candidates) == ("unmatched", ())
    assert (nobody.outcome, nobody.candidates) == ("unmatched", ())
    assert other_currency.outcome == "unmatched"


def test_two_customers_equally_likely_go_to_review_never_applied() -> None:
    class Both(MatchRule):
        name = "both"
        label = "both"

        def candidates(self, ctx: Any, line: StatementLine, book: Any) -> list[MatchCandidate]:
            return [MatchCandidate("both", 0.95, 11), MatchCandidate("both", 0.9, 13)]

    loaded = [LoadedMatchRule("x", Both(), build_context(MX, "x", {}))]
    [d] = match_lines([line(1_000)], book(), loaded, MatchSettings(rules=("both",)))
    assert d.outcome == "review"
    assert [c.customer_id for c in d.candidates] == [11, 13]


def test_rules_run_in_the_tenants_order_and_only_the_enabled_ones() -> None:
    ref = payment_reference(BANK, 13)
    text = f"F-1002 ref {ref}"  # the number says customer 11, the reference customer 13
    [by_number] = decide([line(80_000, text)], names=("invoice_number", "bank_reference"))
    assert applied(by_number)[0] == 11
    [by_reference] = decide([line(80_000, text)], names=("bank_reference", "invoice_number"))
    assert applied(by_reference)[0] == 13
    [disabled] = decide([line(80_000, "F-1002")], names=("bank_reference", "payer_name"))
    assert disabled.outcome == "unmatched"


def test_a_rule_that_raises_is_skipped_and_the_others_still_match(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = []

    class Broken(MatchRule):
        name = "broken"
        label = "broken"

        def candidates(self, ctx: Any, line: StatementLine, book: Any) -> list[MatchCandidate]:
            calls.append(line.key)
            raise RuntimeError("boom")

    loaded = [LoadedMatchRule("thirdparty", Broken(), build_context(MX, "thirdparty", {}))]
    loaded += rules("invoice_number")
    decisions = match_lines(
        [line(80_000, "F-1002"), line(45_000, "F-1003")],
        book(),
        loaded,
        MatchSettings(rules=("broken", "invoice_number")),
    )
    assert [d.outcome for d in decisions] == ["matched", "matched"]
    assert len(calls) == 1  # reported once, then left out of the run
    assert "thirdparty" in caplog.text and "boom" in caplog.text


def test_impossible_proposals_from_a_plugin_are_dropped() -> None:
    class Greedy(MatchRule):
        name = "greedy"
        label = "greedy"

        def candidates(self, ctx: Any, line: StatementLine, book: Any) -> list[MatchCandidate]:
            return [
                MatchCandidate("greedy", 1.0, 11, ((101, 999_999),)),  # beyond the balance
                MatchCandidate("greedy", 1.0, 11, ((401, 1_000),)),  # another customer's
                MatchCandidate("greedy", 1.0, 999),  # nobody
                "not a candidate",  # type: ignore[list-item]
            ]

    loaded = [LoadedMatchRule("x", Greedy(), build_context(MX, "x", {}))]
    [d] = match_lines([line(1_000)], book(), loaded, MatchSettings(rules=("greedy",)))
    assert d.outcome == "unmatched"


def test_the_installed_rules_are_listed_in_default_order() -> None:
    names = [name for name, _ in available_rules()]
    assert names[:4] == list(DEFAULT_RULES)


# --- properties ---------------------------------------------------------------------------------


descriptions = st.lists(
    st.sampled_from(["F-1001", "F-1002", "F-1003", "F-2010", "A-77", "F-4001", "F-1004", "x"]),
    max_size=3,
).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-50_000, 900_000), descriptions, st.booleans()), max_size=12),
    st.integers(0, 2_000),
)
def test_allocations_never_exceed_balances_nor_the_line(
    specs: list[tuple[int, str, bool]], tolerance: int
) -> None:
    b = book()
    owed = {row[0]: row[3] for row in INVOICES}
    lines = [
        line(amount, text, reference=payment_reference(BANK, 11) if ref else "")
        for amount, text, ref in specs
    ]
    for d in decide(lines, b, fee_tolerance=tolerance):
        for c in d.candidates:
            assert sum(a for _, a in c.allocations) <= d.line.amount + tolerance
            assert all(a > 0 for _, a in c.allocations)
        if d.outcome == "matched":
            for invoice_id, amount in d.candidates[0].allocations:
                assert amount <= owed[invoice_id]
                owed[invoice_id] -= amount
    assert owed == {row[0]: b.balance(row[0]) for row in INVOICES}  # took exactly what it applied


def test_a_line_is_matched_once_even_if_the_bank_repeats_it() -> None:
    same = line(80_000, "F-1002")
    first, again = decide([same, replace(same, key="k-again")])
    assert applied(first) == (11, ((102, 80_000),))
    assert again.outcome == "review"
    assert [(c.customer_id, c.allocations) for c in again.candidates] == [(11, ())]
    assert "ya está pagada" in again.candidates[0].reason
    paid_before = Book("MXN", INVOICES, CUSTOMERS, paid=[("F-0999", 12)])
    [before] = decide([line(80_000, "F-0999")], paid_before, names=("invoice_number",))
    assert [(c.customer_id, c.allocations) for c in before.candidates] == [(12, ())]


# --- the book from the database -----------------------------------------------------------------


async def test_load_book_reads_only_this_tenants_open_invoices_in_the_currency(
    two_tenants: tuple[Any, Any], host: Any
) -> None:
    from recaudo.core.billing.customers import NewCustomer, create_customer
    from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
    from recaudo.core.reconciliation.book import load_book
    from recaudo.core.reconciliation.engine import load_match_rules
    from recaudo.core.tables import Customer, Invoice
    from recaudo.tenants.models import Tenant
    from recaudo.tenants.plugin_config import set_plugin
    from recaudo.tenants.service import tenant_info

    a, b = two_tenants

    async def invoice(scope: Any, customer: int, number: str, total: int, cur: str) -> int:
        made = await create_invoice(
            scope,
            NewInvoice(customer, number, DAY, DAY, cur, (NewLine("Servicio", 1, total),)),
        )
        return int(made.id)

    ana = await create_customer(a, NewCustomer("1", "Ána Ruíz, S.A. de C.V."), "MX")
    await a.update(Customer, {Customer.payment_reference: "ANA-7"}).where(Customer.id == ana.id)
    bruno = await create_customer(b, NewCustomer("1", "Bruno Gil"), "CO")
    open_one = await invoice(a, int(ana.id), "F-1", 10_000, "MXN")
    paid = await invoice(a, int(ana.id), "F-2", 20_000, "MXN")
    await a.update(Invoice, {Invoice.amount_applied: 20_000, Invoice.status: "paid"}).where(
        Invoice.id == paid
    )
    await invoice(a, int(ana.id), "F-3", 30_000, "USD")
    theirs = await invoice(b, int(bruno.id), "F-1", 10_000, "MXN")  # same number, other tenant

    mine = await load_book(a, "mxn")
    assert [(i.invoice_id, i.number, i.balance) for i in mine.invoices_of(int(ana.id))] == [
        (open_one, "F-1", 10_000)
    ]
    assert [i.invoice_id for i in mine.invoices_numbered("f1")] == [open_one]
    assert mine.item(theirs) is None and mine.invoices_of(int(bruno.id)) == []
    assert (
        mine.customer_name(int(bruno.id)) == ""
        and mine.customer_name(int(ana.id)) == "Ána Ruíz, S.A. de C.V."
    )
    assert mine.customer_for_reference("ana 7") == int(ana.id)
    assert mine.customers_named("RUIZ ANA")[0][0] == int(ana.id)
    assert mine.customer_of_paid_invoice("F-2") == int(ana.id)
    assert [i.invoice_id for i in (await load_book(b, "MXN")).invoices_numbered("F-1")] == [theirs]

    info = tenant_info(await Tenant.objects().where(Tenant.id == a.tenant_id).first())
    loaded = await load_match_rules(info, ["payer_name", "bank_reference", "invoice_number"])
    assert [r.name for r in loaded] == ["payer_name", "invoice_number"]  # banktransfer is off
    await set_plugin(
        a,
        "banktransfer",
        enabled=True,
        settings={"bank_name": "BBVA", "account_holder": "Alfa", "account_number": "0123456789"},
    )
    loaded = await load_match_rules(info, ["bank_reference", "invoice_number"])
    assert [r.name for r in loaded] == ["bank_reference", "invoice_number"]
    assert loaded[0].ctx.settings["reference_scheme"] == "numeric_check"
