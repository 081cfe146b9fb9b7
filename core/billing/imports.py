"""Imports of customers and invoices from CSV and XLSX files: mapping, dry run, all-or-nothing.

A file is read twice, streamed both times (:mod:`recaudo.core.billing.import_files`):

1. **Check.** Every row is parsed and validated with the same rules as the one-by-one services
   (:func:`~recaudo.core.billing.invoices.validate_invoice`,
   :func:`~recaudo.core.billing.customers.validate_customer`), duplicates inside the file are
   found, and existing numbers and customers are looked up with one query per batch of rows.
   Every bad row is collected as a :class:`RowError` ``(line, field, reason)``; a dry run stops
   here and stores nothing.
2. **Import**, only when no row is bad: one transaction, rows written in batches
   (:mod:`recaudo.core.common.bulk`: ``COPY`` on PostgreSQL, ``executemany`` on SQLite), each new
   invoice with the ``invoice_event`` outbox job :func:`create_invoice` would enqueue, and one
   audit event. If anything fails, nothing is stored.

Which file column feeds which field is a *mapping*: by default the field names themselves (case,
accents, spaces and punctuation ignored) and their Spanish aliases; a tenant may save its own per
kind (``import_mapping``) and a caller may override columns for one run.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from piccolo.columns import Varchar
from piccolo.table import Table

from recaudo.core.billing.customers import (
    CHANNELS,
    CustomerError,
    NewCustomer,
    validate_customer,
)
from recaudo.core.billing.import_files import (
    BadRow,
    ImportFileError,
    Sheet,
    Source,
    normalise,
    open_sheet,
)
from recaudo.core.billing.invoices import (
    InvoiceError,
    NewInvoice,
    NewLine,
    invoice_totals,
    validate_invoice,
)
from recaudo.core.common.atomic import integrity_error
from recaudo.core.common.audit import record
from recaudo.core.common.bulk import insert_rows, reserve_ids
from recaudo.core.common.money import MoneyError, check_currency, exponent
from recaudo.core.db import transaction
from recaudo.core.tables import Customer, ImportMapping, Invoice, InvoiceLine, OutboxJob
from recaudo.tenants.scoped import TenantScope

__all__ = [
    "ALIASES",
    "COLUMNS",
    "KINDS",
    "REQUIRED",
    "ImportFileError",
    "ImportResult",
    "RowError",
    "parse_amount",
    "parse_date",
    "resolve_mapping",
    "run_import",
    "save_mapping",
    "saved_mapping",
]

KINDS = ("customers", "invoices")
COLUMNS: dict[str, tuple[str, ...]] = {
    "invoices": (
        "number",
        "customer",
        "issue_date",
        "due_date",
        "currency",
        "amount",
        "tax",
        "description",
        "external_id",
    ),
    "customers": (
        "number",
        "name",
        "email",
        "phone",
        "tax_id",
        "tax_country",
        "preferred_channel",
    ),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "invoices": ("number", "customer", "due_date", "amount"),
    "customers": ("number", "name"),
}
#: Other names a column may have (compared after :func:`normalise`: no accents, lower case).
ALIASES: dict[str, dict[str, str]] = {
    "invoices": {
        "numero": "number",
        "no": "number",
        "num": "number",
        "folio": "number",
        "factura": "number",
        "numero_factura": "number",
        "numero_de_factura": "number",
        "no_factura": "number",
        "invoice": "number",
        "invoice_number": "number",
        "cliente": "customer",
        "numero_cliente": "customer",
        "numero_de_cliente": "customer",
        "codigo_cliente": "customer",
        "id_cliente": "customer",
        "customer_number": "customer",
        "customer_id": "customer",
        "fecha": "issue_date",
        "fecha_emision": "issue_date",
        "fecha_de_emision": "issue_date",
        "emision": "issue_date",
        "emitida": "issue_date",
        "vencimiento": "due_date",
        "fecha_vencimiento": "due_date",
        "fecha_de_vencimiento": "due_date",
        "vence": "due_date",
        "due": "due_date",
        "moneda": "currency",
        "divisa": "currency",
        "importe": "amount",
        "monto": "amount",
        "total": "amount",
        "subtotal": "amount",
        "valor": "amount",
        "impuesto": "tax",
        "impuestos": "tax",
        "iva": "tax",
        "descripcion": "description",
        "concepto": "description",
        "detalle": "description",
        "id_externo": "external_id",
        "referencia_externa": "external_id",
    },
    "customers": {
        "numero": "number",
        "no": "number",
        "num": "number",
        "cliente": "number",
        "numero_cliente": "number",
        "numero_de_cliente": "number",
        "codigo": "number",
        "codigo_cliente": "number",
        "customer": "number",
        "nombre": "name",
        "razon_social": "name",
        "correo": "email",
        "correo_electronico": "email",
        "e_mail": "email",
        "mail": "email",
        "telefono": "phone",
        "celular": "phone",
        "movil": "phone",
        "whatsapp": "phone",
        "rfc": "tax_id",
        "nit": "tax_id",
        "rut": "tax_id",
        "ruc": "tax_id",
        "cuit": "tax_id",
        "cedula": "tax_id",
        "id_fiscal": "tax_id",
        "identificacion_fiscal": "tax_id",
        "pais": "tax_country",
        "pais_fiscal": "tax_country",
        "canal": "preferred_channel",
        "canal_preferido": "preferred_channel",
    },
}
_CHANNEL_ALIASES = {"correo": "email", "e_mail": "email", "mensaje": "sms", "wa": "whatsapp"}

#: Rows checked against the database per query, and written per insert.
BATCH = 500
#: Checked rows kept for writing without reading the file again (beyond: read twice).
KEEP_IN_MEMORY = 100_000
#: A file with more bad rows than this is listed up to here (and says how many more).
MAX_ERRORS = 5_000

Progress = Callable[[int, int, str], Awaitable[None] | None]


@dataclass(frozen=True)
class RowError:
    """One problem with one row: ``line`` as the user sees it (header = 1), ``field`` may be ''."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return (
            f"line {self.line}: {self.field}: {self.reason}"
            if self.field
            else (f"line {self.line}: {self.reason}")
        )

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "reason": self.reason}


@dataclass
class ImportResult:
    kind: str
    dry_run: bool
    rows: int = 0  # data rows read (blank rows skipped)
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)
    more_errors: int = 0  # bad rows beyond MAX_ERRORS, not listed
    columns: dict[str, str] = field(default_factory=dict)  # file column → field
    ignored: list[str] = field(default_factory=list)  # file columns not imported

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            self.kind: self.imported if not self.dry_run else self.rows - self.bad_rows,
            "rows": self.rows,
            "dry_run": self.dry_run,
            "errors": [e.as_dict() for e in self.errors],
            "more_errors": self.more_errors,
            "columns": self.columns,
            "ignored_columns": self.ignored,
        }

    @property
    def bad_rows(self) -> int:
        return len({e.line for e in self.errors}) + self.more_errors


class _RowProblem(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


# --- mapping -------------------------------------------------------------------------------------


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ImportFileError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    return kind


def default_field(kind: str, column: str) -> str | None:
    """The field a column feeds by default: its own name, or a known alias."""
    key = normalise(column)
    if key in COLUMNS[kind]:
        return key
    return ALIASES[kind].get(key)


def clean_mapping(kind: str, mapping: dict[str, str]) -> dict[str, str]:
    """``{file column: field or ''}`` with columns normalised; unknown fields are refused."""
    out: dict[str, str] = {}
    for column, target in mapping.items():
        key = normalise(column)
        value = normalise(target or "")
        if value in ("", "ignore", "ignorar", "none"):
            value = ""
        elif value not in COLUMNS[kind]:
            raise ImportFileError(
                f"mapping: {target!r} (for column {column!r}) is not a field of {kind}; use "
                f"one of {', '.join(COLUMNS[kind])}, or leave it empty to skip the column"
            )
        if key:
            out[key] = value
    return out


def resolve_mapping(
    kind: str,
    header: list[str],
    saved: dict[str, str] | None = None,
    overrides: dict[str, str] | None = None,
) -> tuple[list[tuple[int, str]], dict[str, str], list[str]]:
    """Which column index feeds which field: ``(pairs, {column: field}, ignored columns)``.

    Precedence per column: ``overrides``, then the tenant's ``saved`` mapping, then the default
    (field names and aliases). A field fed by an earlier column is not fed again. A required field
    without a column is an :class:`ImportFileError` naming it.
    """
    check_kind(kind)
    chosen_overrides = clean_mapping(kind, overrides or {})
    keys = [normalise(h) for h in header]
    missing_columns = [c for c in chosen_overrides if c not in keys]
    if missing_columns:
        raise ImportFileError(
            f"mapping: the file has no column {missing_columns[0]!r} "
            f"(its columns: {', '.join(h for h in header if h)})"
        )
    saved_clean: dict[str, str] = {}
    for column, wanted in (saved or {}).items():
        value = normalise(wanted or "")
        if value == "" or value in COLUMNS[kind]:
            saved_clean[normalise(column)] = value
    pairs: list[tuple[int, str]] = []
    columns: dict[str, str] = {}
    ignored: list[str] = []
    taken: set[str] = set()
    for index, (name, key) in enumerate(zip(header, keys, strict=True)):
        if not key:
            continue
        if key in chosen_overrides:
            target: str | None = chosen_overrides[key]
        elif key in saved_clean:
            target = saved_clean[key]
        else:
            target = default_field(kind, name)
        if not target or target in taken:
            ignored.append(name)
            continue
        taken.add(target)
        pairs.append((index, target))
        columns[name] = target
    missing = [f for f in REQUIRED[kind] if f not in taken]
    if missing:
        raise ImportFileError(
            f"line 1: columns: no column for {', '.join(missing)} (the file's columns: "
            f"{', '.join(h for h in header if h) or 'none'}); name a column so or map one to it"
        )
    return pairs, columns, ignored


async def saved_mapping(scope: TenantScope, kind: str) -> dict[str, str]:
    row = await scope.objects(ImportMapping).where(ImportMapping.kind == check_kind(kind)).first()
    if row is None:
        return {}
    value = row.mapping
    data = json.loads(value) if isinstance(value, str) else value
    return {str(k): str(v) for k, v in (data or {}).items()}


async def save_mapping(scope: TenantScope, kind: str, mapping: dict[str, str], actor: str) -> None:
    """Remember ``mapping`` (``{file column: field or ''}``) as the tenant's for ``kind``."""
    clean = clean_mapping(check_kind(kind), mapping)
    now = datetime.now(UTC)
    async with transaction():
        existing = await scope.objects(ImportMapping).where(ImportMapping.kind == kind).first()
        if existing is None:
            await scope.add(ImportMapping(kind=kind, mapping=clean, updated_at=now))
        else:
            existing.mapping = clean
            existing.updated_at = now
            await scope.save(existing)
        await record(scope, actor, "import.mapping_saved", kind, mapping=clean)


# --- values --------------------------------------------------------------------------------------

_DIGITS = re.compile(r"\d+(\.\d+)?|\.\d+")
_COMMA_GROUPS = re.compile(r"\d{1,3}(,\d{3})+")
_DOT_GROUPS = re.compile(r"\d{1,3}(\.\d{3})+")
_DECIMAL_COMMA = re.compile(r"\d+,\d{1,2}")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")


def _q(value: str) -> str:
    """A value quoted for a message, shortened when long."""
    text = value if len(value) <= 40 else value[:40] + "…"
    return '"' + text.replace('"', "'") + '"'


def parse_amount(text: str, currency: str) -> int:
    """A decimal amount in major units (``1500.00``, ``1,500.00``, ``1.500,00``) as exact minor
    units of ``currency``; never through a float. Raises :class:`ValueError` saying why not."""
    raw = text.strip()
    value = raw.replace(" ", "").replace("\u00a0", "").removeprefix("$")
    if value.startswith("-"):
        raise ValueError(f"{_q(raw)} is negative")
    if "," in value and "." in value:
        whole, _, _frac = value.rpartition("," if value.rfind(",") > value.rfind(".") else ".")
        groups = _COMMA_GROUPS if value.rfind(".") > value.rfind(",") else _DOT_GROUPS
        if not groups.fullmatch(whole):
            raise ValueError(f"{_q(raw)} is not an amount")
        if value.rfind(",") > value.rfind("."):
            value = value.replace(".", "").replace(",", ".")
        else:
            value = value.replace(",", "")
    elif "," in value:
        if _COMMA_GROUPS.fullmatch(value):
            value = value.replace(",", "")
        elif _DECIMAL_COMMA.fullmatch(value):
            value = value.replace(",", ".")
        else:
            raise ValueError(f"{_q(raw)} is not an amount")
    elif value.count(".") > 1 and _DOT_GROUPS.fullmatch(value):
        value = value.replace(".", "")
    if not _DIGITS.fullmatch(value):
        raise ValueError(f"{_q(raw)} is not an amount")
    number = Decimal(value)
    digits = exponent(currency)
    try:
        scaled = number.scaleb(digits)
    except ArithmeticError:  # pragma: no cover - Decimal of digits cannot fail here
        raise ValueError(f"{_q(raw)} is not an amount") from None
    if number > 10**12:
        raise ValueError(f"{_q(raw)} is too large")
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{_q(raw)} has more than {digits} decimal digits for {currency}")
    return int(scaled)


@lru_cache(maxsize=4096)  # a file's dates repeat: each distinct text is parsed once
def parse_date(text: str) -> date:
    raw = text.strip()
    if len(raw) == 10 and raw[4] == "-" and raw[7] == "-":
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    value = raw[:10] if len(raw) > 10 and raw[10] in "T " else raw
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"{_q(raw)} is not a date (use YYYY-MM-DD or DD/MM/YYYY)")


def _split(message: str) -> tuple[str, str]:
    """A service's ``"field: reason"`` (or ``"field 'x': reason"``) as ``(field, reason)``."""
    head, sep, rest = message.partition(": ")
    if not sep:
        return "", message
    name, _, detail = head.partition(" ")
    if name == "line":  # the one invoice line is the row's description and amount
        name = "description" if "description" in rest else "amount"
    elif name == "total":
        name = "amount"
    return name, f"{detail} {rest}".strip() if detail else rest


@lru_cache(maxsize=8)
def _max_lengths(table: type[Table]) -> dict[str, int]:
    return {
        c._meta.name: int(c.length)
        for c in table._meta.columns
        if isinstance(c, Varchar) and c.length is not None
    }


def _lengths(table: type[Table], values: dict[str, Any]) -> None:
    limits = _max_lengths(table)
    for name, value in values.items():
        if "\x00" in value:
            raise _RowProblem(name, "contains binary data (NUL)")
        limit = limits.get(name)
        if limit is not None and len(value) > limit:
            raise _RowProblem(name, f"at most {limit} characters")


# --- rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Invoice:
    data: NewInvoice
    customer: str
    subtotal: int
    total: int


@dataclass
class _Context:
    kind: str
    pairs: list[tuple[int, str]]
    width: int
    default_country: str
    default_currency: str
    today: date
    by_id: bool = False  # the customer column holds Recaudo's customer ids


def _values(ctx: _Context, cells: list[str]) -> dict[str, str]:
    extra = cells[ctx.width :]
    if any(c.strip() for c in extra):
        raise _RowProblem("", f"has {len(cells)} values, the header has {ctx.width} columns")
    return {name: cells[i].strip() if i < len(cells) else "" for i, name in ctx.pairs}


def _parse_invoice(ctx: _Context, v: dict[str, str]) -> tuple[_Invoice | None, list[_RowProblem]]:
    problems: list[_RowProblem] = []

    def attempt(name: str, fn: Callable[[], Any], default: Any = None) -> Any:
        try:
            return fn()
        except (ValueError, MoneyError) as exc:
            problems.append(_RowProblem(name, str(exc)))
            return default

    number = v.get("number", "")
    customer = v.get("customer", "")
    if not customer:
        problems.append(_RowProblem("customer", "required"))
    currency = attempt(
        "currency", lambda: check_currency(v.get("currency") or ctx.default_currency)
    )
    issue = attempt(
        "issue_date", lambda: parse_date(v["issue_date"]) if v.get("issue_date") else ctx.today
    )
    due_text = v.get("due_date", "")
    due = attempt("due_date", lambda: parse_date(due_text)) if due_text else None
    if not due_text:
        problems.append(_RowProblem("due_date", "required"))
    amount_text, tax_text = v.get("amount", ""), v.get("tax", "")
    amount = tax = None
    if not amount_text:
        problems.append(_RowProblem("amount", "required"))
    elif currency:
        amount = attempt("amount", lambda: parse_amount(amount_text, currency))
    if currency:
        tax = attempt("tax", lambda: parse_amount(tax_text, currency) if tax_text else 0)
    description = v.get("description", "")
    external_id = v.get("external_id") or None
    try:
        _lengths(
            Invoice,
            {"number": number, "description": description, "external_id": external_id or ""},
        )
    except _RowProblem as exc:
        problems.append(exc)
    if problems or amount is None or tax is None or due is None or issue is None:
        return None, problems
    data = NewInvoice(
        customer_id=0,
        number=number,
        issue_date=issue,
        due_date=due,
        currency=currency,
        lines=(NewLine(description or f"Factura {number}", 1, amount),),
        tax=tax,
        description=description,
        external_id=external_id,
    )
    try:
        validate_invoice(data)
        subtotal, total = invoice_totals(data)
    except InvoiceError as exc:
        return None, [_RowProblem(*_split(str(exc)))]
    return _Invoice(data, customer, subtotal, total), []


def _parse_customer(ctx: _Context, v: dict[str, str]) -> tuple[NewCustomer | None, list[Any]]:
    channel = normalise(v.get("preferred_channel", "")) or "email"
    channel = _CHANNEL_ALIASES.get(channel, channel)
    if channel not in CHANNELS:
        return None, [
            _RowProblem(
                "preferred_channel",
                f"{_q(v.get('preferred_channel', ''))} is not one of {', '.join(CHANNELS)}",
            )
        ]
    country = v.get("tax_country", "").upper()
    if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
        return None, [_RowProblem("tax_country", f"{_q(country)} is not a two-letter country code")]
    data = NewCustomer(
        number=v.get("number", ""),
        name=v.get("name", ""),
        tax_id=v.get("tax_id", ""),
        tax_country=country,
        email=v.get("email", ""),
        phone=v.get("phone", ""),
        preferred_channel=channel,
    )
    try:
        clean = validate_customer(data, ctx.default_country)
        _lengths(
            Customer,
            {
                "number": clean.number,
                "name": clean.name,
                "email": clean.email,
                "phone": clean.phone,
                "tax_id": clean.tax_id,
            },
        )
    except CustomerError as exc:
        return None, [_RowProblem(*_split(str(exc)))]
    except _RowProblem as exc:
        return None, [exc]
    return clean, []


def _rows(sheet: Sheet) -> Iterator[tuple[int, list[str] | BadRow]]:
    for line, cells in sheet.rows:
        if isinstance(cells, list) and not any(c.strip() for c in cells):
            continue  # blank rows are not data
        yield line, cells


class _Report:
    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.total = total

    async def __call__(self, done: int, phase: str) -> None:
        if self.progress is None:
            return
        self.total = max(self.total, done)
        outcome = self.progress(done, self.total, phase)
        if inspect.isawaitable(outcome):
            await outcome


# --- the run -------------------------------------------------------------------------------------


async def run_import(
    scope: TenantScope,
    kind: str,
    source: Source,
    *,
    filename: str = "",
    default_country: str,
    default_currency: str,
    dry_run: bool = False,
    saved: dict[str, str] | None = None,
    overrides: dict[str, str] | None = None,
    progress: Progress | None = None,
    actor: str = "import",
    finish: Callable[[ImportResult], Awaitable[None]] | None = None,
) -> ImportResult:
    """Check ``source`` and, unless ``dry_run`` or a row is bad, import every row at once.

    File-level problems (unreadable file, missing required column, bad mapping) raise
    :class:`ImportFileError`; row problems come back in :attr:`ImportResult.errors`.
    ``finish(result)`` runs inside the import's transaction, after the rows are written.
    """
    check_kind(kind)
    sheet = open_sheet(source, filename)
    try:
        pairs, columns, ignored = resolve_mapping(kind, sheet.header, saved, overrides)
    except ImportFileError:
        sheet.rows.close()  # type: ignore[attr-defined]
        raise
    ctx = _Context(
        kind, pairs, len(sheet.header), default_country, default_currency, datetime.now(UTC).date()
    )
    ctx.by_id = any(
        field == "customer" and normalise(sheet.header[i]) == "customer_id" for i, field in pairs
    )
    result = ImportResult(kind=kind, dry_run=dry_run, columns=columns, ignored=ignored)
    report = _Report(progress, sheet.total_estimate)
    customers: dict[str, int | None] = {}
    kept = await _check(scope, ctx, sheet, result, customers, report)
    if dry_run or result.errors:
        return result
    await report(0, "importing")
    try:
        async with transaction():
            rows = kept if kept is not None else _reparse(ctx, open_sheet(source, filename))
            imported = await _write(scope, ctx, rows, customers, report)
            await record(
                scope,
                actor,
                f"import.{kind}",
                filename[:100],
                rows=imported,
                columns=columns,
            )
            result.imported = imported
            if finish is not None:
                await finish(result)
    except Exception as exc:
        if not integrity_error(exc):
            raise
        result.errors.append(
            RowError(
                0,
                "number",
                "a number in the file was stored by someone else while importing; nothing was "
                "imported, try again",
            )
        )
        result.imported = 0
        return result
    return result


async def _check(
    scope: TenantScope,
    ctx: _Context,
    sheet: Sheet,
    result: ImportResult,
    customers: dict[str, int | None],
    report: _Report,
) -> list[Any] | None:
    """Check every row; returns the parsed rows when few enough to keep (else ``None``)."""
    seen: dict[str, int] = {}
    batch: list[tuple[int, str, str]] = []  # line, number, customer reference
    bad_lines: set[int] = set()
    kept: list[Any] | None = []

    def fail(line: int, name: str, reason: str) -> None:
        if line not in bad_lines and len(bad_lines) >= MAX_ERRORS:
            result.more_errors += 1
            bad_lines.add(line)
            return
        bad_lines.add(line)
        if len(result.errors) < MAX_ERRORS * 3:
            result.errors.append(RowError(line, name, reason))

    async def flush() -> None:
        # Every row with a number or a customer is looked up, bad or not, so each row's every
        # problem is reported at once: one query per batch for numbers, one for customers.
        if not batch:
            return
        numbers = [number for _, number, _ in batch if number]
        table: Any = Customer if ctx.kind == "customers" else Invoice
        taken: set[str] = set()
        if numbers:
            query = scope.select(table, table.number).where(table.number.is_in(numbers))
            taken = {r["number"] for r in await query}
        wanted = sorted({ref for _, _, ref in batch if ref} - customers.keys())
        if wanted:
            customers.update(await _find_customers(scope, wanted, ctx.by_id))
        for line, number, ref in batch:
            if number in taken:
                fail(line, "number", f"{_q(number)} already exists")
            if ref and customers.get(ref) is None:
                fail(line, "customer", f"{_q(ref)} is not a customer number")
        batch.clear()

    done = 0
    for line, cells in _rows(sheet):
        done += 1
        if isinstance(cells, BadRow):
            fail(line, "", cells.reason)
            continue
        try:
            values = _values(ctx, cells)
        except _RowProblem as exc:
            fail(line, exc.field, exc.reason)
            continue
        parsed: Any
        if ctx.kind == "invoices":
            parsed, problems = _parse_invoice(ctx, values)
            number = parsed.data.number if parsed else values.get("number", "").strip()
        else:
            parsed, problems = _parse_customer(ctx, values)
            number = parsed.number if parsed else values.get("number", "").strip()
        for problem in problems:
            fail(line, problem.field, problem.reason)
        if number:
            first = seen.get(number)
            if first is not None:
                fail(line, "number", f"{_q(number)} repeats line {first}")
                parsed = None
            else:
                seen[number] = line
        ref = values.get("customer", "") if ctx.kind == "invoices" else ""
        if number or ref:
            batch.append((line, number, ref))
        if parsed is not None and not problems:
            if kept is not None:
                kept.append(parsed)
                if len(kept) > KEEP_IN_MEMORY:
                    kept = None  # a very large file: read it again to write it
        if len(batch) >= BATCH:
            await flush()
            await report(done, "checking")
    await flush()
    result.rows = done
    result.errors.sort(key=lambda e: e.line)
    await report(done, "checking")
    return kept


async def _find_customers(
    scope: TenantScope, refs: list[str], by_id: bool = False
) -> dict[str, int | None]:
    """Customer ids for references: the customer's number, else its external id (when the
    customer table has one). ``by_id`` (a column headed ``customer_id``): Recaudo's ids only, so a
    mistyped number can never land on the customer whose id it happens to be."""
    found: dict[str, int | None] = {}
    if by_id:
        ids = {int(ref): ref for ref in refs if ref.isascii() and ref.isdigit() and len(ref) <= 9}
        if ids:
            rows = await scope.select(Customer, Customer.id).where(Customer.id.is_in(list(ids)))
            for r in rows:
                found[ids[int(r["id"])]] = int(r["id"])
        return {ref: found.get(ref) for ref in refs}
    rows = await scope.select(Customer, Customer.id, Customer.number).where(
        Customer.number.is_in(refs)
    )
    for r in rows:
        found[r["number"]] = int(r["id"])
    left = [ref for ref in refs if ref not in found]
    external = getattr(Customer, "external_id", None)
    if left and external is not None:
        rows = await scope.select(Customer, Customer.id, external).where(external.is_in(left))
        for r in rows:
            found.setdefault(str(r["external_id"]), int(r["id"]))
    for ref in refs:
        found.setdefault(ref, None)
    return found


def _reparse(ctx: _Context, sheet: Sheet) -> Iterator[Any]:
    """The rows of a file already checked, parsed again (for files too big to keep)."""
    for _line, cells in _rows(sheet):
        if isinstance(cells, BadRow):  # pragma: no cover - the check found none
            raise ImportFileError("the file changed while importing; nothing was imported")
        values = _values(ctx, cells)
        parsed: Any
        if ctx.kind == "invoices":
            parsed, problems = _parse_invoice(ctx, values)
        else:
            parsed, problems = _parse_customer(ctx, values)
        if parsed is None or problems:  # pragma: no cover - the check found none
            raise ImportFileError("the file changed while importing; nothing was imported")
        yield parsed


_INVOICE_COLUMNS = (
    "id",
    "customer",
    "number",
    "issue_date",
    "due_date",
    "currency",
    "subtotal",
    "tax",
    "total",
    "amount_applied",
    "status",
    "description",
    "external_id",
    "disputed",
    "plan_id",
    "einvoice_backend",
    "einvoice_uuid",
    "einvoice_status",
    "einvoice_xml",
    "created_at",
    "updated_at",
)
_LINE_COLUMNS = ("invoice", "position", "description", "quantity", "unit_amount", "amount")
_JOB_COLUMNS = (
    "key",
    "actor",
    "payload",
    "status",
    "attempts",
    "available_at",
    "last_error",
    "created_at",
)
_CUSTOMER_COLUMNS = (
    "number",
    "name",
    "tax_id",
    "tax_country",
    "email",
    "phone",
    "preferred_channel",
    "locale",
    "consents",
    "payment_reference",
    "created_at",
)


async def _write(
    scope: TenantScope,
    ctx: _Context,
    rows: Iterable[Any],
    customers: dict[str, int | None],
    report: _Report,
) -> int:
    now = datetime.now(UTC)
    batch: list[Any] = []
    written = 0

    async def flush() -> None:
        nonlocal written
        if not batch:
            return
        if ctx.kind == "customers":
            await insert_rows(
                scope,
                Customer,
                _CUSTOMER_COLUMNS,
                [
                    (
                        c.number,
                        c.name,
                        c.tax_id,
                        c.tax_country,
                        c.email,
                        c.phone,
                        c.preferred_channel,
                        "",
                        "{}",
                        "",
                        now,
                    )
                    for c in batch
                ],
            )
        else:
            ids = await reserve_ids(Invoice, len(batch))
            invoices, lines, jobs = [], [], []
            for pk, row in zip(ids, batch, strict=True):
                d = row.data
                invoices.append(
                    (
                        pk,
                        customers[row.customer],
                        d.number,
                        d.issue_date,
                        d.due_date,
                        d.currency,
                        row.subtotal,
                        d.tax,
                        row.total,
                        0,
                        "open",
                        d.description,
                        d.external_id,
                        False,
                        None,
                        "",
                        "",
                        "",
                        "",
                        now,
                        now,
                    )
                )
                for position, line in enumerate(d.lines):
                    amount = line.quantity * line.unit_amount
                    lines.append(
                        (pk, position, line.description, line.quantity, line.unit_amount, amount)
                    )
                jobs.append(
                    (
                        f"invoice_event:{pk}:created",
                        "invoice_event",
                        json.dumps({"invoice_id": pk, "kind": "created"}),
                        "pending",
                        0,
                        now,
                        "",
                        now,
                    )
                )
            await insert_rows(scope, Invoice, _INVOICE_COLUMNS, invoices)
            await insert_rows(scope, InvoiceLine, _LINE_COLUMNS, lines)
            await insert_rows(scope, OutboxJob, _JOB_COLUMNS, jobs)
        written += len(batch)
        batch.clear()

    done = 0
    for parsed in rows:
        done += 1
        if ctx.kind == "invoices" and customers.get(parsed.customer) is None:
            raise ImportFileError("the file changed while importing; nothing was imported")
        batch.append(parsed)
        if len(batch) >= BATCH * 2:
            await flush()
            await report(done, "importing")
    await flush()
    await report(done, "importing")
    return written
