"""What every format parser shares: the parsed statement, exact amounts, clean texts, line keys.

Parsers collect :class:`Draft` movements and hand them to :func:`finish`, so the rules that must
not differ between formats live here once: amounts become integer minor units with the pinned
ISO 4217 exponent (never a float, never more decimals than the currency has), zero movements are
dropped, texts are cleaned and capped, and every line gets a key that is stable across imports of
the same file and unique within it.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from recaudo.core.common.money import AmountTooLarge, Money, MoneyError, check_currency, exponent
from recaudo.core.platform.values import StatementLine

from .errors import StatementError

MAX_STATEMENT_BYTES = 20 * 1024 * 1024
MAX_KEY = 100
MAX_LINES = 200_000  # far beyond any real daily statement; a bound on the work one file can cause
TEXT_LIMITS = {"reference": 140, "description": 500, "payer_name": 140, "payer_account": 64}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class ParsedStatement:
    """A statement file read completely: nothing partial is ever returned."""

    format: str  # "mt940" | "camt053" | "ofx" | "csv"
    account: str  # the statement's account (CLABE/IBAN/number) or ""
    currency: str  # ISO 4217
    statement_id: str  # the bank's statement id or ""
    opening_balance: int | None
    closing_balance: int | None
    lines: tuple[StatementLine, ...]  # credits (> 0) and debits (< 0), file order, keys unique


@dataclass
class Draft:
    """A movement as a parser found it, before keys are assigned and zero amounts dropped."""

    where: str  # for messages: "línea 12", "Ntry 3", "fila 7"
    line_no: int
    account: str
    booked_on: date
    amount: int
    currency: str
    bank_id: str = ""  # the bank's own transaction id when the format has a trustworthy one
    reference: str = ""
    description: str = ""
    payer_name: str = ""
    payer_account: str = ""


def clean_text(value: object, limit: int = 500) -> str:
    """One line of printable text: control characters out, whitespace collapsed, capped."""
    if value is None:
        return ""
    text = str(value)
    if text.isascii() and text.isprintable() and "  " not in text:
        return text.strip()[:limit].rstrip()  # the usual case, without the regex work
    text = unicodedata.normalize("NFC", text)
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    return text[:limit].rstrip()


def currency_code(code: object, where: str) -> str:
    """An ISO 4217 code Recaudo supports, or a :class:`StatementError` naming it."""
    text = clean_text(code, 10)
    try:
        return check_currency(text)
    except MoneyError:
        shown = text or "(vacía)"
        raise StatementError(
            f"moneda «{shown}» desconocida o no admitida (se espera un código ISO 4217, "
            "como MXN o COP)",
            where,
        ) from None


def minor_units(value: str | Decimal, currency: str, where: str) -> int:
    """Exact minor units of a decimal amount; more decimals than the currency has is an error."""
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
            raise StatementError(f"importe «{clean_text(text, 40)}» no válido", where)
        value = Decimal(text)
    try:
        return Money.parse(value, currency).amount
    except AmountTooLarge:
        raise StatementError(f"importe {value} {currency} demasiado grande", where) from None
    except MoneyError:
        digits = exponent(currency)
        raise StatementError(
            f"el importe {value} tiene más decimales de los que admite {currency} ({digits})", where
        ) from None


def parse_iso_date(text: str, where: str) -> date:
    """``YYYY-MM-DD`` (a ``DtTm``'s date part is enough): impossible dates are errors."""
    raw = clean_text(text, 40)
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise StatementError(f"fecha «{raw}» no válida", where) from None


def _fit_key(raw: str) -> str:
    if len(raw) <= MAX_KEY and raw.isprintable():
        return raw
    return "sha256:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _digest(draft: Draft, occurrence: int) -> str:
    content = [
        draft.account,
        draft.booked_on.isoformat(),
        draft.amount,
        draft.currency,
        draft.reference,
        draft.description,
        draft.payer_name,
        draft.payer_account,
        occurrence,
    ]
    payload = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()


def finish(
    fmt: str,
    drafts: list[Draft],
    *,
    account: str,
    currency: str,
    statement_id: str = "",
    opening_balance: int | None = None,
    closing_balance: int | None = None,
) -> ParsedStatement:
    """Keys, cleaned texts, zero amounts dropped: the :class:`ParsedStatement` the caller gets.

    A key is the account plus the bank's own id when there is one, else a digest of the content
    plus how many identical movements came before it in the file: two identical transfers on one
    day stay two lines, and the same file imported again gives the same keys.
    """
    if len(drafts) > MAX_LINES:
        raise StatementError(f"el archivo tiene más de {MAX_LINES} movimientos")
    occurrences: Counter[tuple[object, ...]] = Counter()
    seen: Counter[str] = Counter()
    used: set[str] = set()
    lines: list[StatementLine] = []
    for draft in drafts:
        for name, limit in TEXT_LIMITS.items():
            setattr(draft, name, clean_text(getattr(draft, name), limit))
        draft.account = clean_text(draft.account, 64)
        if draft.amount == 0:
            continue
        bank_id = clean_text(draft.bank_id, 200)
        if bank_id:
            base = _fit_key(f"{draft.account}:{bank_id}")
        else:
            content = (
                draft.account, draft.booked_on, draft.amount, draft.currency, draft.reference,
                draft.description, draft.payer_name, draft.payer_account,
            )  # fmt: skip
            occurrences[content] += 1
            base = _digest(draft, occurrences[content])
        seen[base] += 1
        key = base if seen[base] == 1 else _fit_key(f"{base}#{seen[base]}")
        while key in used:  # an id that happens to end in "#2": keep counting, never reuse a key
            seen[base] += 1
            key = _fit_key(f"{base}#{seen[base]}")
        used.add(key)
        lines.append(
            StatementLine(
                key=key,
                booked_on=draft.booked_on,
                amount=draft.amount,
                currency=draft.currency,
                reference=draft.reference,
                description=draft.description,
                payer_name=draft.payer_name,
                payer_account=draft.payer_account,
                line_no=draft.line_no,
            )
        )
    return ParsedStatement(
        format=fmt,
        account=clean_text(account, 64),
        currency=currency,
        statement_id=clean_text(statement_id, 100),
        opening_balance=opening_balance,
        closing_balance=closing_balance,
        lines=tuple(lines),
    )
