"""Amounts typed by people, read the way their locale writes them.

Every amount field (pay another amount, proof amount, down payment, staff corrections) goes
through :func:`parse_amount`, so ``1,500.00`` in es-MX and ``1.500,00`` in es-CO both mean 1500.
The locale's group separator is accepted only where it is unambiguous (groups of three digits
before any decimal part); anything that could be read two ways (``1,5`` in es-MX) is refused with
the expected format rather than guessed. The exact conversion and its limits (decimals allowed by
the currency, no exponents, a maximum) stay in :meth:`Money.parse`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from babel.core import Locale, UnknownLocaleError

from recaudo.core.common.money import AmountTooLarge, Money, MoneyError, exponent

MAX_TEXT = 40
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_SYMBOL = re.compile(r"^(?:[A-Za-z]{3}|\$|US\$|COL\$|MX\$)|(?:[A-Za-z]{3}|\$)$")
_DIGITS_AND_MARKS = re.compile(r"^-?[0-9.,]+$")
_GROUPED = re.compile(r"^[0-9]{1,3}(?:G[0-9]{3})+$")  # G: the locale's group separator


class AmountFormatError(MoneyError):
    """The text is not an amount in the locale's format; ``str()`` is a Spanish source string
    with an ``%(example)s`` placeholder, ``example`` the locale's way of writing 1500."""

    def __init__(self, example: str) -> None:
        super().__init__("Escribe el monto así: %(example)s")
        self.example = example

    @property
    def params(self) -> dict[str, str]:
        return {"example": self.example}


@lru_cache(maxsize=32)
def separators(locale: str) -> tuple[str, str]:
    """``(decimal, group)`` of a locale, e.g. ``(".", ",")`` for es_MX, ``(",", ".")`` for es_CO."""
    try:
        loc = Locale.parse(str(locale or "es_MX").replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        loc = Locale.parse("es_MX")
    symbols = loc.number_symbols.get(loc.default_numbering_system, {})
    decimal, group = symbols.get("decimal", "."), symbols.get("group", ",")
    if decimal not in ".," or group not in ".,\u00a0\u202f " or decimal == group:
        return ".", ","
    return decimal, group if group in ".," else ""


def example(currency: str, locale: str) -> str:
    """How this locale writes 1500 of ``currency``: ``1,500.00``, ``1.500,00``, ``1,500``."""
    decimal, group = separators(locale)
    digits = exponent(currency)
    return f"1{group or ''}500" + (f"{decimal}{'0' * digits}" if digits else "")


def normalise(text: str, locale: str) -> str | None:
    """The amount as ``-?digits[.digits]``, or ``None`` when it cannot be read one way only."""
    decimal, group = separators(locale)
    value = _SPACES.sub("", text or "")
    value = _SYMBOL.sub("", value).strip()
    if not value or len(value) > MAX_TEXT or not _DIGITS_AND_MARKS.match(value):
        return None
    sign = "-" if value.startswith("-") else ""
    value = value.lstrip("-")
    other = "," if decimal == "." else "."
    if decimal in value:
        whole, _, fraction = value.rpartition(decimal)
        if decimal in whole or not fraction.isdigit():
            return None
    else:
        whole, fraction = value, ""
    if group and group in whole:
        if not _GROUPED.match(whole.replace(group, "G")):
            return None  # "1,5" in es-MX: a decimal comma or a misplaced group? Ask.
        whole = whole.replace(group, "")
    if other in whole or not whole.isdigit():
        return None
    return sign + whole + (f".{fraction}" if fraction else "")


def parse_amount(text: str, currency: str, locale: str) -> Money:
    """A typed amount as money, or :class:`AmountFormatError` naming the expected format.

    Amounts that read one way but are not valid money (more decimals than the currency has) get
    the same answer, the example showing the decimals; :class:`AmountTooLarge` (beyond
    :meth:`Money.parse`'s maximum) passes through with its own message.
    """
    plain = normalise(text, locale)
    if plain is None:
        raise AmountFormatError(example(currency, locale))
    try:
        return Money.parse(plain, currency)
    except AmountTooLarge:
        raise
    except MoneyError:
        raise AmountFormatError(example(currency, locale)) from None


def input_text(money: Money, locale: str) -> str:
    """An amount as a form field's value that :func:`parse_amount` reads back: the locale's
    decimal mark, no grouping (``1750.00`` in es-MX, ``1750,00`` in es-CO)."""
    decimal, _group = separators(locale)
    return str(money.to_decimal()).replace(".", decimal)
