"""Typed amounts are read the way the page's locale writes them, or refused with the format."""

from __future__ import annotations

import pytest

from recaudo.core.common.money import Money
from recaudo.core.common.money_input import AmountFormatError, example, parse_amount


@pytest.mark.parametrize(
    ("text", "locale", "minor"),
    [
        ("1,500.00", "es_MX", 150_000),
        ("1,500.00", "en_US", 150_000),
        ("1,500", "es_MX", 150_000),
        ("1500.5", "es_MX", 150_050),
        ("$ 1,500.00", "es_MX", 150_000),
        ("MXN 1 500", "es_MX", 150_000),
        ("12,345,678.90", "en_US", 1_234_567_890),
        ("1.500,00", "es_CO", 150_000),
        ("1.500", "es_CO", 150_000),
        ("1500,5", "es_CO", 150_050),
        ("1.234.567,89", "es_CO", 123_456_789),
    ],
)
def test_the_locales_grouping_is_accepted(text: str, locale: str, minor: int) -> None:
    assert parse_amount(text, "MXN", locale) == Money("MXN", minor)


@pytest.mark.parametrize(
    ("text", "locale", "shown"),
    [
        ("1,5", "es_MX", "1,500.00"),  # a decimal comma, or a misplaced group? Ask.
        ("1,50,000", "es_MX", "1,500.00"),
        ("1500.5", "es_CO", "1.500,00"),
        ("1,2,3", "es_CO", "1.500,00"),
        ("1e9", "es_MX", "1,500.00"),
        ("NaN", "es_MX", "1,500.00"),
        ("", "es_MX", "1,500.00"),
        ("1.505", "es_MX", "1,500.00"),  # more decimals than MXN has
    ],
)
def test_ambiguous_or_unreadable_text_names_the_format(text: str, locale: str, shown: str) -> None:
    with pytest.raises(AmountFormatError) as caught:
        parse_amount(text, "MXN", locale)
    assert str(caught.value) % caught.value.params == f"Escribe el monto así: {shown}"


def test_the_example_follows_the_currencys_decimals() -> None:
    assert example("CLP", "es_CL") == "1.500" and example("KWD", "en_US") == "1,500.000"


def test_amounts_beyond_the_maximum_keep_their_own_error() -> None:
    from recaudo.core.common.money import AmountTooLarge

    with pytest.raises(AmountTooLarge):
        parse_amount("1,000,000,000,000.01", "MXN", "es_MX")
