"""SWIFT MT940 statements, read with the ``mt-940`` library's tag parsers.

The file is cut into statements (each ``:20:``) and tags ourselves so every error names its line;
each tag is then parsed by mt-940's own tag classes (patterns, signed amounts, balances, dates).
We do not use ``mt940.parse`` itself because it merges a ``:61:`` without a transaction type code
into the previous movement, fixes an impossible 30 February silently, and cannot say which line
failed. The optional SWIFT envelope (``{1:…}{2:…}{4:`` … ``-}``) is dropped, CRLF and LF are both
fine, several statements in one file are read in order, and ``:86:`` is kept as free text (the
structured layouts of Mexican and Colombian banks differ per bank); payer name, reference and
payer account come from it only when labelled (:mod:`.remittance`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import mt940

from .common import Draft, ParsedStatement, clean_text, currency_code, finish, minor_units
from .errors import StatementError
from .remittance import read_remittance
from .text import decode

# mt-940 logs every value that does not match its pattern at ERROR, raw bank data included. We
# report those as a StatementError naming the line, so its log would only copy customers' data.
logging.getLogger("mt940").setLevel(logging.CRITICAL)

_OPTIONS = mt940.Options(reversal_sign=True, case_insensitive_marks=True, unbounded_details=True)
_TAGS = mt940.tags.TAG_BY_ID
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # not str.splitlines: U+2028 or NEL in :86: is text
_TAG_LINE = re.compile(r"^:(?P<tag>[0-9]{2}|NS)(?P<sub>[A-Z])?:")
_ENVELOPE_HEAD = re.compile(r"^(?:\{[1-3]:(?:[^{}]|\{[^{}]*\})*\})+\{4:\s*")
_ENVELOPE_TAIL = re.compile(r"^-?\}(?:\{5:.*)?$|^\{5:.*\}$")
_NOT_A_REFERENCE = {"", "NONREF", "NOTPROVIDED"}
DETAIL_WIDTH = 65  # characters per :86: line in the SWIFT standard


@dataclass
class _Tag:
    line_no: int
    full: str  # "61", "60F", "28C"
    value: str


@dataclass
class _Block:
    """One statement (from its ``:20:`` to the next): its tags in file order."""

    tags: list[_Tag] = field(default_factory=list)


def _strip_envelope(lines: list[str]) -> list[str]:
    """The SWIFT FIN envelope around block 4 out, keeping line numbers."""
    out = []
    for line in lines:
        line = _ENVELOPE_HEAD.sub("", line)
        if _ENVELOPE_TAIL.match(line.strip()):
            line = ""
        out.append(line)
    return out


def _tag_class(full: str) -> Any:
    tag = _TAGS.get(full)
    if tag is None and full[:2].isdigit():
        tag = _TAGS.get(int(full[:2]))
    return tag if tag is not None else _TAGS.get(full[:2])


def _blocks(text: str) -> list[_Block]:
    lines = _strip_envelope(_LINE_BREAK.split(text))
    blocks: list[_Block] = []
    current: _Tag | None = None
    for number, line in enumerate(lines, start=1):
        match = _TAG_LINE.match(line)
        full = (match.group("tag") + (match.group("sub") or "")) if match else ""
        if match and _tag_class(full) is not None:
            current = _Tag(number, full, line[match.end() :])
            if full == "20":
                blocks.append(_Block())
            elif not blocks:
                raise StatementError(
                    f"el campo :{full}: aparece antes del primer :20:", f"línea {number}"
                )
            blocks[-1].tags.append(current)
        elif current is not None:
            if line.strip() and line.strip() != "-":
                current.value += "\n" + line
        elif line.strip() and line.strip() != "-":
            raise StatementError(
                "texto antes del primer campo :20: (¿es un extracto MT940?)", f"línea {number}"
            )
    if not blocks:
        raise StatementError("no es un extracto MT940: falta el campo :20:")
    return blocks


def _parse_tag(collection: Any, tag: _Tag) -> dict[str, Any]:
    """mt-940's parse of one tag; whatever it raises becomes an error naming the line."""
    parser = _tag_class(tag.full)
    where = f"línea {tag.line_no}"
    try:
        parsed = parser.parse(collection, tag.value.strip())
    except Exception:  # RuntimeError when the value does not match the tag's pattern
        shown = clean_text(tag.value, 60)
        raise StatementError(
            f"el campo :{tag.full}: no tiene el formato MT940 esperado («{shown}»)", where
        ) from None
    _check_dates(parsed, tag, where)
    try:
        return parser(collection, parsed)
    except Exception:  # ValueError, InvalidOperation (an amount such as "1,2,3"), KeyError…
        shown = clean_text(tag.value, 60)
        raise StatementError(f"el campo :{tag.full}: no es válido («{shown}»)", where) from None


def _check_dates(parsed: dict[str, Any], tag: _Tag, where: str) -> None:
    """An impossible YYMMDD (or :61:'s MMDD entry date) is named as such, never corrected."""
    year, month, day = parsed.get("year"), parsed.get("month"), parsed.get("day")
    if not (year and month and day):
        return
    try:
        booked = date(2000 + int(year) % 100, int(month), int(day))
        entry_month, entry_day = parsed.get("entry_month"), parsed.get("entry_day")
        if entry_month and entry_day and entry_month.strip() and entry_day.strip():
            leap = booked.year if int(entry_month) != 2 else 2000  # 29 Feb may cross a year
            date(leap, int(entry_month), int(entry_day))
    except ValueError:
        shown = clean_text(tag.value, 30)
        raise StatementError(f"fecha no válida en :{tag.full}: («{shown}»)", where) from None


def _signed(amount: Any, where: str, currency: str) -> int:
    value = amount.amount
    if not isinstance(value, Decimal) or not value.is_finite():
        raise StatementError("importe no válido", where)
    return minor_units(value, currency, where)


def _balance(result: dict[str, Any], where: str, currency: str | None = None) -> tuple[str, int]:
    balance = next(iter(result.values()))
    code = currency_code(balance.amount.currency, where)
    if currency and code != currency:
        raise StatementError(f"el saldo está en {code} y el extracto en {currency}", where)
    return code, _signed(balance.amount, where, code)


@dataclass
class _Statement:
    reference: str = ""
    account: str = ""
    currency: str = ""
    opening: int | None = None
    closing: int | None = None
    drafts: list[Draft] = field(default_factory=list)


def _read_block(block: _Block) -> _Statement:
    collection = mt940.models.Transactions(options=_OPTIONS)
    statement = _Statement()
    details: dict[int, list[str]] = {}
    movements: list[tuple[_Tag, dict[str, Any]]] = []
    for tag in block.tags:
        where = f"línea {tag.line_no}"
        base = tag.full[:2]
        if base in {"13", "21", "28", "34", "64", "65", "90", "NS"}:
            continue  # informative fields: not needed to import movements
        if base == "86":
            if movements:
                details.setdefault(len(movements) - 1, []).append(tag.value)
            continue
        if base == "61" and not statement.currency:
            raise StatementError("movimiento :61: antes del saldo inicial :60F:", where)
        result = _parse_tag(collection, tag)
        if base == "20":
            statement.reference = clean_text(result.get("transaction_reference"), 35)
        elif base == "25":
            statement.account = clean_text(result.get("account_identification"), 64)
        elif base == "60":
            statement.currency, statement.opening = _balance(result, where)
            collection.data.update(result)
        elif base == "62":
            _, closing = _balance(result, where, statement.currency or None)
            statement.closing = closing
        elif base == "61":
            movements.append((tag, result))
    if not statement.currency:
        raise StatementError(
            "el extracto no tiene saldo inicial :60F: (de él se toma la moneda)",
            f"línea {block.tags[0].line_no}",
        )
    for index, (tag, result) in enumerate(movements):
        where = f"línea {tag.line_no}"
        text = clean_text(_unwrap(details.get(index, [])), 2000)
        found = read_remittance(text)
        customer_ref = clean_text(result.get("customer_reference"), 35)
        reference = found.reference or (
            customer_ref if customer_ref.upper() not in _NOT_A_REFERENCE else ""
        )
        booked = result.get("entry_date") or result["date"]
        statement.drafts.append(
            Draft(
                where=where,
                line_no=tag.line_no,
                account=statement.account,
                booked_on=date(booked.year, booked.month, booked.day),
                amount=_signed(result["amount"], where, statement.currency),
                currency=statement.currency,
                reference=reference,
                description=text,
                payer_name=found.payer_name,
                payer_account=found.payer_account,
            )
        )
    return statement


def _unwrap(values: list[str]) -> str:
    """``:86:`` as one text. Banks wrap it at the field's 65 characters, often mid-word, so a
    full line continues the next without a space; a shorter line ended where the bank meant."""
    parts: list[str] = []
    for value in values:
        for line in value.split("\n"):
            line = line.rstrip("\r")
            if parts and len(parts[-1]) >= DETAIL_WIDTH:
                parts[-1] += line
            else:
                parts.append(line)
    return " ".join(parts)


def parse_mt940(data: bytes) -> ParsedStatement:
    """Every statement of an MT940 file, or a :class:`StatementError` naming the line."""
    text = decode(data)
    statements = [_read_block(block) for block in _blocks(text)]
    first, last = statements[0], statements[-1]
    same = all(s.account == first.account and s.currency == first.currency for s in statements)
    ids = list(dict.fromkeys(s.reference for s in statements if s.reference))
    return finish(
        "mt940",
        [draft for statement in statements for draft in statement.drafts],
        account=first.account if same else "",
        currency=first.currency,
        statement_id=",".join(ids),
        opening_balance=first.opening if same else None,
        closing_balance=last.closing if same else None,
    )
