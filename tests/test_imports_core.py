"""Imports of customers and invoices (core service): formats, mapping, validation, atomicity.

Every database test runs on SQLite and, with RECAUDO_TEST_DATABASE_URL set, on PostgreSQL.
"""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.import_files import ImportFileError, normalise, open_sheet
from recaudo.core.billing.imports import (
    ImportResult,
    parse_amount,
    parse_date,
    resolve_mapping,
    run_import,
    save_mapping,
    saved_mapping,
)
from recaudo.core.tables import AuditEvent, Customer, Invoice, InvoiceLine, OutboxJob
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant

HEADER = "number,customer,issue_date,due_date,currency,amount,tax,description,external_id"


async def _tenant(slug: str = "acme") -> TenantScope:
    tenant = await make_tenant(slug)
    scope = TenantScope(int(tenant.id))
    for number, name in (("C1", "Ana"), ("C2", "Beto")):
        await create_customer(scope, NewCustomer(number, name), "MX")
    return scope


async def _import(
    scope: TenantScope, kind: str, content: bytes | Path, filename: str = "f.csv", **kw: object
) -> ImportResult:
    return await run_import(
        scope,
        kind,
        content,
        filename=filename,
        default_country="MX",
        default_currency="MXN",
        **kw,  # type: ignore[arg-type]
    )


async def _counts(scope: TenantScope) -> tuple[int, int, int, int]:
    return (
        await scope.count(Customer),
        await scope.count(Invoice),
        await scope.count(InvoiceLine),
        await scope.count(OutboxJob),
    )


# --- values, no database -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1500.00", "MXN", 150000),
        ("1,500.00", "MXN", 150000),
        ("1.500,50", "COP", 150050),
        ("1500,5", "MXN", 150050),
        ("1,234,567", "MXN", 123456700),
        ("1.234.567", "CLP", 1234567),
        ("$ 99.90", "MXN", 9990),
        ("0.125", "KWD", 125),
        ("12", "CLP", 12),
    ],
)
def test_amounts_are_exact_minor_units(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize("text", ["no-es-numero", "1,5000", "-10", "1e9", "1.2.3", "NaN", ""])
def test_bad_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"amount|negative"):
        parse_amount(text, "MXN")


def test_amount_with_too_many_decimals_names_the_currency() -> None:
    with pytest.raises(ValueError, match="0 decimal digits for CLP"):
        parse_amount("10.5", "CLP")


def test_dates() -> None:
    assert parse_date("2026-03-01") == date(2026, 3, 1)
    assert parse_date("01/03/2026") == date(2026, 3, 1)
    assert parse_date("2026-03-01T00:00:00") == date(2026, 3, 1)
    with pytest.raises(ValueError, match="not a date"):
        parse_date("31/02/2026")


def test_headers_are_matched_without_case_or_accents() -> None:
    assert normalise("  Fecha de Emisión ") == "fecha_de_emision"
    header = ["Folio", "Cliente", "Fecha", "Vencimiento", "Moneda", "Importe", "IVA", "Concepto"]
    pairs, columns, ignored = resolve_mapping("invoices", header)
    assert [f for _, f in pairs] == [
        "number",
        "customer",
        "issue_date",
        "due_date",
        "currency",
        "amount",
        "tax",
        "description",
    ]
    assert ignored == []
    assert columns["Importe"] == "amount"


def test_a_missing_required_column_is_named() -> None:
    with pytest.raises(ImportFileError, match="due_date"):
        resolve_mapping("invoices", ["number", "customer", "amount"])


def test_overrides_beat_saved_mapping_and_defaults() -> None:
    header = ["Doc", "Cli", "Vence", "Valor", "total"]
    pairs, _, ignored = resolve_mapping(
        "invoices",
        header,
        saved={"doc": "number", "cli": "customer", "total": "amount"},
        overrides={"Valor": "", "Vence": "due_date"},
    )
    assert dict((f, i) for i, f in pairs) == {
        "number": 0,
        "customer": 1,
        "due_date": 2,
        "amount": 4,
    }
    assert ignored == ["Valor"]
    with pytest.raises(ImportFileError, match="not a field of invoices"):
        resolve_mapping("invoices", header, overrides={"Doc": "numerito"})
    with pytest.raises(ImportFileError, match="no column 'nada'"):
        resolve_mapping("invoices", header, overrides={"nada": "number"})


def test_empty_and_binary_files_are_refused() -> None:
    with pytest.raises(ImportFileError, match="empty"):
        open_sheet(b"", "x.csv")
    with pytest.raises(ImportFileError, match=r"UTF-8|binary"):
        open_sheet(bytes(range(256)) * 50, "x.csv")
    with pytest.raises(ImportFileError, match="XLSX"):
        open_sheet(b"not a zip", "x.xlsx")
    with pytest.raises(ImportFileError, match="XLSX"):
        open_sheet(b"PK\x03\x04garbage" * 10, "x.xlsx")
    with pytest.raises(ImportFileError, match="not found"):
        open_sheet(Path("/nonexistent/file.csv"))


# --- imports --------------------------------------------------------------------------------------


async def test_good_csv_imports_invoices_with_lines_and_outbox_jobs(database: str) -> None:
    scope = await _tenant()
    content = (
        f"{HEADER}\n"
        "F-1,C1,2026-01-01,2026-02-01,MXN,1500.00,240.00,Servicio enero,ERP-1\n"
        'F-2,C2,2026-01-05,2026-02-05,,"1,234.50",,,\n'
    ).encode()
    result = await _import(scope, "invoices", content)
    assert result.ok, result.errors
    assert (result.rows, result.imported) == (2, 2)
    first = await scope.objects(Invoice).where(Invoice.number == "F-1").first()
    assert first is not None
    assert (first.subtotal, first.tax, first.total, first.status) == (150000, 24000, 174000, "open")
    assert first.external_id == "ERP-1" and first.description == "Servicio enero"
    assert first.due_date == date(2026, 2, 1)
    second = await scope.objects(Invoice).where(Invoice.number == "F-2").first()
    assert second is not None and second.total == 123450 and second.currency == "MXN"
    assert second.external_id is None
    lines = await scope.select(InvoiceLine, InvoiceLine.description, InvoiceLine.amount).where(
        InvoiceLine.invoice == first.id
    )
    assert lines == [{"description": "Servicio enero", "amount": 150000}]
    jobs = await scope.select(OutboxJob, OutboxJob.key, OutboxJob.actor, OutboxJob.payload)
    assert {j["key"] for j in jobs} == {
        f"invoice_event:{first.id}:created",
        f"invoice_event:{second.id}:created",
    }
    payload = jobs[0]["payload"]
    payload = json.loads(payload) if isinstance(payload, str) else payload
    assert payload["kind"] == "created" and jobs[0]["actor"] == "invoice_event"
    audit = await scope.objects(AuditEvent).where(AuditEvent.action == "import.invoices").first()
    assert audit is not None


async def test_imported_invoice_shows_on_the_customer_statement(database: str) -> None:
    from recaudo.core.billing.account import account_stamp

    scope = await _tenant()
    c1 = await scope.objects(Customer).where(Customer.number == "C1").first()
    assert c1 is not None
    before = await account_stamp(scope, int(c1.id))
    content = f"{HEADER}\nF-9,C1,2026-01-01,2026-02-01,MXN,10,,,\n".encode()
    assert (await _import(scope, "invoices", content)).imported == 1
    assert await account_stamp(scope, int(c1.id)) > before


async def test_semicolon_bom_and_spanish_aliases(database: str) -> None:
    scope = await _tenant()
    content = (
        "\ufeffFolio;Cliente;Fecha de emisión;Vencimiento;Moneda;Importe;IVA;Concepto\n"
        "A-1;C1;01/01/2026;01/02/2026;MXN;1.500,00;0;Renta\n"
    ).encode()
    result = await _import(scope, "invoices", content)
    assert result.ok, result.errors
    invoice = await scope.objects(Invoice).where(Invoice.number == "A-1").first()
    assert invoice is not None and invoice.total == 150000 and invoice.description == "Renta"


async def test_xlsx_with_dates_and_numbers(database: str, tmp_path: Path) -> None:
    scope = await _tenant()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Número", "Cliente", "Fecha", "Vencimiento", "Monto", "Impuesto"])
    sheet.append(["X-1", "C1", date(2026, 1, 1), date(2026, 2, 1), 1500.1, 0.1 + 0.2])
    sheet.append(["X-2", "C2", "2026-01-02", "2026-02-02", 99, None])
    sheet.append([None, None, None])  # blank row: skipped
    path = tmp_path / "facturas.xlsx"
    book.save(path)
    result = await _import(scope, "invoices", path, filename="facturas.xlsx")
    assert result.ok, result.errors
    assert result.imported == 2
    x1 = await scope.objects(Invoice).where(Invoice.number == "X-1").first()
    assert x1 is not None and (x1.subtotal, x1.tax) == (150010, 30)
    buffer = io.BytesIO()
    book.save(buffer)  # the same workbook as an upload's bytes: now every number is taken
    again = await _import(scope, "invoices", buffer.getvalue(), filename="up.xlsx")
    assert {e.line for e in again.errors} == {2, 3}


async def test_bad_rows_are_all_named_and_nothing_is_stored(database: str) -> None:
    scope = await _tenant()
    await _import(scope, "invoices", f"{HEADER}\nOLD-1,C1,,2027-12-31,MXN,5,,,\n".encode())
    before = await _counts(scope)
    content = (
        f"{HEADER}\n"
        "G-1,C1,2026-01-01,2026-02-01,MXN,100.00,,,\n"  # good
        "G-2,C1,2026-01-01,2026-02-01,MXN,no-es-numero,,,\n"  # 3: amount
        "G-3,NOPE,2026-01-01,2026-02-01,MXN,1,,,\n"  # 4: unknown customer
        "G-1,C2,2026-01-01,2026-02-01,MXN,1,,,\n"  # 5: repeats line 2
        "OLD-1,C2,2026-01-01,2026-02-01,MXN,1,,,\n"  # 6: already in the database
        "G-6,C2,2026-13-01,2026-02-01,MXN,1,,,\n"  # 7: bad date
        "G-7,C2,2026-03-01,2026-02-01,MXN,1,,,\n"  # 8: due before issue
        "G-8,C2,2026-01-01,2026-02-01,XXX,1,,,\n"  # 9: currency
        "G-9,C2,2026-01-01,2026-02-01,MXN,0,,,\n"  # 10: zero total
        ",C2,2026-01-01,2026-02-01,MXN,1,,,\n"  # 11: no number
        f"G-11,C2,2026-01-01,2026-02-01,MXN,1,,{'x' * 600},\n"  # 12: description too long
    ).encode()
    result = await _import(scope, "invoices", content)
    assert not result.ok and result.imported == 0
    by_line = {e.line: (e.field, e.reason) for e in result.errors}
    assert by_line[3] == ("amount", '"no-es-numero" is not an amount')
    assert by_line[4][0] == "customer" and "NOPE" in by_line[4][1]
    assert by_line[5] == ("number", '"G-1" repeats line 2')
    assert by_line[6] == ("number", '"OLD-1" already exists')
    assert by_line[7][0] == "issue_date"
    assert by_line[8] == ("due_date", "before issue_date")
    assert by_line[9][0] == "currency"
    assert by_line[10][0] == "amount"
    assert by_line[11][0] == "number"
    assert by_line[12] == ("description", "at most 500 characters")
    assert sorted(by_line) == list(range(3, 13))
    assert str(result.errors[0]) == 'line 3: amount: "no-es-numero" is not an amount'
    assert await _counts(scope) == before


async def test_dry_run_reports_and_stores_nothing(database: str) -> None:
    scope = await _tenant()
    before = await _counts(scope)
    content = f"{HEADER}\nD-1,C1,,2027-12-31,MXN,10,,,\nD-2,C1,,2027-12-31,MXN,20,,,\n".encode()
    result = await _import(scope, "invoices", content, dry_run=True)
    assert result.ok and result.rows == 2 and result.imported == 0
    assert result.as_json()["invoices"] == 2 and result.as_json()["dry_run"] is True
    assert await _counts(scope) == before


async def test_customers_import_reuses_customer_validation(database: str) -> None:
    scope = await _tenant()
    content = (
        "Número;Nombre;Correo;Teléfono;RFC;Canal\n"
        "N-1;Nuevo Uno;UNO@Example.com;+52 55 1234 5678;;whatsapp\n"
        "N-2;Nuevo Dos;;;;\n"
    ).encode()
    result = await _import(scope, "customers", content)
    assert result.ok, result.errors
    uno = await scope.objects(Customer).where(Customer.number == "N-1").first()
    assert uno is not None
    assert (uno.email, uno.phone, uno.preferred_channel, uno.tax_country) == (
        "uno@example.com",
        "+525512345678",
        "whatsapp",
        "MX",
    )
    bad = (
        b"number,name,email,tax_id,preferred_channel\n"
        b"N-1,Repetido,,,\n"  # exists
        b"N-3,,,,\n"  # no name
        b"N-4,Cuatro,no-es-correo,,\n"
        b"N-5,Cinco,,NO-ES-RFC,\n"
        b"N-6,Seis,,,paloma\n"
    )
    before = await _counts(scope)
    result = await _import(scope, "customers", bad)
    assert [(e.line, e.field) for e in result.errors] == [
        (2, "number"),
        (3, "name"),
        (4, "email"),
        (5, "tax_id"),
        (6, "preferred_channel"),
    ]
    assert await _counts(scope) == before


async def test_huge_line_and_nul_bytes_are_bad_rows(database: str) -> None:
    scope = await _tenant()
    content = (
        f"{HEADER}\n".encode()
        + b"H-1,C1,,2027-12-31,MXN,1,,"
        + b"y" * 200_000
        + b",\n"
        + b"H-2,C1,,2027-12-31,MXN,1,,a\x00b,\n"
        + b"H-3,C1,,2027-12-31,MXN,1,,,,,,,,,extra\n"
    )
    before = await _counts(scope)
    result = await _import(scope, "invoices", content)
    assert [e.line for e in result.errors] == [2, 3, 4]
    assert "longer than" in result.errors[0].reason
    assert "NUL" in result.errors[1].reason
    assert "values" in result.errors[2].reason
    assert await _counts(scope) == before


async def test_saved_mapping_is_used_and_is_per_tenant(database: str) -> None:
    scope = await _tenant()
    other = await _tenant("otra")
    await save_mapping(scope, "invoices", {"Doc": "number", "Cli": "customer"}, "test")
    await save_mapping(scope, "invoices", {"Doc": "number", "Cli": "customer", "Z": ""}, "test")
    assert await saved_mapping(scope, "invoices") == {"doc": "number", "cli": "customer", "z": ""}
    assert await saved_mapping(other, "invoices") == {}
    content = b"Doc,Cli,due_date,amount\nM-1,C1,2027-12-31,5\n"
    saved = await saved_mapping(scope, "invoices")
    assert (await _import(scope, "invoices", content, saved=saved)).imported == 1
    with pytest.raises(ImportFileError, match="number"):
        await _import(other, "invoices", content, saved=await saved_mapping(other, "invoices"))


async def test_progress_is_reported(database: str) -> None:
    scope = await _tenant()
    rows = "".join(f"P-{i},C1,,2027-12-31,MXN,1,,,\n" for i in range(1200))
    seen: list[tuple[int, int, str]] = []
    result = await _import(
        scope,
        "invoices",
        f"{HEADER}\n{rows}".encode(),
        progress=lambda done, total, phase: seen.append((done, total, phase)),
    )
    assert result.imported == 1200
    assert seen[-1] == (1200, 1200, "importing")
    assert any(phase == "checking" for _, _, phase in seen)
    assert all(done <= total for done, total, _ in seen)


@pytest.mark.slow
async def test_a_large_file_is_streamed(database: str, tmp_path: Path) -> None:
    scope = await _tenant()
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER + "\n")
        for i in range(20_000):
            out.write(f"B-{i},C{1 + i % 2},2026-01-01,2026-02-01,MXN,{i}.50,,Renta {i},\n")
    result = await _import(scope, "invoices", path, filename="big.csv")
    assert result.ok and result.imported == 20_000
    assert await scope.count(Invoice) == 20_000
    assert await scope.count(OutboxJob) == 20_000
    last = await scope.objects(Invoice).where(Invoice.number == "B-19999").first()
    assert last is not None and last.total == 1999950


async def test_files_too_big_to_keep_are_read_again_to_write(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recaudo.core.billing import imports

    monkeypatch.setattr(imports, "KEEP_IN_MEMORY", 10)
    scope = await _tenant()
    rows = "".join(f"R-{i},C2,,2027-12-31,MXN,{i + 1},,,\n" for i in range(25))
    result = await _import(scope, "invoices", f"{HEADER}\n{rows}".encode())
    assert result.ok and result.imported == 25
    assert await scope.count(InvoiceLine) == 25


async def test_customer_may_be_named_by_its_recaudo_id(database: str) -> None:
    scope = await _tenant()
    c2 = await scope.objects(Customer).where(Customer.number == "C2").first()
    assert c2 is not None
    content = (
        f"number,customer_id,due_date,amount\nI-1,{c2.id},2027-12-31,5\nI-2,99999,2027-12-31,5\n"
    )
    result = await _import(scope, "invoices", content.encode())
    assert [(e.line, e.field) for e in result.errors] == [(3, "customer")]
    by_number = await _import(scope, "invoices", content.replace("I-2,99999", "I-2,C1").encode())
    assert [(e.line, e.field) for e in by_number.errors] == [(3, "customer")]  # ids only here
    fixed = content.replace("I-2,99999", f"I-2,{c2.id}").encode()
    assert (await _import(scope, "invoices", fixed)).imported == 2
    invoice = await scope.objects(Invoice).where(Invoice.number == "I-1").first()
    assert invoice is not None and invoice.customer == c2.id


async def test_a_numeric_customer_number_never_matches_an_id(database: str) -> None:
    scope = await _tenant()
    c1 = await scope.objects(Customer).where(Customer.number == "C1").first()
    assert c1 is not None
    content = f"number,customer,due_date,amount\nJ-1,{c1.id},2027-12-31,5\n".encode()
    result = await _import(scope, "invoices", content)
    assert [(e.line, e.field) for e in result.errors] == [(2, "customer")]


async def test_two_imports_of_the_same_numbers_at_once_store_them_once(database: str) -> None:
    import asyncio

    scope = await _tenant()
    rows = "".join(f"K-{i},C1,,2027-12-31,MXN,{i + 1},,,\n" for i in range(300))
    content = f"{HEADER}\n{rows}".encode()
    first, second = await asyncio.gather(
        _import(scope, "invoices", content), _import(scope, "invoices", content)
    )
    assert sorted([first.imported, second.imported]) == [0, 300]
    loser = first if first.imported == 0 else second
    assert loser.errors and loser.errors[0].field == "number"
    assert await scope.count(Invoice) == 300 and await scope.count(OutboxJob) == 300
