"""A bank's CSV layout (a column mapping), saved per tenant and proposed from a file's headers.

Banks export CSV each their own way: BBVA México has separate "Cargo" and "Abono" columns and
writes ``1,234.50``; Bancolombia separates with ``;`` and writes ``1.234,50``. A
:class:`CsvProfile` says which column holds what; column names are compared without case,
accents or extra spaces, so "Descripción" matches "descripcion".
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any

from recaudo.core.common.money import MoneyError, check_currency

from .errors import StatementError

DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%Y", "%Y/%m/%d", "%m/%d/%Y")
DELIMITERS = (",", ";", "\t", "|")
MAX_NAME = 60
MAX_SKIP_ROWS = 50


def normalise_header(name: str) -> str:
    """ "  Descripción " -> "descripcion": what column names are compared by."""
    text = unicodedata.normalize("NFKD", str(name or "")).casefold()
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[_\-.:]+", " ", text).split())


@dataclass(frozen=True)
class CsvProfile:
    """Which column of a bank's CSV export holds what, and how it writes numbers and dates."""

    name: str
    delimiter: str = ","
    encoding: str = "utf-8"
    skip_rows: int = 0  # lines before the header row (a bank's title, the account, a blank line)
    date_column: str = "fecha"
    date_format: str = "%d/%m/%Y"
    amount_column: str = ""  # signed amount, or use credit_column/debit_column
    credit_column: str = ""
    debit_column: str = ""
    decimal_separator: str = "."
    thousands_separator: str = ","
    currency: str = ""
    currency_column: str = ""
    reference_column: str = ""
    description_column: str = ""
    payer_name_column: str = ""
    payer_account_column: str = ""
    id_column: str = ""

    def errors(self) -> list[str]:
        """What is wrong with the mapping, in Spanish for the settings page (empty when fine)."""
        problems = []
        if not self.name.strip() or len(self.name) > MAX_NAME:
            problems.append(f"El nombre del perfil es obligatorio (máximo {MAX_NAME} caracteres).")
        if len(self.delimiter) != 1 or self.delimiter in '"\r\n' or self.delimiter.isalnum():
            problems.append("El separador de columnas debe ser un solo carácter, como , o ;.")
        try:
            codecs.lookup(self.encoding)
        except (LookupError, TypeError):
            problems.append(f"La codificación «{self.encoding}» no existe (usa utf-8 o cp1252).")
        if not 0 <= self.skip_rows <= MAX_SKIP_ROWS:
            problems.append(f"Las filas a omitir van de 0 a {MAX_SKIP_ROWS}.")
        if not self.date_column.strip():
            problems.append("Indica la columna de la fecha.")
        if not _date_format_ok(self.date_format):
            problems.append("El formato de fecha debe llevar día, mes y año, por ejemplo %d/%m/%Y.")
        has_amount = bool(self.amount_column.strip())
        has_split = bool(self.credit_column.strip() or self.debit_column.strip())
        if has_amount == has_split:
            problems.append(
                "Indica la columna del importe, o las de abono y cargo (no ambas cosas)."
            )
        if self.decimal_separator not in {".", ","}:
            problems.append("El separador decimal debe ser «.» o «,».")
        if self.thousands_separator not in {"", ",", ".", " ", "'"}:
            problems.append("El separador de miles debe ser «,», «.», espacio, «'» o ninguno.")
        if self.thousands_separator == self.decimal_separator:
            problems.append("El separador de miles y el decimal no pueden ser el mismo.")
        if self.currency:
            try:
                check_currency(self.currency)
            except MoneyError:
                problems.append(f"La moneda «{self.currency}» no es un código ISO 4217 admitido.")
        columns = [
            normalise_header(getattr(self, f.name))
            for f in fields(self)
            if f.name.endswith("_column") and getattr(self, f.name).strip()
        ]
        if len(columns) != len(set(columns)):
            problems.append("Una misma columna no puede usarse para dos datos.")
        return problems

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CsvProfile:
        """A profile from stored or typed values; unknown keys are ignored, bad ones refused."""
        if not isinstance(data, Mapping):
            raise StatementError("el perfil CSV no es válido")
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data or data[f.name] is None:
                continue
            raw = data[f.name]
            if f.name == "skip_rows":
                try:
                    values[f.name] = int(str(raw).strip() or 0)
                except ValueError:
                    raise StatementError("Las filas a omitir deben ser un número.") from None
            elif f.name == "delimiter":
                text = str(raw)
                tab = text.strip().lower() in {"\\t", "tab", "tabulador"}
                values[f.name] = "\t" if tab else text
            elif f.name in {"decimal_separator", "thousands_separator"}:
                values[f.name] = str(raw)
            else:
                values[f.name] = str(raw).strip()
        if "name" not in values:
            raise StatementError("El nombre del perfil es obligatorio.")
        if values.get("currency"):
            values["currency"] = values["currency"].upper()
        profile = cls(**values)
        problems = profile.errors()
        if problems:
            raise StatementError(" ".join(problems))
        return profile


def _date_format_ok(fmt: str) -> bool:
    if not isinstance(fmt, str) or len(fmt) > 40:
        return False
    has_month = "%m" in fmt or "%b" in fmt
    if "%d" not in fmt or not has_month or not ("%Y" in fmt or "%y" in fmt):
        return False
    sample = date(2026, 12, 31)
    try:
        return datetime.strptime(sample.strftime(fmt), fmt).date() == sample
    except ValueError:
        return False


_SYNONYMS: dict[str, tuple[str, ...]] = {
    "date_column": ("fecha", "fecha operacion", "fecha de operacion", "fecha movimiento",
                    "fecha valor", "fecha contable", "date", "posting date", "booking date",
                    "transaction date", "dia"),
    "amount_column": ("importe", "monto", "valor", "amount", "importe mxn", "monto mxn"),
    "credit_column": ("abono", "abonos", "deposito", "depositos", "credito", "creditos", "ingreso",
                      "ingresos", "credit", "credits", "deposit", "deposits"),
    "debit_column": ("cargo", "cargos", "retiro", "retiros", "debito", "debitos", "egreso",
                     "egresos", "debit", "debits", "withdrawal", "withdrawals"),
    "reference_column": ("referencia", "referencia numerica", "ref", "referencia 1", "reference",
                         "no referencia", "numero de referencia", "documento", "dcto"),
    "description_column": ("concepto", "descripcion", "description", "detalle", "concepto pago",
                           "descripcion movimiento", "memo", "leyenda", "concepto/referencia"),
    "payer_name_column": ("ordenante", "nombre", "nombre ordenante", "remitente", "pagador",
                          "payer", "name", "nombre del ordenante"),
    "payer_account_column": ("cuenta ordenante", "clabe ordenante", "cuenta origen",
                             "clabe", "payer account"),
    "currency_column": ("moneda", "divisa", "currency"),
    "id_column": ("id", "folio", "id transaccion", "numero de movimiento", "transaction id",
                  "id movimiento", "secuencia"),
}  # fmt: skip


def _decode_loosely(data: bytes) -> tuple[str, str]:
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding).removeprefix("\ufeff"), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def guess_csv_profile(data: bytes, name: str = "") -> CsvProfile | None:
    """A proposed mapping from a CSV's headers (Spanish or English), for the settings page to
    prefill; ``None`` when no date column and amount column(s) can be recognised."""
    if not isinstance(data, bytes) or not data:
        return None
    text, encoding = _decode_loosely(data[: 256 * 1024])
    lines = text.splitlines()[: MAX_SKIP_ROWS + 20]
    for skip, line in enumerate(lines[: MAX_SKIP_ROWS + 1]):
        delimiter = max(DELIMITERS, key=line.count)
        if not line.count(delimiter):
            continue
        header = next(csv.reader([line], delimiter=delimiter), [])
        names = {normalise_header(h): h.strip() for h in header if h.strip()}
        mapping: dict[str, str] = {}
        for field_name, synonyms in _SYNONYMS.items():
            for synonym in synonyms:
                if synonym in names and names[synonym] not in mapping.values():
                    mapping[field_name] = names[synonym]
                    break
        if "date_column" not in mapping:
            continue
        if "amount_column" in mapping and ("credit_column" in mapping or "debit_column" in mapping):
            del mapping["amount_column"]
        if not {"amount_column", "credit_column", "debit_column"} & set(mapping):
            continue
        rows = list(csv.reader(io.StringIO("\n".join(lines[skip + 1 :])), delimiter=delimiter))
        index = {normalise_header(h): i for i, h in enumerate(header)}
        samples = [r for r in rows if any(c.strip() for c in r)][:10]

        date_format = _guess_date_format(
            _values(samples, index[normalise_header(mapping["date_column"])])
        )
        amounts = [
            v
            for f in ("amount_column", "credit_column", "debit_column")
            if f in mapping
            for v in _values(samples, index[normalise_header(mapping[f])])
        ]
        decimal = "," if any(re.search(r",\d{1,2}\)?-?$", v) for v in amounts) else "."
        profile = CsvProfile(
            name=name or "Banco",
            delimiter=delimiter,
            encoding=encoding,
            skip_rows=skip,
            date_format=date_format,
            decimal_separator=decimal,
            thousands_separator="." if decimal == "," else ",",
            **mapping,
        )
        return profile if not profile.errors() else None
    return None


def _values(rows: list[list[str]], position: int) -> list[str]:
    return [r[position].strip() for r in rows if position < len(r) and r[position].strip()]


def _guess_date_format(values: list[str]) -> str:
    for fmt in DATE_FORMATS:
        try:
            for value in values:
                datetime.strptime(value, fmt)
        except ValueError:
            continue
        return fmt
    return DATE_FORMATS[0]
