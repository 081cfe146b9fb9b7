"""``recaudo bank import|lines``, run in-process as an operator runs them, on a SQLite file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.test_api_keys import recaudo
from tests.test_reconciliation_service import mt940


def _seed(tmp: Path) -> None:
    """A tenant ``acme`` with one customer and invoice F-77 for 1,234.50 MXN."""
    from recaudo.core import db
    from recaudo.core.billing.customers import NewCustomer, create_customer
    from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
    from recaudo.tenants.resolve import tenant_by_slug
    from recaudo.tenants.scoped import TenantScope

    async def go() -> None:
        db.configure(f"sqlite:///{tmp}/cli.sqlite3")
        tenant = await tenant_by_slug("acme")
        assert tenant is not None
        scope = TenantScope(int(tenant.id))
        customer = await create_customer(scope, NewCustomer("C-1", "Ana Torres"), "MX")
        today = date.today()
        await create_invoice(
            scope,
            NewInvoice(
                customer_id=int(customer.id),
                number="F-77",
                issue_date=today - timedelta(days=20),
                due_date=today - timedelta(days=2),
                currency="MXN",
                lines=(NewLine("Tornillos", 1, 123_450),),
            ),
        )

    asyncio.run(go())


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    assert recaudo(tmp_path, "migrate").returncode == 0
    made = recaudo(
        tmp_path, "tenants", "create", "acme", "--name", "Acme", "--country", "MX",
        "--currency", "MXN",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    _seed(tmp_path)
    return tmp_path


def _one(tmp: Path, sql: str) -> object:
    with sqlite3.connect(tmp / "cli.sqlite3") as conn:
        return conn.execute(sql).fetchone()[0]


def test_import_applies_prints_counts_and_the_same_file_adds_nothing(acme: Path) -> None:
    statement = acme / "extracto.sta"
    statement.write_bytes(mt940((123_450, "PAGO F-77"), (-1_000, "COMISION")))
    out = recaudo(acme, "bank", "import", str(statement), "--tenant", "acme", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["matched"], doc["debits"], doc["applied"]) == (1, 1, 123_450)
    assert doc["format"] == "mt940" and not doc["duplicate_file"]
    assert _one(acme, "SELECT total - amount_applied FROM invoice WHERE number = 'F-77'") == 0

    again = recaudo(acme, "bank", "import", str(statement), "--tenant", "acme")
    assert again.returncode == 0 and "ya se importó" in again.stdout
    assert _one(acme, "SELECT count(*) FROM payment") == 1

    other = acme / "otro.sta"
    other.write_bytes(mt940((5_000, "SIN REFERENCIA"), ref="S9"))
    human = recaudo(acme, "bank", "import", str(other), "--tenant", "acme", "--format", "mt940")
    assert human.returncode == 0, human.stderr
    assert "conciliados: 0" in human.stdout and "sin coincidencia: 1" in human.stdout

    lines = recaudo(acme, "bank", "lines", "--tenant", "acme", "--status", "matched", "--json")
    assert lines.returncode == 0, lines.stderr
    rows = json.loads(lines.stdout)
    assert [(r["amount"], r["status"]) for r in rows] == [(123_450, "matched")]
    listed = recaudo(acme, "bank", "lines", "--tenant", "acme")
    assert "unmatched" in listed.stdout and "debit" in listed.stdout


def test_a_bad_file_exits_1_naming_it_and_stores_nothing(acme: Path) -> None:
    garbage = acme / "basura.sta"
    garbage.write_bytes(bytes(range(256)) * 8)
    out = recaudo(acme, "bank", "import", str(garbage), "--tenant", "acme")
    assert out.returncode == 1
    assert out.stderr.startswith(f"{garbage}: ") and "Traceback" not in out.stderr
    broken = acme / "roto.sta"
    broken.write_bytes(mt940((123_450, "F-77")).replace(b":61:", b":61:XX", 1))
    out = recaudo(acme, "bank", "import", str(broken), "--tenant", "acme", "--json")
    assert out.returncode == 1 and out.stderr.startswith(f"{broken}: ")
    assert _one(acme, "SELECT count(*) FROM bank_statement") == 0
    assert _one(acme, "SELECT count(*) FROM bank_line") == 0

    missing = recaudo(acme, "bank", "import", str(broken), "--tenant", "nadie")
    assert missing.returncode == 2 and "nadie" in missing.stderr
    profile = recaudo(acme, "bank", "import", str(broken), "--tenant", "acme",
                      "--csv-profile", "Banco X")  # fmt: skip
    assert profile.returncode == 1 and "Banco X" in profile.stderr
