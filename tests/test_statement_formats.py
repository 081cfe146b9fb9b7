"""Statement files to parsed lines: MT940, CAMT.053, OFX and CSV, and every bad file refused.

What staff and the matching engine rely on: amounts in exact minor units with the right sign,
the date the bank booked, the remittance text where invoice numbers are searched, keys that are
the same every time the same file is read and unique within it, and for any bad file one clear
Spanish error naming the line, row or element (never a traceback, never half a file).
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recaudo.core.reconciliation.formats import (
    FORMATS,
    MAX_STATEMENT_BYTES,
    CsvProfile,
    ParsedStatement,
    StatementError,
    detect_format,
    guess_csv_profile,
    parse_statement,
)
from recaudo.core.reconciliation.formats.csv_statement import csv_amount

FIXTURES = Path(__file__).parent / "fixtures" / "statements"
CAMT02 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"

ACCEPTANCE_MT940 = (
    b":20:RCDMT2612011200\r\n"
    b":25:012580001234567897\r\n"
    b":28C:00001/001\r\n"
    b":60F:C261201MXN100000,00\r\n"
    b":61:2612011201C1234,50NTRFNONREF//RCDMT2612011200\r\n"
    b":86:PAGO FACTURA FN-0001\r\n"
    b":62F:C261201MXN101234,50\r\n"
)

BBVA = CsvProfile(
    name="BBVA México",
    skip_rows=3,
    date_column="fecha de operacion",  # the file says "Fecha de Operación"
    credit_column="Abono",
    debit_column="CARGO",
    reference_column="Referencia",
    description_column="Concepto",
    currency="MXN",
)
BANCOLOMBIA = CsvProfile(
    name="Bancolombia",
    delimiter=";",
    encoding="cp1252",
    date_column="Fecha",
    date_format="%Y/%m/%d",
    amount_column="Valor",
    decimal_separator=",",
    thousands_separator=".",
    reference_column="Dcto.",
    description_column="Descripción",
    currency="COP",
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def keys(parsed: ParsedStatement) -> list[str]:
    return [line.key for line in parsed.lines]


def mt940(*lines: str) -> bytes:
    return "\r\n".join(lines).encode() + b"\r\n"


def camt(entries: str, version: str = "02") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"><BkToCstmrStmt><Stmt>
<Id>S1</Id><Acct><Id><IBAN>MX00TEST</IBAN></Id><Ccy>MXN</Ccy></Acct>{entries}
</Stmt></BkToCstmrStmt></Document>""".encode()


def entry(
    amount: str = "10.00", *, ind: str = "CRDT", day: str = "2026-12-01", extra: str = ""
) -> str:
    return (
        f'<Ntry><Amt Ccy="MXN">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Sts>BOOK</Sts>'
        f"<BookgDt><Dt>{day}</Dt></BookgDt>{extra}</Ntry>"
    )


def refused(data: bytes, **kwargs: object) -> str:
    with pytest.raises(StatementError) as caught:
        parse_statement(data, **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


# --- MT940 -------------------------------------------------------------------------------------


def test_the_acceptance_mt940_is_one_credit_paying_an_invoice_by_number() -> None:
    parsed = parse_statement(ACCEPTANCE_MT940, filename="extracto.mt940")
    assert (parsed.format, parsed.account, parsed.currency) == (
        "mt940",
        "012580001234567897",
        "MXN",
    )
    assert (parsed.statement_id, parsed.opening_balance, parsed.closing_balance) == (
        "RCDMT2612011200",
        10_000_000,
        10_123_450,
    )
    [line] = parsed.lines
    assert (line.amount, line.currency, line.booked_on) == (123_450, "MXN", date(2026, 12, 1))
    assert line.description == "PAGO FACTURA FN-0001"
    assert line.reference == ""  # NONREF is no reference
    assert line.line_no == 5


def test_a_mexican_bank_file_with_envelopes_and_two_statements_reads_every_movement() -> None:
    parsed = parse_statement(fixture("banorte_mx.sta"))
    assert parsed.account == "072180001234567890"
    assert parsed.statement_id == "BNX2612010001,BNX2612020001"
    # the first statement's opening, the last one's closing
    assert (parsed.opening_balance, parsed.closing_balance) == (25_000_000, 27_490_000)
    amounts = [line.amount for line in parsed.lines]
    assert amounts == [1_500_000, 250_000, -120_000, 50_000, 50_000, 870_000, -10_000]
    assert [line.booked_on.day for line in parsed.lines] == [1, 1, 1, 1, 1, 2, 2]
    spei = parsed.lines[0]
    # :86: wrapped at 65 characters mid-word is read back as the bank wrote it
    assert "FERRETERIA EL CLAVO SA DE CV" in spei.description
    assert "PAGO FACTURA FN-0001" in spei.description
    assert (spei.reference, spei.payer_name, spei.payer_account) == (
        "1000016",
        "FERRETERIA EL CLAVO SA DE CV",
        "002180001234567891",
    )
    assert parsed.lines[1].reference == "4410203"  # the :61: customer reference
    coded = parsed.lines[5]
    assert (coded.payer_name, coded.reference) == ("COMERCIAL DEL NORTE SA", "REF-7781")
    assert "FN-0004 Y FN-0005" in coded.description


def test_two_identical_movements_are_two_lines_and_the_same_file_gives_the_same_keys() -> None:
    first = parse_statement(fixture("banorte_mx.sta"))
    twins = [line for line in first.lines if line.description == "PAGO FN-0003"]
    assert len(twins) == 2 and twins[0].key != twins[1].key
    assert len(set(keys(first))) == len(first.lines)
    assert all(len(key) <= 100 for key in keys(first))
    assert keys(parse_statement(fixture("banorte_mx.sta"))) == keys(first)


def test_lf_and_crlf_files_read_the_same() -> None:
    crlf = parse_statement(fixture("banorte_mx.sta"))
    lf = parse_statement(fixture("banorte_mx.sta").replace(b"\r\n", b"\n"))
    assert lf.lines == crlf.lines


def test_a_statement_line_without_a_type_code_is_not_merged_into_the_previous_one() -> None:
    parsed = parse_statement(
        mt940(
            ":20:X",
            ":25:1",
            ":60F:C261201MXN0,00",
            ":61:2612011201C10,00",
            ":86:UNO",
            ":61:2612011201C20,00",
            ":86:DOS",
            ":62F:C261201MXN30,00",
        )
    )
    assert [(line.amount, line.description) for line in parsed.lines] == [
        (1000, "UNO"),
        (2000, "DOS"),
    ]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            (":61:2612011201C1234,505NTRFNONREF",),
            "línea 4: el importe 1234.505 tiene más decimales",
        ),
        ((":61:2602301201C10,00NTRFNONREF",), "línea 4: fecha no válida en :61:"),
        ((":61:2613011201C10,00NTRFNONREF",), "línea 4: fecha no válida"),
        ((":61:2612011201X10,00NTRFNONREF",), "línea 4: el campo :61: no tiene el formato"),
        ((":61:2612011201C1,2,3NTRFNONREF",), "línea 4: el campo :61: no es válido"),
    ],
)
def test_a_bad_mt940_line_is_named_and_nothing_is_returned(
    lines: tuple[str, ...], expected: str
) -> None:
    data = mt940(":20:X", ":25:1", ":60F:C261201MXN1,00", *lines, ":62F:C261201MXN1,00")
    assert refused(data).startswith(expected)


def test_mt940_unknown_currency_and_missing_opening_balance_are_refused() -> None:
    unknown = mt940(":20:X", ":25:1", ":60F:C261201XXX1,00", ":62F:C261201XXX1,00")
    assert refused(unknown).startswith("línea 3: moneda «XXX» desconocida")
    no_opening = mt940(":20:X", ":25:1", ":61:2612011201C10,00NTRF", ":62F:C261201MXN1,00")
    assert "antes del saldo inicial" in refused(no_opening)
    assert "texto antes del primer campo :20:" in refused(b"HOLA\n:20:X\n:25:1\n")


# --- CAMT.053 ----------------------------------------------------------------------------------


def test_camt053_v02_batch_entries_become_one_line_per_transaction() -> None:
    parsed = parse_statement(fixture("camt053_v02_batch.xml"), filename="extracto.xml")
    assert (parsed.format, parsed.account, parsed.currency) == (
        "camt053",
        "CO12BANC0000001234567890",
        "COP",
    )
    assert (parsed.statement_id, parsed.opening_balance, parsed.closing_balance) == (
        "STMT-20261201",
        500_000_000,
        613_450_000,
    )
    # the pending (PDNG) entry is not money yet
    assert [line.amount for line in parsed.lines] == [
        85_000_000,
        12_000_000,
        18_000_000,
        -1_550_000,
    ]
    single, batch_a, batch_b, fee = parsed.lines
    assert single.booked_on == date(2026, 12, 1)  # from BookgDt/DtTm
    assert single.description == "Pago factura FC-0100"  # every Ustrd, joined
    assert (single.reference, single.payer_name, single.payer_account) == (
        "E2E-PSE-99",
        "Distribuidora Andina S.A.S.",
        "0011223344",
    )
    assert single.key == "CO12BANC0000001234567890:ASR-0001"
    assert (batch_a.reference, batch_a.payer_name) == ("3001234", "Tienda La Esquina")
    assert (batch_b.description, batch_b.payer_name) == ("FC-0101", "Café Montaña")
    assert batch_a.key == "CO12BANC0000001234567890:ASR-0002-A"  # its own AcctSvcrRef
    assert batch_b.key != batch_a.key
    assert batch_a.line_no == batch_b.line_no == 2
    assert fee.description == "GMF 4X1000"


def test_camt053_v08_reads_status_codes_and_party_names() -> None:
    parsed = parse_statement(fixture("camt053_v08_batch.xml"))
    assert parsed.opening_balance == -100_000  # PRCD, a debit balance
    assert parsed.closing_balance is None
    # the zero entry is dropped and the INFO entry is not booked
    assert [line.amount for line in parsed.lines] == [300_000, 200_000]
    first = parsed.lines[0]
    assert (first.payer_name, first.payer_account, first.reference) == (
        "Muñoz y Asociados SC",
        "002180001234567891",
        "RASTREO123",
    )
    assert len(set(keys(parsed))) == 2


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (entry("10.005"), "Ntry 1/Amt: el importe 10.005 tiene más decimales"),
        (entry("1e3"), "Ntry 1/Amt: importe «1e3» no válido"),
        (entry(day="2026-02-30"), "Ntry 1/BookgDt: fecha «2026-02-30» no válida"),
        (entry(ind="CREDIT"), "Ntry 1/CdtDbtInd: CdtDbtInd debe ser CRDT o DBIT"),
        (entry() + entry().replace("MXN", "XYZ"), "Ntry 2/Amt/@Ccy: moneda «XYZ»"),
        (entry().replace("<Sts>BOOK</Sts>", ""), "Ntry 1/Sts: falta el estado"),
        (
            entry(
                "10.00",
                extra="<NtryDtls>"
                + "<TxDtls><AmtDtls><TxAmt><Amt Ccy='MXN'>4.00</Amt></TxAmt></AmtDtls></TxDtls>" * 2
                + "</NtryDtls>",
            ),
            "Ntry 1: la suma de las transacciones",
        ),
    ],
)
def test_a_bad_camt_entry_is_named_by_its_element(entries: str, expected: str) -> None:
    assert refused(camt(entries)).startswith(expected)


def test_other_camt_messages_and_versions_are_named() -> None:
    camt052 = b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.02"/>'
    assert refused(camt052) == "es un camt.052, no un extracto camt.053"
    assert "versión de CAMT.053 no admitida" in refused(camt(entry(), version="11"))
    assert "XML mal formado" in refused(camt(entry()).replace(b"</Ntry>", b""), fmt="camt053")


@pytest.mark.parametrize(
    "data",
    [
        # billion laughs
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]><Document xmlns="'
        + CAMT02.encode()
        + b'">&c;</Document>',
        # external entity
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<Document xmlns="' + CAMT02.encode() + b'"><BkToCstmrStmt>&x;</BkToCstmrStmt></Document>',
        # the same, hidden from a byte search by UTF-16
        (
            '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY x "y">]>'
            f'<Document xmlns="{CAMT02}"/>'
        ).encode("utf-16"),
    ],
)
def test_xml_with_a_doctype_is_refused_before_any_entity_is_expanded(data: bytes) -> None:
    assert "DOCTYPE" in refused(data, fmt="camt053")


def test_deeply_nested_xml_is_refused() -> None:
    deep = b"<a>" * 50_000 + b"</a>" * 50_000
    data = b'<Document xmlns="' + CAMT02.encode() + b'">' + deep + b"</Document>"
    assert "XML mal formado" in refused(data)


# --- OFX ---------------------------------------------------------------------------------------


def test_ofx_1_sgml_keys_lines_by_fitid_and_keeps_the_local_posting_day() -> None:
    parsed = parse_statement(fixture("bank_mx_v1.ofx"))
    assert (parsed.format, parsed.account, parsed.currency) == ("ofx", "0123456789", "MXN")
    assert parsed.closing_balance == 1_163_550
    assert [line.amount for line in parsed.lines] == [123_450, -9_900, 50_000]
    paid = parsed.lines[0]
    assert paid.key == "0123456789:202612010001"
    assert paid.booked_on == date(2026, 12, 1)  # 23:30 in Mexico City, not the next day in UTC
    assert (paid.payer_name, paid.description, paid.reference) == (
        "FERRETERIA EL CLAVO",
        "PAGO FACTURA FN-0001",
        "1000016",
    )
    assert parsed.lines[2].reference == "4512"  # CHECKNUM when there is no REFNUM


def test_ofx_2_xml_reads_the_same_way_and_drops_zero_amounts() -> None:
    parsed = parse_statement(fixture("bank_co_v2.ofx"))
    assert (parsed.account, parsed.currency, parsed.closing_balance) == (
        "12345678901",
        "COP",
        585_000_000,
    )
    [line] = parsed.lines
    assert (line.key, line.amount, line.description) == (
        "12345678901:CO-0001",
        85_000_000,
        "PAGO FC-0100",
    )


def test_a_broken_ofx_file_is_refused_with_a_message() -> None:
    assert refused(b"OFXHEADER:100\nDATA:OFXSGML\n\n<OFX><FOO>").startswith(
        "el archivo OFX no es válido"
    )
    bad_date = fixture("bank_co_v2.ofx").replace(b"20261201100000", b"20261301100000")
    assert (
        refused(bad_date) == "STMTTRN 1/DTPOSTED: DTPOSTED «20261301100000» no es una fecha válida"
    )
    too_precise = fixture("bank_co_v2.ofx").replace(b"850000.00", b"850000.001")
    assert "más decimales de los que admite COP" in refused(too_precise)


# --- CSV ---------------------------------------------------------------------------------------


def test_a_bbva_like_csv_with_cargo_and_abono_columns() -> None:
    parsed = parse_statement(fixture("bbva_mx.csv"), csv_profile=BBVA)
    assert (parsed.format, parsed.currency) == ("csv", "MXN")
    assert [line.amount for line in parsed.lines] == [123_450, -696, 1_500_000, 50_000, 50_000]
    first = parsed.lines[0]
    assert (first.booked_on, first.reference, first.line_no) == (date(2026, 12, 1), "1000016", 5)
    assert first.description == "SPEI RECIBIDO FERRETERIA EL CLAVO, PAGO FN-0001"
    assert len(set(keys(parsed))) == 5  # the two identical payments stay two lines


def test_a_bancolombia_like_csv_with_semicolons_and_decimal_commas() -> None:
    parsed = parse_statement(fixture("bancolombia_co.csv"), csv_profile=BANCOLOMBIA)
    assert [line.amount for line in parsed.lines] == [85_000_000, -1_550_000, 18_000_000, -72_000]
    assert parsed.lines[2].description == "TRANSFERENCIA DE CAFÉ MONTAÑA FC-0101"  # cp1252 read
    assert parsed.lines[0].reference == "7788"


def test_guessed_profiles_map_the_usual_spanish_headers() -> None:
    bbva = guess_csv_profile(fixture("bbva_mx.csv"))
    assert bbva is not None
    assert (bbva.skip_rows, bbva.delimiter, bbva.date_format) == (3, ",", "%d/%m/%Y")
    assert (bbva.credit_column, bbva.debit_column, bbva.amount_column) == ("Abono", "Cargo", "")
    assert (bbva.reference_column, bbva.description_column) == ("Referencia", "Concepto")
    co = guess_csv_profile(fixture("bancolombia_co.csv"))
    assert co is not None
    assert (co.delimiter, co.encoding, co.date_format) == (";", "cp1252", "%Y/%m/%d")
    assert (co.amount_column, co.decimal_separator, co.thousands_separator) == ("VALOR", ",", ".")
    parsed = parse_statement(fixture("bancolombia_co.csv"), csv_profile=co, default_currency="COP")
    assert parsed.lines[0].amount == 85_000_000
    assert guess_csv_profile(b"nombre,edad\nAna,3\n") is None
    assert guess_csv_profile(bytes(range(256))) is None


@pytest.mark.parametrize(
    ("text", "mx", "co"),
    [
        ("1,234.50", "1234.50", None),
        ("1.234,50", None, "1234.50"),
        ("(500.00)", "-500.00", None),
        ("500.00-", "-500.00", None),
        ("$ 1,234.50", "1234.50", None),
        ("-1.234.567,89", None, "-1234567.89"),
        ("1,5", None, "1.5"),
        ("12,34,56", None, None),
        ("1.2.3", None, None),
        ("abc", None, None),
        ("", None, None),
    ],
)
def test_csv_amounts_follow_the_profile_separators(
    text: str, mx: str | None, co: str | None
) -> None:
    assert csv_amount(text, BBVA) == mx
    assert csv_amount(text, BANCOLOMBIA) == co


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            b"fecha,monto\n01/12/2026,1\n31/02/2026,5\n",
            "fila 3, columna «fecha»: fecha «31/02/2026»",
        ),
        (b'fecha,monto\n01/12/2026,"1,5"\n', "fila 2, columna «monto»: importe «1,5» no válido"),
        (b"fecha,monto\n01/12/2026,1.505\n", "fila 2, columna «monto»: el importe 1.505 tiene más"),
        (b"fecha,monto\n01/12/2026,\n", "fila 2, columna «monto»: falta el importe"),
        (b"fecha,importe\n01/12/2026,1\n", "fila 1: no se encontró la columna «Monto»"),
        (
            b"fecha,monto\n01/12/2026,1\n02/12/2026,\xff\n",
            "fila 3: el archivo no está en la codificación",
        ),
        (b"fecha,monto\n", "el archivo no tiene movimientos"),
    ],
)
def test_a_bad_csv_row_is_named_with_its_column(data: bytes, expected: str) -> None:
    profile = CsvProfile(name="simple", amount_column="Monto", currency="MXN")
    assert refused(data, fmt="csv", csv_profile=profile).startswith(expected)


def test_csv_rows_with_both_cargo_and_abono_and_csv_without_profile_are_refused() -> None:
    data = fixture("bbva_mx.csv").replace(
        b"02/12/2026,COMISION SPEI,,6.96,,", b"02/12/2026,X,,6.96,1.00,"
    )
    assert refused(data, csv_profile=BBVA) == "fila 6: la fila tiene abono y cargo a la vez"
    assert "perfil de columnas" in refused(fixture("bbva_mx.csv"))
    no_currency = CsvProfile(name="sin moneda", amount_column="Monto")
    assert "falta la moneda" in refused(b"fecha,monto\n01/12/2026,1\n", csv_profile=no_currency)
    parsed = parse_statement(
        b"fecha,monto\n01/12/2026,1\n", csv_profile=no_currency, default_currency="COP"
    )
    assert (parsed.currency, parsed.lines[0].amount) == ("COP", 100)


def test_csv_id_column_keys_lines_by_the_bank_id_within_the_profile() -> None:
    profile = CsvProfile(name="Banco X", amount_column="monto", id_column="folio", currency="MXN")
    parsed = parse_statement(
        b"fecha,monto,folio\n01/12/2026,1,A1\n01/12/2026,1,A2\n", csv_profile=profile
    )
    assert keys(parsed) == ["csv:Banco X:A1", "csv:Banco X:A2"]


def test_csv_profile_checks_round_trips_and_refuses_bad_mappings() -> None:
    assert BBVA.errors() == [] and BANCOLOMBIA.errors() == []
    assert CsvProfile.from_dict(BANCOLOMBIA.to_dict()) == BANCOLOMBIA
    assert CsvProfile.from_dict({**BBVA.to_dict(), "skip_rows": "3", "unknown": 1}) == BBVA
    problems = CsvProfile(
        name="",
        delimiter=";;",
        encoding="klingon",
        date_format="%Y",
        amount_column="monto",
        credit_column="abono",
        decimal_separator=",",
        thousands_separator=",",
        currency="XXX",
    ).errors()
    assert len(problems) == 7
    with pytest.raises(StatementError, match="separador decimal"):
        CsvProfile.from_dict({"name": "x", "amount_column": "monto", "decimal_separator": "x"})
    with pytest.raises(StatementError, match="filas a omitir"):
        CsvProfile.from_dict({"name": "x", "amount_column": "monto", "skip_rows": "tres"})
    assert (
        CsvProfile.from_dict({"name": "t", "amount_column": "m", "delimiter": "tab"}).delimiter
        == "\t"
    )


# --- any file ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("banorte_mx.sta", "mt940"),
        ("camt053_v02_batch.xml", "camt053"),
        ("camt053_v08_batch.xml", "camt053"),
        ("bank_mx_v1.ofx", "ofx"),
        ("bank_co_v2.ofx", "ofx"),
        ("bbva_mx.csv", "csv"),
        ("bancolombia_co.csv", "csv"),
    ],
)
def test_formats_are_detected_by_content_whatever_the_file_is_called(
    name: str, expected: str
) -> None:
    assert detect_format(fixture(name)) == expected
    assert detect_format(fixture(name), filename="descarga.txt") == expected


def test_what_is_no_statement_is_not_detected() -> None:
    assert detect_format(b"") is None
    assert detect_format(bytes(range(256)) * 8) is None
    assert detect_format(b"<html><body>hola</body></html>") is None
    assert detect_format(b"%PDF-1.7\n\x00\x01") is None


@pytest.mark.parametrize(
    ("data", "kwargs", "expected"),
    [
        (b"", {}, "el archivo está vacío"),
        (b" \r\n\t", {}, "el archivo está vacío"),
        (bytes(range(256)) * 16, {}, "no se reconoce el formato"),
        (ACCEPTANCE_MT940, {"fmt": "pdf"}, "formato «pdf» desconocido"),
        (
            bytes(range(256)),
            {"fmt": "mt940"},
            "línea 1: el archivo contiene bytes que no son texto",
        ),
        (bytes(range(256)), {"fmt": "ofx"}, "el archivo OFX no es válido"),
        (bytes(range(256)), {"fmt": "camt053"}, "XML mal formado"),
    ],
)
def test_files_that_are_no_statement_are_refused_clearly(
    data: bytes, kwargs: dict[str, str], expected: str
) -> None:
    assert expected in refused(data, **kwargs)


def test_files_over_the_size_limit_are_refused_before_reading() -> None:
    big = ACCEPTANCE_MT940 + b" " * MAX_STATEMENT_BYTES
    assert "pesa más de 20 MB" in refused(big)


def test_long_bank_ids_still_give_keys_of_at_most_100_characters() -> None:
    long_ref = "R" * 140
    parsed = parse_statement(camt(entry(extra=f"<AcctSvcrRef>{long_ref}</AcctSvcrRef>") * 2))
    assert all(len(key) <= 100 for key in keys(parsed))
    assert len(set(keys(parsed))) == 2  # the same id twice in one file still gives two keys


FIXTURE_FORMATS = {
    "banorte_mx.sta": "mt940",
    "camt053_v02_batch.xml": "camt053",
    "camt053_v08_batch.xml": "camt053",
    "bank_mx_v1.ofx": "ofx",
    "bank_co_v2.ofx": "ofx",
    "bbva_mx.csv": "csv",
    "bancolombia_co.csv": "csv",
}


def _only_statement_errors(data: bytes, fmt: str | None, caplog: pytest.LogCaptureFixture) -> None:
    """Either a full statement or a StatementError raised by a check, not by the safety net
    that turns an unexpected parser exception into one (that one logs a warning)."""
    caplog.clear()
    profile = BBVA if fmt == "csv" else None
    try:
        parsed = parse_statement(data, fmt=fmt, csv_profile=profile, default_currency="MXN")
    except StatementError as exc:
        assert str(exc)
    else:
        assert all(line.amount != 0 and len(line.key) <= 100 for line in parsed.lines)
        assert len({line.key for line in parsed.lines}) == len(parsed.lines)
    assert not [
        r for r in caplog.records if r.levelno >= logging.WARNING and "parser failed" in r.message
    ]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=2048), fmt=st.sampled_from([None, *FORMATS]))
def test_arbitrary_bytes_raise_only_statement_errors(
    data: bytes, fmt: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    _only_statement_errors(data, fmt, caplog)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(sorted(FIXTURE_FORMATS)),
    edits=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=1),
            st.integers(min_value=0, max_value=20),
            st.sampled_from(
                [
                    b"",
                    b":61:",
                    b"<",
                    b">",
                    b"\n",
                    b",",
                    b";",
                    b'"',
                    b"-",
                    b"9",
                    b"\xff",
                    b"</Ntry>",
                    b"<TxDtls>",
                    b"&amp;",
                    b"<STMTTRN>",
                ]
            ),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_damaged_real_files_raise_only_statement_errors(
    name: str, edits: list[tuple[float, int, bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    data = bytearray(fixture(name))
    for where, cut, insert in edits:
        at = int(where * len(data))
        data[at : at + cut] = insert
    _only_statement_errors(bytes(data), FIXTURE_FORMATS[name], caplog)


def test_csv_rows_are_numbered_by_the_line_they_start_on() -> None:
    profile = CsvProfile(
        name="simple", amount_column="monto", description_column="concepto", currency="MXN"
    )
    data = b'fecha,concepto,monto\n01/12/2026,"dos\nlineas",1\n\n02/12/2026,x,1.001\n'
    assert refused(data, csv_profile=profile).startswith("fila 5, columna «monto»")
    parsed = parse_statement(data.replace(b"1.001", b"2"), csv_profile=profile)
    assert [(line.line_no, line.description) for line in parsed.lines] == [
        (2, "dos lineas"),
        (5, "x"),
    ]


def test_an_ofx_transaction_out_of_place_fails_the_file_instead_of_vanishing() -> None:
    damaged = (
        fixture("bank_mx_v1.ofx")
        .replace(b"<STMTTRN><TRNTYPE>DEBIT", b"<TRNTYPE>DEBIT")
        .replace(b"COMISION SPEI</STMTTRN>", b"COMISION SPEI")
    )
    assert "fuera de un movimiento <STMTTRN>" in refused(damaged)
