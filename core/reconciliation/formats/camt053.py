"""ISO 20022 CAMT.053 bank-to-customer statements (camt.053.001.02 to .08), read with lxml.

The XML parser is hardened: no DTD, no entities, no network, libxml2's default size and depth
limits (no ``huge_tree``); a DOCTYPE is refused outright, so billion-laughs and external-entity
files never reach entity handling. Only booked entries count (``Sts`` ``BOOK``, or ``Sts/Cd``
from .08 on). An entry that is a batch (several ``TxDtls``) gives one line per transaction with
its own amount, and the parts must add up to the entry. Errors name the element, e.g.
"Ntry 3/Amt".
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from lxml import etree

from .common import (
    Draft,
    ParsedStatement,
    clean_text,
    currency_code,
    finish,
    minor_units,
    parse_iso_date,
)
from .errors import StatementError

NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.0([2-8])$")
_OTHER_CAMT = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:(camt\.\d{3})\.001\.(\d{2})$")
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_NOT_PROVIDED = {"NOTPROVIDED", "NONREF", "NOT PROVIDED"}


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def _root(data: bytes) -> tuple[Any, str]:
    if _DOCTYPE.search(data):
        raise StatementError("el XML declara un DOCTYPE o entidades, que no se admiten")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        where = f"línea {exc.lineno}" if getattr(exc, "lineno", None) else ""
        raise StatementError(f"XML mal formado ({clean_text(exc.msg, 120)})", where) from None
    except (ValueError, MemoryError):
        raise StatementError("XML no válido") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise StatementError("el XML declara un DOCTYPE o entidades, que no se admiten")
    namespace = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "Document" or not namespace:
        raise StatementError("no es un documento ISO 20022 (falta <Document> con su namespace)")
    if not NAMESPACE.match(namespace):
        other = _OTHER_CAMT.match(namespace)
        if other and other.group(1) != "camt.053":
            raise StatementError(f"es un {other.group(1)}, no un extracto camt.053")
        raise StatementError(f"versión de CAMT.053 no admitida ({clean_text(namespace, 80)})")
    return root, namespace


class _Reader:
    """Namespaced lookups that name the element on error."""

    def __init__(self, namespace: str) -> None:
        self.ns = {"c": namespace}

    def path(self, path: str) -> str:
        return "/".join(f"c:{part}" for part in path.split("/"))

    def all(self, node: Any, path: str) -> list[Any]:
        return node.findall(self.path(path), self.ns)

    def one(self, node: Any, path: str) -> Any:
        return node.find(self.path(path), self.ns)

    def text(self, node: Any, *paths: str, limit: int = 500) -> str:
        """The first non-empty text among ``paths`` ("" if none)."""
        for path in paths:
            found = self.one(node, path)
            if found is not None and found.text and found.text.strip():
                return clean_text(found.text, limit)
        return ""

    def amount(self, node: Any, path: str, where: str) -> tuple[Decimal, str]:
        element = self.one(node, path)
        if element is None:
            raise StatementError("falta el importe", f"{where}/{path}")
        text = (element.text or "").strip()
        if not re.fullmatch(r"\d{1,18}(\.\d{1,5})?", text):
            raise StatementError(f"importe «{clean_text(text, 40)}» no válido", f"{where}/{path}")
        currency = currency_code(element.get("Ccy"), f"{where}/{path}/@Ccy")
        return Decimal(text), currency

    def sign(self, node: Any, where: str, default: int | None = None) -> int:
        indicator = self.text(node, "CdtDbtInd")
        if not indicator and default is not None:
            return default
        if indicator not in {"CRDT", "DBIT"}:
            raise StatementError(
                f"CdtDbtInd debe ser CRDT o DBIT, no «{indicator}»", f"{where}/CdtDbtInd"
            )
        return 1 if indicator == "CRDT" else -1


def _account(reader: _Reader, stmt: Any) -> str:
    return reader.text(stmt, "Acct/Id/IBAN", "Acct/Id/Othr/Id", limit=64)


def _balances(reader: _Reader, stmt: Any, where: str) -> tuple[int | None, int | None]:
    found: dict[str, int] = {}
    for index, bal in enumerate(reader.all(stmt, "Bal"), start=1):
        spot = f"{where}Bal {index}"
        code = reader.text(bal, "Tp/CdOrPrtry/Cd")
        if code not in {"OPBD", "PRCD", "CLBD"} or code in found:
            continue
        value, currency = reader.amount(bal, "Amt", spot)
        found[code] = reader.sign(bal, spot) * minor_units(value, currency, f"{spot}/Amt")
    opening = found.get("OPBD", found.get("PRCD"))
    return opening, found.get("CLBD")


def _booked(reader: _Reader, entry: Any) -> bool | None:
    status = reader.text(entry, "Sts/Cd") or reader.text(entry, "Sts")
    return None if not status else status == "BOOK"


def _party(reader: _Reader, node: Any, sign: int) -> tuple[str, str]:
    """The counterparty: who paid a credit, who was paid by a debit."""
    role = "Dbtr" if sign > 0 else "Cdtr"
    name = reader.text(
        node,
        f"RltdPties/{role}/Nm",
        f"RltdPties/{role}/Pty/Nm",
        f"RltdPties/Ultmt{role}/Nm",
        f"RltdPties/Ultmt{role}/Pty/Nm",
        limit=140,
    )
    account = reader.text(
        node, f"RltdPties/{role}Acct/Id/IBAN", f"RltdPties/{role}Acct/Id/Othr/Id", limit=64
    )
    return name, account


def _remittance(reader: _Reader, node: Any) -> tuple[str, str]:
    """(description, reference): every Ustrd joined, and the structured creditor reference."""
    texts = [clean_text(u.text, 500) for u in reader.all(node, "RmtInf/Ustrd") if u.text]
    texts += [
        clean_text(a.text, 500) for a in reader.all(node, "RmtInf/Strd/AddtlRmtInf") if a.text
    ]
    reference = reader.text(node, "RmtInf/Strd/CdtrRefInf/Ref", limit=140)
    return " ".join(t for t in texts if t), reference


def _tx_amount(reader: _Reader, tx: Any, where: str) -> tuple[Decimal, str]:
    for path in ("Amt", "AmtDtls/TxAmt/Amt"):
        if reader.one(tx, path) is not None:
            return reader.amount(tx, path, where)
    raise StatementError("falta el importe de la transacción (AmtDtls/TxAmt/Amt)", where)


def _entry_drafts(
    reader: _Reader, entry: Any, where: str, number: int, account: str
) -> list[Draft]:
    value, currency = reader.amount(entry, "Amt", where)
    sign = reader.sign(entry, where)
    total = minor_units(value, currency, f"{where}/Amt")
    date_text = reader.text(entry, "BookgDt/Dt", "BookgDt/DtTm", "ValDt/Dt", "ValDt/DtTm")
    if not date_text:
        raise StatementError("falta la fecha contable", f"{where}/BookgDt")
    booked_on = parse_iso_date(date_text, f"{where}/BookgDt")
    entry_ref = reader.text(entry, "AcctSvcrRef", "NtryRef", limit=140)
    extra = reader.text(entry, "AddtlNtryInf", limit=500)
    txs = reader.all(entry, "NtryDtls/TxDtls")
    drafts: list[Draft] = []
    batch = len(txs) > 1
    parts = 0
    for index, tx in enumerate(txs or [entry], start=1):
        spot = f"{where}/TxDtls {index}" if batch else where
        if batch:
            tx_value, tx_currency = _tx_amount(reader, tx, spot)
            if tx_currency != currency:
                raise StatementError(
                    f"la transacción está en {tx_currency} y el movimiento en {currency}", spot
                )
            tx_sign = reader.sign(tx, spot, default=sign)
            amount = tx_sign * minor_units(tx_value, currency, f"{spot}/Amt")
            parts += amount
        else:
            tx_sign, amount = sign, sign * total
        description, reference = _remittance(reader, tx)
        end_to_end = reader.text(tx, "Refs/EndToEndId", limit=140)
        if end_to_end.upper() in _NOT_PROVIDED:
            end_to_end = ""
        payer, payer_account = _party(reader, tx, tx_sign)
        own_id = reader.text(tx, "Refs/AcctSvcrRef", limit=140) if tx is not entry else ""
        bank_id = own_id or (f"{entry_ref}/{index}" if batch and entry_ref else entry_ref)
        drafts.append(
            Draft(
                where=spot,
                line_no=number,
                account=account,
                booked_on=booked_on,
                amount=amount,
                currency=currency,
                bank_id=bank_id,
                reference=reference or end_to_end,
                description=description or reader.text(tx, "AddtlTxInf") or extra,
                payer_name=payer,
                payer_account=payer_account,
            )
        )
    if batch and parts != sign * total:
        raise StatementError(
            "la suma de las transacciones (TxDtls) no coincide con el importe del movimiento",
            where,
        )
    return drafts


def parse_camt053(data: bytes) -> ParsedStatement:
    """Every booked entry of a CAMT.053 document, or a :class:`StatementError` naming it."""
    root, namespace = _root(data)
    reader = _Reader(namespace)
    statements = reader.all(root, "BkToCstmrStmt/Stmt")
    if not statements:
        raise StatementError("el documento no contiene ningún extracto (BkToCstmrStmt/Stmt)")
    drafts: list[Draft] = []
    accounts, currencies, ids = [], [], []
    opening = closing = None
    number = 0
    for s_index, stmt in enumerate(statements, start=1):
        prefix = f"Stmt {s_index}/" if len(statements) > 1 else ""
        account = _account(reader, stmt)
        accounts.append(account)
        ids.append(reader.text(stmt, "Id", limit=35))
        stmt_currency = reader.text(stmt, "Acct/Ccy")
        if stmt_currency:
            currencies.append(currency_code(stmt_currency, f"{prefix}Stmt/Acct/Ccy"))
        s_open, s_close = _balances(reader, stmt, prefix)
        opening = s_open if s_index == 1 else opening
        closing = s_close
        for entry in reader.all(stmt, "Ntry"):
            number += 1
            where = f"{prefix}Ntry {number}"
            booked = _booked(reader, entry)
            if booked is None:
                raise StatementError("falta el estado del movimiento", f"{where}/Sts")
            if not booked:
                continue
            found = _entry_drafts(reader, entry, where, number, account)
            drafts.extend(found)
            currencies.extend(d.currency for d in found)
    currency = currencies[0] if currencies else ""
    if not currency:
        bal = root.find(".//c:Bal/c:Amt", reader.ns)
        currency = currency_code(bal.get("Ccy"), "Bal/Amt/@Ccy") if bal is not None else ""
    if not currency:
        raise StatementError("el extracto no indica la moneda (Acct/Ccy)")
    same = len(set(accounts)) == 1 and len(set(currencies)) <= 1
    return finish(
        "camt053",
        drafts,
        account=accounts[0] if same else "",
        currency=currency,
        statement_id=",".join(dict.fromkeys(i for i in ids if i)),
        opening_balance=opening if same else None,
        closing_balance=closing if same else None,
    )
