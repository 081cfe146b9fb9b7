"""``recaudo tenants plugins SLUG``: list, switch and configure a tenant's plugins from the shell.

Settings are checked against the schema the plugin declares (exit 2, nothing changed); secrets are
never taken as arguments nor printed, and are stored encrypted.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli import recaudo

pytestmark = pytest.mark.slow
SLUG = "ferreteria-norte"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("tenant-plugins")
    assert recaudo(tmp, "migrate").returncode == 0
    seeded = recaudo(tmp, "demo")
    assert seeded.returncode == 0, seeded.stderr
    return tmp


def _plugins(tmp: Path) -> dict[str, Any]:
    out = recaudo(tmp, "tenants", "plugins", SLUG, "--json")
    assert out.returncode == 0, out.stderr
    return {p["name"]: p for p in json.loads(out.stdout)["plugins"]}


def _line(tmp: Path, name: str) -> str:
    out = recaudo(tmp, "tenants", "plugins", SLUG)
    assert out.returncode == 0, out.stderr
    return next(line for line in out.stdout.splitlines() if line.startswith(name + " "))


def _snapshot(tmp: Path) -> list[tuple[Any, ...]]:
    """Every tenant's plugin switches and settings, as stored."""
    with sqlite3.connect(tmp / "cli.sqlite3") as conn:
        rows = conn.execute("SELECT tenant, plugin, enabled, settings FROM plugin_setting")
        return sorted(rows.fetchall())


def _stored(tmp: Path, plugin: str) -> str:
    with sqlite3.connect(tmp / "cli.sqlite3") as conn:
        row = conn.execute("SELECT settings FROM plugin_setting WHERE plugin = ?", (plugin,))
        found = row.fetchone()
    return str(found[0]) if found else ""


def test_listing_shows_each_plugin_on_or_off_and_what_it_misses(demo: Path) -> None:
    plugins = _plugins(demo)
    assert {"sandbox", "banktransfer", "mercadopago", "email", "branding"} <= set(plugins)
    bank = plugins["banktransfer"]
    assert bank["enabled"] and bank["configured"] and bank["settings"]["bank_name"] == "BBVA México"
    mp = plugins["mercadopago"]
    assert not mp["enabled"] and not mp["configured"]
    assert {"access_token", "webhook_secret"} <= set(mp["missing"])
    assert mp["settings"]["access_token"] == "not set"
    line = _line(demo, "mercadopago")
    assert "disabled" in line and "access_token" in line


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["banktransfer", "bank_nam=Banorte"], "banktransfer.bank_nam: unknown setting"),
        (["mercadopago", "expiration_minutes=tres"], "mercadopago.expiration_minutes: must be a"),
        (["mercadopago", "sandbox=quizas"], "mercadopago.sandbox: must be true or false"),
        (["banktransfer", "bank_name="], "banktransfer.bank_name: required"),
        (["mercadopago", "public_key=PK"], "mercadopago.access_token: required"),
        (["mercadopago", "access_token=APP_USR-leak"], "mercadopago.access_token is secret"),
        (["mercadopago", "public_key"], "mercadopago.public_key: use KEY=VALUE"),
        (["nada", "x=1"], "no plugin named 'nada'"),
    ],
)
def test_an_invalid_setting_is_refused_with_its_name_and_nothing_changes(
    demo: Path, args: list[str], named: str
) -> None:
    before = _snapshot(demo)
    out = recaudo(demo, "tenants", "plugins", SLUG, "set", *args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert named in out.stderr and "nothing was changed" in out.stderr
    assert "Traceback" not in out.stderr and "APP_USR-leak" not in out.stderr + out.stdout
    assert _snapshot(demo) == before


def test_secrets_come_from_stdin_are_stored_encrypted_and_never_shown(demo: Path) -> None:
    empty = recaudo(
        demo, "tenants", "plugins", SLUG, "set", "mercadopago", "access_token", input=""
    )
    assert empty.returncode == 2 and "access_token: no value given" in empty.stderr

    out = recaudo(
        demo,
        "tenants",
        "plugins",
        SLUG,
        "set",
        "mercadopago",
        "access_token",
        "webhook_secret",
        "public_key=APP_USR-public",
        input="APP_USR-0123-secret\nwebhook-s3cret\n",
    )
    assert out.returncode == 0, out.stderr
    assert "secret" not in out.stdout.replace("webhook_secret", "")
    stored = _stored(demo, "mercadopago")
    assert "APP_USR-0123-secret" not in stored and "webhook-s3cret" not in stored
    assert "APP_USR-public" in stored  # ordinary settings stay readable

    listing = recaudo(demo, "tenants", "plugins", SLUG)
    as_json = recaudo(demo, "tenants", "plugins", SLUG, "--json")
    for shown in (listing.stdout, as_json.stdout):
        assert "APP_USR-0123" not in shown and "webhook-s3cret" not in shown
    mp = _plugins(demo)["mercadopago"]
    assert mp["settings"]["access_token"] == "set" and mp["settings"]["webhook_secret"] == "set"
    assert mp["configured"] and not mp["enabled"]

    # The secret decrypts to what was typed: the method counts as configured and is switched on.
    on = recaudo(demo, "tenants", "plugins", SLUG, "enable", "mercadopago")
    assert on.returncode == 0, on.stderr
    assert "disabled" not in _line(demo, "mercadopago")
    # A later change of one setting keeps the secrets.
    again = recaudo(demo, "tenants", "plugins", SLUG, "set", "mercadopago", "expiration_minutes=60")
    assert again.returncode == 0, again.stderr
    mp = _plugins(demo)["mercadopago"]
    assert mp["settings"]["access_token"] == "set" and mp["settings"]["expiration_minutes"] == "60"
    assert mp["enabled"] and mp["configured"]


def test_enable_and_disable_switch_a_plugin(demo: Path) -> None:
    off = recaudo(demo, "tenants", "plugins", SLUG, "disable", "branding")
    assert off.returncode == 0, off.stderr
    assert "disabled" in _line(demo, "branding")
    assert "branding" not in recaudo(demo, "tenants", "show", SLUG).stdout.split("plugins:")[1]
    on = recaudo(demo, "tenants", "plugins", SLUG, "enable", "branding")
    assert on.returncode == 0, on.stderr
    assert "disabled" not in _line(demo, "branding") and "enabled" in _line(demo, "branding")

    unknown = recaudo(demo, "tenants", "plugins", SLUG, "enable", "nada")
    assert unknown.returncode == 2 and "no plugin named 'nada'" in unknown.stderr
    unconfigured = recaudo(demo, "tenants", "plugins", "clinica-andina", "enable", "mercadopago")
    assert unconfigured.returncode == 1 and "not configured" in unconfigured.stderr
    nobody = recaudo(demo, "tenants", "plugins", "no-existe")
    assert nobody.returncode == 1 and "not found" in nobody.stderr


def test_on_a_terminal_a_secret_is_asked_for_without_echo(demo: Path) -> None:
    import os
    import pty
    import select
    import sys

    env = {
        **os.environ,
        "RECAUDO_DATABASE_URL": f"sqlite:///{demo}/cli.sqlite3",
        "RECAUDO_VAR_DIR": str(demo),
        "RECAUDO_BROKER_URL": "embedded",
        "RECAUDO_ENV": "development",
    }
    args = ["tenants", "plugins", "clinica-andina", "set", "mercadopago", "access_token"]
    args += ["webhook_secret"]
    pid, fd = pty.fork()
    if pid == 0:  # the child runs the command on the pseudo-terminal, as a person would
        os.execve(sys.executable, [sys.executable, "-m", "recaudo.cli", *args], env)
    seen = b""

    def read_until(marker: bytes) -> None:
        nonlocal seen
        while marker not in seen:
            ready, _, _ = select.select([fd], [], [], 60)
            assert ready, f"no {marker!r} on the terminal: {seen!r}"
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk

    read_until(b"(mercadopago.access_token): ")
    os.write(fd, b"APP_USR-typed-hidden\n")
    read_until(b"(mercadopago.webhook_secret): ")
    os.write(fd, b"typed-hidden-too\n")
    read_until(b"\x00")  # everything until the child exits
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert b"saved for clinica-andina" in seen
    assert b"typed-hidden" not in seen  # what was typed never showed on the terminal
    with sqlite3.connect(demo / "cli.sqlite3") as conn:
        (stored,) = conn.execute(
            "SELECT s.settings FROM plugin_setting s JOIN tenant t ON t.id = s.tenant "
            "WHERE t.slug = 'clinica-andina' AND s.plugin = 'mercadopago'"
        ).fetchone()
    assert '"access_token": "enc:' in stored and "typed-hidden" not in stored
