"""The numbers behind the dashboard's cards, charts and tables, as tables to download (CSV, XLSX).

One :func:`table` per dataset turns a :class:`KpiReport` into typed columns; the two writers
only decide how each kind of cell is spelled. Money is exported in major units (a decimal
string in CSV, a number in XLSX) next to a currency column, never in minor units a spreadsheet
user would misread; rates are fractions (0.875), formatted as percentages in XLSX.

Text cells can hold tenant text (dunning stage names): in CSV one starting with ``=``, ``+``,
``-``, ``@`` (or a tab/carriage return) is prefixed with ``'`` so a spreadsheet shows it instead of
running it as a formula (OWASP "CSV injection"); XLSX cells are written as strings, never formulas.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

import xlsxwriter

from recaudo.core.common.money import Money, exponent
from recaudo.core.workspace.values import KpiReport

Kind = Literal["text", "money", "days", "rate", "count", "date"]
Cell = str | int | Decimal | date | None

#: The datasets one can download, in the order the page lists them.
DATASETS = ("kpis", "aging", "dso_trend", "weekly", "stages", "channels")
FORMATS = ("csv", "xlsx")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")
#: What the KPI table's value column holds on each row.
KPI_KINDS: dict[str, Kind] = {
    "dso": "days",
    "cei": "rate",
    "add": "days",
    "promise_kept_rate": "rate",
    "promises_due": "count",
    "promises_kept": "count",
    "auto_reconciled_share": "rate",
    "open_balance": "money",
    "overdue_balance": "money",
}


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind


@dataclass(frozen=True)
class Table:
    """A dataset ready to write: columns and rows of cells (money cells in minor units)."""

    name: str
    currency: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]


def table(report: KpiReport, name: str, _: Callable[[str], str]) -> Table:
    """The rows of dataset ``name`` (one of :data:`DATASETS`), headed in the page's language."""
    cur = report.currency
    money, text = Column(_("Importe"), "money"), Column(_("Moneda"), "text")
    if name == "kpis":
        cols: tuple[Column, ...] = (
            Column(_("Clave"), "text"),
            Column(_("Indicador"), "text"),
            Column(_("Valor"), "count"),  # typed per row: see _kind
            Column(_("Unidad"), "text"),
            text,
        )
        figures: list[tuple[str, str, Decimal | int | None, Kind]] = [
            ("dso", _("DSO"), report.dso, "days"),
            ("cei", _("CEI"), report.cei, "rate"),
            ("add", _("Días promedio de atraso"), report.average_days_delinquent, "days"),
            ("promise_kept_rate", _("Promesas cumplidas"), report.promise_kept_rate, "rate"),
            ("promises_due", _("Promesas vencidas"), report.promises_due, "count"),
            ("promises_kept", _("Promesas cumplidas (número)"), report.promises_kept, "count"),
            (
                "auto_reconciled_share",
                _("Pagos conciliados automáticamente"),
                report.auto_reconciled_share,
                "rate",
            ),
            ("open_balance", _("Saldo abierto"), report.open_balance, "money"),
            ("overdue_balance", _("Saldo vencido"), report.overdue_balance, "money"),
        ]
        units: dict[Kind, str] = {
            "days": _("días"),
            "rate": _("fracción"),
            "count": _("número"),
            "money": cur,
        }
        rows: list[tuple[Cell, ...]] = [
            (key, label, value, units[unit], cur if unit == "money" else "")
            for key, label, value, unit in figures
        ]
        return Table(name, cur, cols, tuple(rows))
    if name == "aging":
        cols = (
            Column(_("Tramo"), "text"),
            Column(_("Desde (días de atraso)"), "count"),
            Column(_("Hasta (días de atraso)"), "count"),
            money,
            text,
            Column(_("Facturas"), "count"),
        )
        rows = [(_(b.label), b.from_days, b.to_days, b.amount, cur, b.count) for b in report.aging]
        return Table(name, cur, cols, tuple(rows))
    if name == "dso_trend":
        cols = (Column(_("Mes"), "date"), Column(_("DSO (días)"), "days"))
        rows = [(p.period, _decimal(p.values.get("dso"))) for p in report.dso_trend]
        return Table(name, cur, cols, tuple(rows))
    if name == "weekly":
        cols = (
            Column(_("Semana"), "date"),
            Column(_("Por cobrar"), "money"),
            Column(_("Cobrado"), "money"),
            text,
        )
        rows = [
            (p.period, _int(p.values.get("due")), _int(p.values.get("collected")), cur)
            for p in report.weekly
        ]
        return Table(name, cur, cols, tuple(rows))
    if name in ("stages", "channels"):
        first = _("Etapa") if name == "stages" else _("Canal")
        cols = (Column(first, "text"), money, text, Column(_("Pagos"), "count"))
        source = report.recovered_by_stage if name == "stages" else report.recovered_by_channel
        labels = (lambda s: s) if name == "stages" else _  # stage names are the tenant's words
        rows = [(labels(r.label), r.amount, cur, r.count) for r in source]
        return Table(name, cur, cols, tuple(rows))
    raise KeyError(name)


def _decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | Decimal) else 0


def neutralise(text: str) -> str:
    """A text cell a spreadsheet will show, not evaluate."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_cell(value: Cell, kind: Kind, currency: str) -> str:
    if value is None:
        return ""
    if kind == "money" and isinstance(value, int):
        return str(Money(currency, value).to_decimal())
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def to_csv(data: Table) -> bytes:
    """UTF-8 with a header row; a BOM so spreadsheet programs read the accents right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(c.title) for c in data.columns])
    for row in data.rows:
        writer.writerow(
            [_csv_cell(v, _kind(data, row, i), data.currency) for i, v in enumerate(row)]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(data: Table, sheet: str) -> bytes:
    """One sheet; numbers as numbers (money in major units, rates as percentages)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet(_UNSAFE_NAME.sub(" ", sheet)[:31] or "datos")
    digits = exponent(data.currency)
    formats = {
        "money": book.add_format({"num_format": "#,##0" + ("." + "0" * digits if digits else "")}),
        "days": book.add_format({"num_format": "0.0"}),
        "rate": book.add_format({"num_format": "0.0%"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "bold": book.add_format({"bold": True}),
    }
    for col, column in enumerate(data.columns):
        ws.write_string(0, col, column.title, formats["bold"])
        ws.set_column(col, col, max(12, len(column.title) + 2))
    for r, row in enumerate(data.rows, start=1):
        for col, value in enumerate(row):
            kind = _kind(data, row, col)
            if value is None:
                ws.write_blank(r, col, None)
            elif isinstance(value, date):
                ws.write_datetime(r, col, value, formats["date"])
            elif isinstance(value, str):
                ws.write_string(r, col, value)
            elif kind == "money" and isinstance(value, int):
                major = float(Money(data.currency, value).to_decimal())
                ws.write_number(r, col, major, formats["money"])
            elif kind in formats:
                ws.write_number(r, col, float(value), formats[kind])
            else:
                ws.write_number(r, col, float(value))
    book.close()
    return buffer.getvalue()


def _kind(data: Table, row: Sequence[Cell], index: int) -> Kind:
    """The kind of a cell: its column's, except in the KPI table's value column, which mixes
    days, rates, counts and money and is typed by the row's key."""
    if data.name == "kpis" and index == 2:
        return KPI_KINDS.get(str(row[0]), "count")
    return data.columns[index].kind


def filename(slug: str, name: str, start: date, end: date, extension: str) -> str:
    """``indicadores-<tenant>-<dataset>-<start>_<end>.<ext>``: ASCII, no path or quote."""
    safe = _UNSAFE_NAME.sub("-", f"indicadores-{slug}-{name}-{start}_{end}").strip("-")
    return f"{safe}.{extension}"
