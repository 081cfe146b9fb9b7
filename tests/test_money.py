"""Money is exact: integer minor units, exponents from CLDR, no floats anywhere."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recaudo.core.money import Money, MoneyError, exponent, split_evenly


@pytest.mark.parametrize(
    ("currency", "digits"), [("CLP", 0), ("COP", 2), ("MXN", 2), ("USD", 2), ("JPY", 0), ("KWD", 3)]
)
def test_exponents_come_from_cldr(currency: str, digits: int) -> None:
    assert exponent(currency) == digits


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
    assert cop == "$123.456,00"
    assert Money("MXN", 123456).format("en_US") == "MX$1,234.56"


@given(
    st.integers(min_value=0, max_value=10**15),
    st.sampled_from(["CLP", "COP", "MXN", "USD"]),
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
    from recaudo.core.money import format_minor

    assert format_minor(amount, currency, locale) == Money(currency, amount).format(locale)
