"""OFX statements (1.x SGML and 2.x XML), read with ofxtools' ``OFXTree``.

ofxtools parses both dialects with its own tokenizer (no XML entity handling, so no entity bombs)
and validates every aggregate against the OFX specification; whatever it rejects becomes a
:class:`StatementError`. Each bank or credit-card statement (``STMTRS``, ``CCSTMTRS``) is read
in file order; ``FITID`` is the bank's own id, so it keys the line. ``DTPOSTED`` is read as the
bank wrote it (its calendar day), not shifted to UTC: a payment posted at 23:00 in Mexico City
belongs to that day.
"""

from __future__ import annotations

import io
import logging
import re
from datetime import date
from typing import Any

from ofxtools.models.base import Aggregate
from ofxtools.Parser import OFXTree

from .common import Draft, ParsedStatement, clean_text, currency_code, finish, minor_units
from .errors import StatementError

log = logging.getLogger(__name__)
_STATEMENTS = ("STMTRS", "CCSTMTRS")


def _problem(exc: Exception) -> str:
    detail = clean_text(str(exc) or type(exc).__name__, 160)
    return f"el archivo OFX no es válido ({detail})"


def _posted(element: Any, where: str) -> date:
    raw = (element.findtext("DTPOSTED") or "").strip()
    match = re.match(r"(\d{4})(\d{2})(\d{2})", raw)
    if not match:
        raise StatementError(f"DTPOSTED «{clean_text(raw, 30)}» no es una fecha", where)
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        shown = clean_text(raw, 30)
        raise StatementError(f"DTPOSTED «{shown}» no es una fecha válida", where) from None


_TRANLIST_CHILDREN = {"DTSTART", "DTEND", "STMTTRN"}


def _check_structure(element: Any, raw: list[Any], where: str) -> None:
    """ofxtools skips a tag it does not expect with a mere warning: a transaction whose
    ``<STMTTRN>`` is missing or misplaced would vanish. Here that refuses the file instead."""
    for tranlist in element.iter("BANKTRANLIST"):
        for child in tranlist:
            if child.tag not in _TRANLIST_CHILDREN:
                raise StatementError(
                    f"<{clean_text(child.tag, 30)}> fuera de un movimiento <STMTTRN> "
                    "(¿archivo dañado?)",
                    f"{where}/BANKTRANLIST",
                )
    if sum(1 for _ in element.iter("STMTTRN")) != len(raw):
        raise StatementError("hay movimientos <STMTTRN> fuera de BANKTRANLIST", where)


def _convert(element: Any, where: str) -> Any:
    try:
        return Aggregate.from_etree(element)
    except StatementError:
        raise
    except Exception as exc:  # ofxtools raises OFXSpecError, ValueError, TypeError, KeyError…
        raise StatementError(_problem(exc), where) from None


def parse_ofx(data: bytes, default_currency: str = "") -> ParsedStatement:
    """Every transaction of every bank statement in an OFX file."""
    tree = OFXTree()
    try:
        root = tree.parse(io.BytesIO(data))
    except Exception as exc:  # header errors, ParseError (a SyntaxError), UnicodeDecodeError…
        raise StatementError(_problem(exc)) from None
    elements = [el for el in root.iter() if el.tag in _STATEMENTS]
    if not elements:
        raise StatementError("el archivo OFX no contiene extractos bancarios (STMTRS)")
    drafts: list[Draft] = []
    accounts, currencies = [], []
    closing: int | None = None
    number = 0
    for s_index, element in enumerate(elements, start=1):
        prefix = f"{element.tag} {s_index}" if len(elements) > 1 else element.tag
        raw = element.findall("BANKTRANLIST/STMTTRN")
        _check_structure(element, raw, prefix)
        dates = []
        for offset, trn in enumerate(raw, start=1):
            dates.append(_posted(trn, f"STMTTRN {number + offset}/DTPOSTED"))
        statement = _convert(element, prefix)
        curdef = getattr(statement, "curdef", None) or default_currency
        currency = currency_code(curdef, f"{prefix}/CURDEF")
        account = clean_text(getattr(statement.account, "acctid", ""), 64)
        accounts.append(account)
        currencies.append(currency)
        transactions = list(statement.banktranlist or []) if statement.banktranlist else []
        if len(transactions) != len(dates):
            raise StatementError("no se pudieron leer todos los movimientos (STMTTRN)", prefix)
        for trn, posted in zip(transactions, dates, strict=True):
            number += 1
            where = f"STMTTRN {number}"
            line_currency = currency
            if trn.currency is not None:
                line_currency = currency_code(trn.currency.cursym, f"{where}/CURRENCY")
            payee = trn.payee.name if trn.payee is not None else ""
            drafts.append(
                Draft(
                    where=where,
                    line_no=number,
                    account=account,
                    booked_on=posted,
                    amount=minor_units(trn.trnamt, line_currency, f"{where}/TRNAMT"),
                    currency=line_currency,
                    bank_id=trn.fitid or "",
                    reference=trn.refnum or trn.checknum or "",
                    description=trn.memo or "",
                    payer_name=trn.name or payee or "",
                )
            )
        ledger = getattr(statement, "ledgerbal", None)
        if ledger is not None and ledger.balamt is not None:
            closing = minor_units(ledger.balamt, currency, f"{prefix}/LEDGERBAL/BALAMT")
    same = len(set(accounts)) == 1 and len(set(currencies)) == 1
    return finish(
        "ofx",
        drafts,
        account=accounts[0] if same else "",
        currency=currencies[0],
        closing_balance=closing if same else None,
    )
