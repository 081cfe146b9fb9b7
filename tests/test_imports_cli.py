"""``recaudo import``, run as a user runs it (a subprocess), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.imports import saved_mapping
from recaudo.core.tables import Customer, Invoice, InvoiceLine, OutboxJob
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant

pytestmark = pytest.mark.slow  # a process per command, a few seconds each


def recaudo(database: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("RECAUDO_SMTP_URL", "RECAUDO_ENV")},
        "RECAUDO_DATABASE_URL": database,
        "RECAUDO_VAR_DIR": str(tmp),
        "RECAUDO_BROKER_URL": "embedded",
        "RECAUDO_ENV": "development",
    }
    return subprocess.run(
        [sys.executable, "-m", "recaudo.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _tenant() -> TenantScope:
    tenant = await make_tenant("ferre")
    scope = TenantScope(int(tenant.id))
    await create_customer(scope, NewCustomer("C-1", "Ana"), "MX")
    return scope


async def _counts(scope: TenantScope) -> tuple[int, ...]:
    return tuple(
        [await scope.count(t) for t in (Customer, Invoice, InvoiceLine, OutboxJob)]  # type: ignore[type-var]
    )


def test_help_lists_the_invoice_columns(tmp_path: Path) -> None:
    out = recaudo(f"sqlite:///{tmp_path}/x.sqlite3", tmp_path, "import", "--help")
    assert out.returncode == 0
    assert (
        "Columns: number, customer, issue_date, due_date, currency, amount, tax, description, "
        "external_id" in out.stdout
    )


async def test_bad_rows_exit_1_naming_each_line_and_store_nothing(
    database: str, tmp_path: Path
) -> None:
    scope = await _tenant()
    path = tmp_path / "facturas.csv"
    path.write_text(
        "folio;cliente;vencimiento;importe\n"
        "F-1;C-1;2027-01-31;1500.00\n"
        "F-2;C-1;2027-01-31;no-es-numero\n"
        "F-3;NADIE;2027-01-31;5\n",
        encoding="utf-8",
    )
    before = await _counts(scope)
    for extra in ((), ("--dry-run",)):
        out = recaudo(
            database, tmp_path, "import", "invoices", str(path), "--tenant", "ferre", *extra
        )
        assert out.returncode == 1, out.stderr
        assert 'line 3: amount: "no-es-numero" is not an amount' in out.stderr
        assert 'line 4: customer: "NADIE" is not a customer number' in out.stderr
        assert "line 2" not in out.stderr and "Traceback" not in out.stderr
    out = recaudo(
        database, tmp_path, "import", "invoices", str(path), "--tenant", "ferre", "--json"
    )
    assert out.returncode == 1
    data = json.loads(out.stdout)
    assert data["imported"] == 0 and data["dry_run"] is False
    assert [(e["line"], e["field"]) for e in data["errors"]] == [(3, "amount"), (4, "customer")]
    assert await _counts(scope) == before


async def test_good_file_exits_0_with_counts_and_saves_the_mapping(
    database: str, tmp_path: Path
) -> None:
    scope = await _tenant()
    path = tmp_path / "f.csv"
    path.write_text("Doc,Cli,Vence,Valor\nG-1,C-1,2027-01-31,10\nG-2,C-1,2027-01-31,20\n")
    args = ["import", "invoices", str(path), "--tenant", "ferre", "--json"]
    mapping = ["--map", "Doc=number", "--map", "Cli=customer", "--map", "Vence=due_date"]
    dry = recaudo(database, tmp_path, *args, *mapping, "--dry-run", "--save-mapping")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout) == {
        **json.loads(dry.stdout),
        "imported": 0,
        "invoices": 2,
        "dry_run": True,
        "errors": [],
    }
    assert await scope.count(Invoice) == 0
    assert await saved_mapping(scope, "invoices") == {
        "doc": "number",
        "cli": "customer",
        "vence": "due_date",
        "valor": "amount",
    }
    done = recaudo(database, tmp_path, *args)  # the saved mapping does the rest
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["imported"] == 2
    assert await scope.count(Invoice) == 2 and await scope.count(OutboxJob) == 2


async def test_missing_file_and_unknown_tenant_fail_clearly(database: str, tmp_path: Path) -> None:
    await _tenant()
    out = recaudo(database, tmp_path, "import", "customers", "nada.csv", "--tenant", "ferre")
    assert out.returncode == 1 and "not found" in out.stderr and "Traceback" not in out.stderr
    good = tmp_path / "c.csv"
    good.write_text("number,name\nN-1,Nuevo\n")
    out = recaudo(database, tmp_path, "import", "customers", str(good), "--tenant", "nadie")
    assert out.returncode == 1 and "tenant 'nadie' not found" in out.stderr
    garbage = tmp_path / "basura.csv"
    garbage.write_bytes(bytes(range(256)) * 40)
    out = recaudo(database, tmp_path, "import", "customers", str(garbage), "--tenant", "ferre")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    out = recaudo(database, tmp_path, "import", "customers", str(good), "--tenant", "ferre")
    assert out.returncode == 0 and "imported 1 customer" in out.stdout


def test_the_progress_bar_draws_on_a_terminal_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from recaudo.cli import _ImportBar

    quiet = _ImportBar()
    quiet(5, 10, "checking")
    quiet.close()
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    bar = _ImportBar()
    for done in (0, 500, 1000):
        bar(done, 1000, "checking")
    for done in (0, 1000):
        bar(done, 1000, "importing")
    bar.close()
    err = capsys.readouterr().err
    assert "checking" in err and "importing" in err
