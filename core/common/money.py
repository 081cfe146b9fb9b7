"""Exact money: integer minor units plus an ISO 4217 code.

Currency exponents are *data*: the ISO 4217 minor-unit digits are pinned in
:data:`ISO_4217_EXPONENTS` below, never read from a library. A stored ``amount`` keeps its meaning
whatever CLDR (babel) says next year: babel 2.19 changed COP from 2 to 0 digits, which would have
made every stored COP amount read 100 times too large. Display may follow CLDR (COP without cents
when an amount has none) but storage never moves. A decimal amount typed by a person is converted
once, exactly, and rejected if it has more digits than the currency allows. Floats never appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.core import Locale
from babel.numbers import format_currency, get_currency_precision, get_currency_symbol

# ISO 4217 minor-unit digits (the standard's "E" column) of the currencies Recaudo supports:
# Latin America, then the usual foreign currencies of its businesses. Adding a currency means
# adding its ISO exponent here (and a test line in tests/test_money.py); never change one.
ISO_4217_EXPONENTS: dict[str, int] = {
    "ARS": 2, "BOB": 2, "BRL": 2, "BZD": 2, "CLP": 0, "COP": 2, "CRC": 2, "CUP": 2,
    "DOP": 2, "GTQ": 2, "GYD": 2, "HNL": 2, "HTG": 2, "JMD": 2, "MXN": 2, "NIO": 2,
    "PAB": 2, "PEN": 2, "PYG": 0, "SRD": 2, "TTD": 2, "UYU": 2, "VES": 2,
    "USD": 2, "EUR": 2, "CAD": 2, "GBP": 2, "CHF": 2, "CNY": 2, "JPY": 0, "KWD": 3,
}  # fmt: skip
_KNOWN = frozenset(ISO_4217_EXPONENTS)


# No amount a person types is this large (10^12 major units is 250 million US dollars even in
# Colombian pesos), and every amount below it, in every exponent here, fits a BIGINT column.
MAX_MAJOR_UNITS = 10**12


class MoneyError(ValueError):
    """An amount or currency a person supplied is not valid money."""


class AmountTooLarge(MoneyError):
    """An amount beyond :data:`MAX_MAJOR_UNITS`: a typo or an attack, never a real payment."""


def check_currency(code: str) -> str:
    code = (code or "").strip().upper()
    if code not in _KNOWN or len(code) != 3:
        raise MoneyError(f"unknown ISO 4217 currency code {code!r}")
    return code


def exponent(currency: str) -> int:
    """Number of minor-unit digits for ``currency``: ISO 4217, pinned in our code."""
    return ISO_4217_EXPONENTS[check_currency(currency)]


@lru_cache(maxsize=64)
def display_exponent(currency: str) -> int:
    """Digits CLDR shows for ``currency`` (never more than the stored exponent): display only."""
    return min(exponent(currency), int(get_currency_precision(check_currency(currency))))


@dataclass(frozen=True, order=True)
class Money:
    currency: str
    amount: int  # minor units

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise MoneyError("money amounts are integers in minor units")
        object.__setattr__(self, "currency", check_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(currency, 0)

    @classmethod
    def parse(cls, text: str | Decimal | int, currency: str) -> Money:
        """Parse a human amount such as ``"1234.50"`` into minor units, exactly.

        Thousands separators are not guessed: ``"1,5"`` is rejected rather than silently read as
        1.5 or 15, because both readings occur in Latin America. Exponent notation (``"1e9"``)
        is not how anyone writes money, so it is refused too, as is anything beyond
        :data:`MAX_MAJOR_UNITS` (:class:`AmountTooLarge`).
        """
        digits = exponent(currency)
        if isinstance(text, str) and ("e" in text or "E" in text):
            raise MoneyError(f"{text!r} is not an amount")
        try:
            value = text if isinstance(text, Decimal) else Decimal(str(text).strip())
        except InvalidOperation:
            raise MoneyError(f"{text!r} is not an amount") from None
        if not value.is_finite():
            raise MoneyError(f"{text!r} is not an amount")
        if abs(value) > MAX_MAJOR_UNITS:
            raise AmountTooLarge(f"amounts are at most {MAX_MAJOR_UNITS} {currency}")
        scaled = value.scaleb(digits)
        if scaled != scaled.to_integral_value():
            raise MoneyError(f"{currency} amounts have at most {digits} decimal digits: {text!r}")
        return cls(currency, int(scaled))

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-exponent(self.currency))

    def format(self, locale: str | Locale = "es_MX") -> str:
        return format_minor(self.amount, self.currency, str(locale))

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("can only combine Money with Money")
        if other.currency != self.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.currency, self.amount + other.amount)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.currency, self.amount - other.amount)

    def __neg__(self) -> Money:
        return Money(self.currency, -self.amount)

    def __bool__(self) -> bool:
        return self.amount != 0

    def __str__(self) -> str:
        return f"{self.to_decimal()} {self.currency}"


class _FastFormat:
    """Integer-only rendering of one (locale, currency) money format.

    Statement pages format dozens of amounts, and babel re-resolves the locale's pattern on every
    call. This takes the symbols and the pattern from babel once, then formats with integer
    arithmetic in the *stored* exponent, so a display never rounds money. Cents are left out only
    when CLDR shows none for the currency (COP, in recent CLDR) and the amount has none.
    """

    def __init__(self, locale: str, currency: str) -> None:
        loc = Locale.parse(locale)
        pattern = loc.currency_formats["standard"]
        symbols = loc.number_symbols.get(loc.default_numbering_system, {})
        self.digits = exponent(currency)
        self.shown = display_exponent(currency)
        self.decimal = symbols.get("decimal", ".")
        self.group = symbols.get("group", ",")
        symbol = get_currency_symbol(currency, locale=loc)
        self.prefix = tuple(p.replace("¤", symbol) for p in pattern.prefix)
        self.suffix = tuple(p.replace("¤", symbol) for p in pattern.suffix)
        self.ok = pattern.grouping == (3, 3)

    def render(self, amount: int) -> str:
        negative = amount < 0
        units, minor = divmod(abs(amount), 10**self.digits) if self.digits else (abs(amount), 0)
        whole = f"{units:,}".replace(",", self.group)
        digits = self.digits
        if minor == 0 and self.shown < digits:
            digits = self.shown
        text = f"{whole}{self.decimal}{minor:0{self.digits}d}" if digits else whole
        return f"{self.prefix[negative]}{text}{self.suffix[negative]}"


@lru_cache(maxsize=256)
def _fast(locale: str, currency: str) -> _FastFormat:
    return _FastFormat(locale, currency)


def format_minor(amount: int, currency: str, locale: str = "es_MX") -> str:
    """Format integer minor units for display in ``locale`` without ever rounding them."""
    code = check_currency(currency)
    fast = _fast(str(locale).replace("-", "_"), code)
    if fast.ok:
        return fast.render(int(amount))
    # Locales with other digit grouping (e.g. 2-digit groups): babel, in the stored exponent.
    value = Decimal(int(amount)).scaleb(-exponent(code))
    return format_currency(
        value, code, locale=str(locale).replace("-", "_"), currency_digits=False,
        decimal_quantization=False,
    )  # fmt: skip


def split_evenly(total: int, parts: int) -> list[int]:
    """Split ``total`` minor units into ``parts`` amounts that differ by at most one unit.

    The remainder goes to the first parts, so the sum is always exactly ``total``.
    """
    if parts <= 0:
        raise MoneyError("cannot split into zero parts")
    base, remainder = divmod(total, parts)
    return [base + (1 if i < remainder else 0) for i in range(parts)]
