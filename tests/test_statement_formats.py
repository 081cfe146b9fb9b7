"""Statement files to parsed lines: MT940, CAMT.053, OFX and CSV, and every bad file refused."""

from __future__ import annotations

from datetime import date

import pytest

from recaudo.core.reconciliation.formats import (
    StatementError,
    detect_format,
    parse_statement,
)

ACCEPTANCE_MT940 = (
    ":20:RCDMT2612011200\r\n"
    ":25:012580001234567897\r\n"
    ":28C:00001/001\r\n"
    ":60F:C261201MXN100000,00\r\n"
    ":61:2612011201C1234,50NTRFNONREF//RCDMT2612011200\r\n"
    ":86:PAGO FACTURA FN-0001\r\n"
    ":62F:C261201MXN101234,50\r\n"
).encode()


def test_the_acceptance_mt940_is_one_credit_paying_an_invoice_by_number() -> None:
    parsed = parse_statement(ACCEPTANCE_MT940, filename="extracto.mt940")
    assert (parsed.format, parsed.account, parsed.currency) == ("mt940", "012580001234567897", "MXN")
    assert (parsed.opening_balance, parsed.closing_balance) == (10_000_000, 10_123_450)
    [line] = parsed.lines
    assert (line.amount, line.currency, line.booked_on) == (123_450, "MXN", date(2026, 12, 1))
    assert line.description == "PAGO FACTURA FN-0001"
    assert detect_format(ACCEPTANCE_MT940) == "mt940"


def test_random_bytes_are_refused_with_a_message() -> None:
    with pytest.raises(StatementError, match="formato"):
        parse_statement(bytes(range(256)) * 4)
