"""The ``recaudo`` command line, run as a user runs it (a subprocess per command)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def recaudo(
    tmp: Path, *args: str, input: str | None = None, **variables: str
) -> subprocess.CompletedProcess[str]:
    """Run a command; development unless ``RECAUDO_ENV=…`` is given, never with SMTP."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("RECAUDO_SMTP_URL", "RECAUDO_ENV")},
        "RECAUDO_DATABASE_URL": f"sqlite:///{tmp}/cli.sqlite3",
        "RECAUDO_VAR_DIR": str(tmp),
        "RECAUDO_BROKER_URL": "embedded",
        "RECAUDO_ENV": "development",
        **variables,
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
        ["tenants", "show", "--help"],
        ["staff", "create", "--help"],
        ["plugins", "list", "--help"],
        ["plugins", "enable", "--help"],
        ["plugins", "disable", "--help"],
        ["tenants", "plugins", "--help"],
        ["tenants", "plugins", "x", "enable", "--help"],
        ["tenants", "plugins", "x", "disable", "--help"],
        ["tenants", "plugins", "x", "set", "--help"],
        ["check", "--help"],
    ):
        out = recaudo(tmp_path, *command)
        assert out.returncode == 0 and "Usage:" in out.stdout, command


def test_demo_is_idempotent_and_lists_two_tenants(seeded: Path) -> None:
    again = recaudo(seeded, "demo", RECAUDO_BASE_URL="http://127.0.0.1:8123")
    assert again.returncode == 0 and "already exists" in again.stdout
    # Each demo tenant's customer login (the ones the README names), even on a second run, and
    # links from RECAUDO_BASE_URL: the port the server really uses, not a built-in 8000.
    assert "maria.lopez@example.com" in again.stdout
    assert "juan.restrepo@example.com" in again.stdout
    assert "http://127.0.0.1:8123/t/clinica-andina/" in again.stdout
    assert ":8000" not in again.stdout
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


def test_check_warns_about_recent_plugin_failures(seeded: Path) -> None:
    record = (
        "import asyncio\n"
        "from recaudo.core import db\n"
        "from recaudo.core.platform import guard\n"
        f"db.configure('sqlite:///{seeded}/cli.sqlite3')\n"
        "guard.report('pager', 'send', ConnectionError('pager down'), None)\n"
        "asyncio.run(guard.flush())\n"
    )
    subprocess.run([sys.executable, "-c", record], check=True, capture_output=True, timeout=60)
    out = recaudo(seeded, "check")
    assert out.returncode == 0, out.stdout  # a warning: the callers fell back and kept working
    assert "plugin failures: WARNING 1 hooks failed" in out.stdout
    assert "pager send (every tenant, 1×" in out.stdout and "pager down" in out.stdout


def _create(
    tmp: Path, slug: str, *extra: str, **variables: str
) -> subprocess.CompletedProcess[str]:
    return recaudo(
        tmp,
        "tenants",
        "create",
        slug,
        "--name",
        "Clínica Sur",
        "--country",
        "CO",
        "--currency",
        "COP",
        "--locale",
        "es_CO",
        "--timezone",
        "America/Bogota",
        *extra,
        **variables,
    )


def _show(tmp: Path, slug: str) -> dict[str, object]:
    out = recaudo(tmp, "tenants", "show", slug, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_a_new_tenant_gets_no_sandbox_and_no_unconfigured_payment_method(seeded: Path) -> None:
    assert _create(seeded, "clinica-sur").returncode == 0
    shown = _show(seeded, "clinica-sur")
    assert shown["slug"] == "clinica-sur" and shown["name"] == "Clínica Sur"
    assert shown["test"] is False
    assert "sandbox" not in shown["plugins"]  # type: ignore[operator]
    assert "banktransfer" not in shown["plugins"]  # type: ignore[operator]  # no bank details
    assert "email" in shown["plugins"]  # type: ignore[operator]


def test_a_test_tenant_gets_the_sandbox(seeded: Path) -> None:
    made = _create(seeded, "clinica-prueba", "--test", RECAUDO_ENV="production")
    assert made.returncode == 0, made.stderr
    shown = _show(seeded, "clinica-prueba")
    assert shown["test"] is True and "sandbox" in shown["plugins"]  # type: ignore[operator]


def test_show_of_an_unknown_tenant_fails_clearly(seeded: Path) -> None:
    out = recaudo(seeded, "tenants", "show", "no-existe", "--json")
    assert out.returncode == 1 and "not found" in out.stderr and "Traceback" not in out.stderr


def test_check_fails_in_production_without_smtp(seeded: Path) -> None:
    out = recaudo(seeded, "check", RECAUDO_ENV="production")
    assert out.returncode == 1
    assert "RECAUDO_SMTP_URL" in out.stdout
    smtp = recaudo(seeded, "check", RECAUDO_ENV="production", RECAUDO_SMTP_URL="smtp://mail:25")
    assert smtp.returncode == 0, smtp.stdout


def test_demo_seeds_nothing_in_production(tmp_path: Path) -> None:
    assert recaudo(tmp_path, "migrate", RECAUDO_ENV="production").returncode == 0
    out = recaudo(tmp_path, "demo", RECAUDO_ENV="production")
    assert out.returncode == 1 and "RECAUDO_ENV=development" in out.stderr
    listed = recaudo(tmp_path, "tenants", "list", "--json", RECAUDO_ENV="production")
    assert json.loads(listed.stdout)["tenants"] == []


def test_serve_warns_when_links_point_at_another_port(tmp_path: Path) -> None:
    from recaudo.cli import _base_url_mismatch

    assert "RECAUDO_BASE_URL" in _base_url_mismatch("http://127.0.0.1:8000", "127.0.0.1", 8100)
    assert _base_url_mismatch("http://127.0.0.1:8100", "127.0.0.1", 8100) == ""
    assert _base_url_mismatch("https://pagos.example.com", "0.0.0.0", 8000) == ""


def test_payment_methods_are_switched_on_explicitly_once_configured(seeded: Path) -> None:
    assert _create(seeded, "clinica-norte").returncode == 0
    bare = recaudo(seeded, "plugins", "enable", "clinica-norte", "banktransfer")
    assert bare.returncode == 1 and "not configured" in bare.stderr and "Banco" in bare.stderr
    sandbox = recaudo(seeded, "plugins", "enable", "clinica-norte", "sandbox")
    assert sandbox.returncode == 1 and "test tenants" in sandbox.stderr
    assert "banktransfer" not in _show(seeded, "clinica-norte")["plugins"]  # type: ignore[operator]
    bank = [
        "--set=bank_name=Bancolombia",
        "--set=account_holder=Clínica Norte SAS",
        "--set=account_number=0012345678901",
    ]
    ok = recaudo(seeded, "plugins", "enable", "clinica-norte", "banktransfer", *bank)
    assert ok.returncode == 0, ok.stderr
    assert "banktransfer" in _show(seeded, "clinica-norte")["plugins"]  # type: ignore[operator]
    off = recaudo(seeded, "plugins", "disable", "clinica-norte", "banktransfer")
    assert off.returncode == 0
    assert "banktransfer" not in _show(seeded, "clinica-norte")["plugins"]  # type: ignore[operator]
