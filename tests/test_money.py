"""Money is exact: integer minor units, exponents pinned from ISO 4217, no floats anywhere."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recaudo.core.common.money import (
    ISO_4217_EXPONENTS,
    MAX_MAJOR_UNITS,
    AmountTooLarge,
    Money,
    MoneyError,
    exponent,
    format_minor,
    split_evenly,
)

# ISO 4217 minor units, written out again by hand: a change to the table in core/common/money.py
# (or a library deciding otherwise) must fail here, because stored amounts would change meaning.
ISO_4217 = {
    "ARS": 2, "BOB": 2, "BRL": 2, "BZD": 2, "CLP": 0, "COP": 2, "CRC": 2, "CUP": 2,
    "DOP": 2, "GTQ": 2, "GYD": 2, "HNL": 2, "HTG": 2, "JMD": 2, "MXN": 2, "NIO": 2,
    "PAB": 2, "PEN": 2, "PYG": 0, "SRD": 2, "TTD": 2, "UYU": 2, "VES": 2,
    "USD": 2, "EUR": 2, "CAD": 2, "GBP": 2, "CHF": 2, "CNY": 2, "JPY": 0, "KWD": 3,
}  # fmt: skip


@pytest.mark.parametrize(("currency", "digits"), sorted(ISO_4217.items()))
def test_exponents_are_pinned_to_iso_4217(currency: str, digits: int) -> None:
    assert exponent(currency) == digits
    assert Money.parse("1", currency).amount == 10**digits


def test_every_supported_currency_is_tested() -> None:
    assert set(ISO_4217_EXPONENTS) == set(ISO_4217)


def test_exponents_do_not_follow_babel(monkeypatch: pytest.MonkeyPatch) -> None:
    """babel 2.19 gives COP 0 digits; a stored 18,000,000 minor units stays COP 180,000."""
    import babel.numbers

    monkeypatch.setattr(babel.numbers, "get_currency_precision", lambda code: 0)
    assert exponent("COP") == 2
    assert Money("COP", 18_000_000).to_decimal() == Decimal("180000.00")


def test_display_never_rounds_money() -> None:
    """CLDR may show COP without cents; an amount that has cents still shows them."""
    assert format_minor(18_000_000, "COP", "es_CO") in ("$180.000", "$180.000,00")
    assert format_minor(18_000_050, "COP", "es_CO") == "$180.000,50"


@pytest.mark.parametrize("text", ["1e9", "1E3", "1e30", "1e-2", "Infinity", "NaN", "0x10"])
def test_parse_refuses_exponent_notation_and_non_numbers(text: str) -> None:
    with pytest.raises(MoneyError, match="not an amount"):
        Money.parse(text, "MXN")


@pytest.mark.parametrize(
    "text", ["9999999999999999999", "1000000000000.01", "-1000000000001", "9" * 5000]
)
def test_parse_refuses_amounts_no_one_pays(text: str) -> None:
    """Beyond 10^12 major units (and so never beyond a BIGINT column, whatever the exponent)."""
    with pytest.raises(AmountTooLarge):
        Money.parse(text, "MXN")


def test_the_largest_accepted_amount_fits_a_bigint_in_every_currency() -> None:
    for currency in ISO_4217_EXPONENTS:
        largest = Money.parse(str(MAX_MAJOR_UNITS), currency)
        assert largest.amount == MAX_MAJOR_UNITS * 10 ** exponent(currency) < 2**63
    with pytest.raises(AmountTooLarge):
        Money.parse(Decimal(MAX_MAJOR_UNITS) + 1, "CLP")  # a provider's amount is checked too


def test_parse_is_exact_and_refuses_extra_digits() -> None:
    assert Money.parse("1234.50", "MXN") == Money("MXN", 123450)
    assert Money.parse("0.1", "MXN") + Money.parse("0.2", "MXN") == Money.parse("0.3", "MXN")
    assert Money.parse("15000", "CLP") == Money("CLP", 15000)
    with pytest.raises(MoneyError, match="at most 0 decimal"):
        Money.parse("15000.5", "CLP")
    with pytest.raises(MoneyError, match="at most 2 decimal"):
        Money.parse("10.005", "MXN")
    with pytest.raises(MoneyError, match="not an amount"):
        Money.parse("1,5", "MXN")
    with pytest.raises(MoneyError, match="not an amount"):
        Money.parse("NaN", "MXN")


def test_floats_and_unknown_currencies_are_refused() -> None:
    with pytest.raises(MoneyError):
        Money("MXN", 10.5)  # type: ignore[arg-type]
    with pytest.raises(MoneyError, match="unknown ISO 4217"):
        Money("XXY", 100)
    with pytest.raises(MoneyError, match="cannot mix"):
        Money("MXN", 1) + Money("COP", 1)


def test_formatting_follows_locale() -> None:
    assert Money("MXN", 123456).format("es_MX") == "$1,234.56"
    assert Money("CLP", 1500000).format("es_CL") == "$1.500.000"
    cop = Money("COP", 12345600).format("es_CO")
    assert cop in ("$123.456", "$123.456,00")  # CLDR decides whether whole pesos show ",00"
    assert Money("MXN", 123456).format("en_US") == "MX$1,234.56"


@given(
    st.integers(min_value=0, max_value=MAX_MAJOR_UNITS),
    st.sampled_from(["CLP", "COP", "MXN", "USD", "KWD"]),
)
def test_parse_round_trips_every_amount(amount: int, currency: str) -> None:
    money = Money(currency, amount)
    assert Money.parse(money.to_decimal(), currency) == money
    assert Money.parse(str(money.to_decimal()), currency) == money
    assert isinstance(money.to_decimal(), Decimal)


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=1, max_value=48))
def test_split_evenly_never_loses_a_cent(total: int, parts: int) -> None:
    shares = split_evenly(total, parts)
    assert sum(shares) == total
    assert max(shares) - min(shares) <= 1


@given(
    st.integers(min_value=-(10**13), max_value=10**13),
    st.sampled_from(["CLP", "COP", "MXN", "USD", "BRL", "PEN"]),
    st.sampled_from(["es_MX", "es_CO", "es_CL", "en_US", "pt_BR", "es_PE"]),
)
def test_fast_formatting_matches_babel(amount: int, currency: str, locale: str) -> None:
    from recaudo.core.common.money import format_minor

    assert format_minor(amount, currency, locale) == Money(currency, amount).format(locale)
