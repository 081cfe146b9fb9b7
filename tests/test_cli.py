"""The ``recaudo`` command line, run as a user runs it (a subprocess per command)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def recaudo(tmp: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RECAUDO_DATABASE_URL": f"sqlite:///{tmp}/cli.sqlite3",
        "RECAUDO_VAR_DIR": str(tmp),
        "RECAUDO_BROKER_URL": "embedded",
    }
    return subprocess.run(
        [sys.executable, "-m", "recaudo.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        input=input,
        timeout=120,
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cli")
    assert recaudo(tmp, "migrate").returncode == 0
    first = recaudo(tmp, "demo")
    assert first.returncode == 0, first.stderr
    return tmp


def test_every_command_has_help(tmp_path: Path) -> None:
    for command in (
        ["--help"],
        ["migrate", "--help"],
        ["demo", "--help"],
        ["serve", "--help"],
        ["worker", "--help"],
        ["tenants", "create", "--help"],
        ["tenants", "list", "--help"],
        ["staff", "create", "--help"],
        ["plugins", "list", "--help"],
        ["check", "--help"],
    ):
        out = recaudo(tmp_path, *command)
        assert out.returncode == 0 and "Usage:" in out.stdout, command


def test_demo_is_idempotent_and_lists_two_tenants(seeded: Path) -> None:
    again = recaudo(seeded, "demo")
    assert again.returncode == 0 and "already exists" in again.stdout
    data = json.loads(recaudo(seeded, "tenants", "list", "--json").stdout)
    slugs = {t["slug"]: t for t in data["tenants"]}
    assert set(slugs) == {"ferreteria-norte", "clinica-andina"}
    assert (slugs["ferreteria-norte"]["currency"], slugs["clinica-andina"]["currency"]) == (
        "MXN",
        "COP",
    )


def test_plugins_list_shows_builtins_with_their_source(seeded: Path) -> None:
    data = json.loads(recaudo(seeded, "plugins", "list", "--json").stdout)["plugins"]
    by_name = {p["name"]: p for p in data}
    for name in ("sandbox", "mercadopago", "banktransfer", "email", "branding"):
        assert by_name[name]["source"] == "builtin" and by_name[name]["status"] == "ok"
    assert "payment_methods:sandbox" in by_name["sandbox"]["provides"]


def test_tenant_and_staff_creation_with_clear_errors(seeded: Path) -> None:
    ok = recaudo(
        seeded,
        "tenants",
        "create",
        "pagos-sur",
        "--name",
        "Pagos Sur",
        "--country",
        "CL",
        "--currency",
        "CLP",
        "--locale",
        "es_CL",
        "--timezone",
        "America/Santiago",
    )
    assert ok.returncode == 0, ok.stderr
    dup = recaudo(
        seeded,
        "tenants",
        "create",
        "pagos-sur",
        "--name",
        "X",
        "--country",
        "CL",
        "--currency",
        "CLP",
    )
    assert dup.returncode == 1 and "already taken" in dup.stderr
    bad = recaudo(
        seeded, "tenants", "create", "otro", "--name", "X", "--country", "MX", "--currency", "MXX"
    )
    assert bad.returncode == 1 and "currency" in bad.stderr and "Traceback" not in bad.stderr
    staff = recaudo(
        seeded,
        "staff",
        "create",
        "pagos-sur",
        "ana@pagos-sur.example",
        "--role",
        "owner",
        "--password",
        "una-clave-larga",
    )
    assert staff.returncode == 0, staff.stderr
    short = recaudo(
        seeded, "staff", "create", "pagos-sur", "b@pagos-sur.example", "--password", "corta"
    )
    assert short.returncode == 1 and "password" in short.stderr
    missing = recaudo(
        seeded, "staff", "create", "nadie", "c@x.example", "--password", "una-clave-larga"
    )
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_check_reports_each_part(seeded: Path) -> None:
    out = recaudo(seeded, "check")
    assert out.returncode == 0, out.stdout
    for part in ("config:", "database: ok", "broker:   ok", "plugins:"):
        assert part in out.stdout
