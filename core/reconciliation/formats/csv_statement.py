"""CSV statements, read with the standard csv module through a tenant's :class:`CsvProfile`.

Rows are counted by the line they start on ("fila 12" is the file's 12th line, as in the other
imports), so staff find the row that failed. Amounts follow the profile's separators ("1,234.50"
or "1.234,50"); a negative may be written ``-500``, ``(500)`` or ``500-``. Rows whose date and
amount cells are all empty (blank lines, a footer's spacer) are skipped; any other bad row fails
the whole file.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

from .common import Draft, ParsedStatement, clean_text, currency_code, finish, minor_units
from .csv_profile import CsvProfile, normalise_header
from .errors import StatementError
from .text import decode

_SYMBOLS = re.compile(r"^(?:[A-Z]{3}\s*)?\$?|\s*(?:[A-Z]{3})?$")


def csv_amount(text: str, profile: CsvProfile) -> str | None:
    """A cell as ``-?digits[.digits]`` following the profile's separators, or ``None``."""
    value = _SYMBOLS.sub("", re.sub(r"[\s\u00a0\u202f]", "", text).upper())
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1]
    if value.endswith("-"):
        negative, value = True, value[:-1]
    if value.startswith("-"):
        negative, value = not negative, value[1:]
    elif value.startswith("+"):
        value = value[1:]
    value = _SYMBOLS.sub("", value)
    decimal, thousands = profile.decimal_separator, profile.thousands_separator.strip()
    if not value or not re.fullmatch(r"[0-9.,']+", value):
        return None
    whole, sep, fraction = value.rpartition(decimal) if decimal in value else (value, "", "")
    if sep and not fraction.isdigit():
        return None
    if thousands and thousands in whole:
        if not re.fullmatch(rf"\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+", whole):
            return None
        whole = whole.replace(thousands, "")
    if not whole.isdigit() and not (whole == "" and fraction):
        return None
    number = f"{whole or '0'}.{fraction}" if fraction else whole
    return f"-{number}" if negative else number


class _Columns:
    """The profile's columns found in the header row."""

    def __init__(self, header: list[str], profile: CsvProfile, where: str) -> None:
        self.header = header
        self.index: dict[str, int] = {}
        for position, name in enumerate(header):
            self.index.setdefault(normalise_header(name), position)
        self.profile = profile
        self.where = where

    def label(self, column: str) -> str:
        """The column as the file writes it, for messages (staff see the file, not the profile)."""
        position = self.index.get(normalise_header(column))
        return clean_text(self.header[position], 60) if position is not None else column

    def find(self, column: str, required: bool = False) -> int | None:
        if not column.strip():
            return None
        position = self.index.get(normalise_header(column))
        if position is None and required:
            raise StatementError(
                f"no se encontró la columna «{column}» en los encabezados del archivo", self.where
            )
        return position


def _cell(row: list[str], position: int | None) -> str:
    if position is None or position >= len(row):
        return ""
    return row[position].strip()


def parse_csv(data: bytes, profile: CsvProfile, default_currency: str = "") -> ParsedStatement:
    """Every row of a bank's CSV export, or a :class:`StatementError` naming the row."""
    problems = profile.errors()
    if problems:
        raise StatementError("el perfil CSV no es válido: " + " ".join(problems))
    text = decode(data, profile.encoding, unit="fila")
    # newline="": lines end only at CR/LF, as the csv module expects (str.splitlines would also
    # cut at U+2028 or NEL inside a quoted cell and shift every row number after it)
    stream = io.StringIO(text, newline="")
    for _ in range(profile.skip_rows):
        stream.readline()
    reader = csv.reader(stream, delimiter=profile.delimiter, strict=True)
    try:
        header = next(reader, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)
        if header is None:
            raise StatementError("el archivo no tiene fila de encabezados")
        header_row = profile.skip_rows + reader.line_num
        cols = _Columns(header, profile, f"fila {header_row}")
        date_at = cols.find(profile.date_column, required=True)
        amount_at = cols.find(profile.amount_column, required=bool(profile.amount_column))
        credit_at = cols.find(profile.credit_column, required=bool(profile.credit_column))
        debit_at = cols.find(profile.debit_column, required=bool(profile.debit_column))
        other = {
            name: cols.find(getattr(profile, f"{name}_column"), required=True)
            for name in (
                "currency", "reference", "description", "payer_name", "payer_account", "id",
            )
        }  # fmt: skip
        fixed_currency = profile.currency or default_currency
        drafts: list[Draft] = []
        read = reader.line_num
        for row in reader:
            row_no = profile.skip_rows + read + 1  # the line the row starts on
            read = reader.line_num
            where = f"fila {row_no}"
            money_cells = [_cell(row, at) for at in (amount_at, credit_at, debit_at)]
            if not _cell(row, date_at) and not any(money_cells):
                continue
            drafts.append(
                _row(
                    row,
                    where,
                    row_no,
                    profile,
                    cols,
                    (date_at, amount_at, credit_at, debit_at),
                    other,
                    fixed_currency,
                )
            )
    except csv.Error as exc:
        row_no = profile.skip_rows + reader.line_num
        raise StatementError(f"CSV mal formado ({exc})", f"fila {row_no}") from None
    if not drafts:
        raise StatementError("el archivo no tiene movimientos")
    currencies = list(dict.fromkeys(d.currency for d in drafts))
    return finish("csv", drafts, account="", currency=currencies[0])


def _row(
    row: list[str],
    where: str,
    row_no: int,
    profile: CsvProfile,
    cols: _Columns,
    positions: tuple[int | None, int | None, int | None, int | None],
    other: dict[str, int | None],
    fixed_currency: str,
) -> Draft:
    date_at, amount_at, credit_at, debit_at = positions
    date_text = _cell(row, date_at)
    try:
        booked_on = datetime.strptime(date_text, profile.date_format).date()
    except ValueError:
        raise StatementError(
            f"fecha «{clean_text(date_text, 30)}» no válida (se espera {profile.date_format})",
            f"{where}, columna «{cols.label(profile.date_column)}»",
        ) from None
    if other["currency"] is not None:
        currency = currency_code(
            _cell(row, other["currency"]),
            f"{where}, columna «{cols.label(profile.currency_column)}»",
        )
    elif fixed_currency:
        currency = currency_code(fixed_currency, where)
    else:
        raise StatementError("falta la moneda: indícala en el perfil CSV", where)

    def amount(at: int | None, column: str) -> int | None:
        text = _cell(row, at)
        if not text:
            return None
        spot = f"{where}, columna «{column}»"
        number = csv_amount(text, profile)
        if number is None:
            raise StatementError(f"importe «{clean_text(text, 30)}» no válido", spot)
        return minor_units(number, currency, spot)

    if amount_at is not None:
        value = amount(amount_at, cols.label(profile.amount_column))
        if value is None:
            raise StatementError(
                "falta el importe", f"{where}, columna «{cols.label(profile.amount_column)}»"
            )
    else:
        credit = amount(credit_at, cols.label(profile.credit_column))
        debit = amount(debit_at, cols.label(profile.debit_column))
        if credit and debit:
            raise StatementError("la fila tiene abono y cargo a la vez", where)
        if credit is None and debit is None:
            raise StatementError("la fila no tiene ni abono ni cargo", where)
        value = abs(credit) if credit else -abs(debit or 0)
    bank_id = _cell(row, other["id"])
    return Draft(
        where=where,
        line_no=row_no,
        account=f"csv:{profile.name}" if bank_id else "",
        booked_on=booked_on,
        amount=value,
        currency=currency,
        bank_id=bank_id,
        reference=_cell(row, other["reference"]),
        description=_cell(row, other["description"]),
        payer_name=_cell(row, other["payer_name"]),
        payer_account=_cell(row, other["payer_account"]),
    )
