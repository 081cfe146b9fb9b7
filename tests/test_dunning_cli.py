"""``recaudo reminders plan|run`` on the demo, run as an operator runs them (subprocesses)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.test_cli import recaudo

pytestmark = pytest.mark.slow

WEDNESDAY = "2026-12-09T10:00:00-05:00"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("reminders")
    assert recaudo(tmp, "migrate").returncode == 0
    seeded = recaudo(tmp, "demo")
    assert seeded.returncode == 0, seeded.stderr
    return tmp


def _count(tmp: Path, table: str) -> int:
    with sqlite3.connect(tmp / "cli.sqlite3") as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_plan_prints_every_customer_due_and_changes_nothing(demo: Path) -> None:
    out = recaudo(
        demo, "reminders", "plan", "--tenant", "clinica-andina", "--at", WEDNESDAY, "--json"
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["tenant"] == "clinica-andina" and doc["timezone"] == "America/Bogota"
    assert doc["at"] == WEDNESDAY
    items = doc["send"] + doc["deferred"] + doc["skipped"]
    assert sorted(i["customer"] for i in items) == ["P-2001", "P-2002", "P-2003"]
    for item in items:
        assert item["invoices"] and item["total"].startswith("$") and item["stage_name"]
    for item in doc["deferred"]:
        assert item["until"] > WEDNESDAY[:10] and item["rule"] and item["reason"]
    assert _count(demo, "contact_attempt") == 0 and _count(demo, "dunning_mark") == 0

    human = recaudo(demo, "reminders", "plan", "--tenant", "clinica-andina", "--at", WEDNESDAY)
    assert human.returncode == 0 and "P-2001" in human.stdout


def test_run_records_once(demo: Path) -> None:
    first = recaudo(demo, "reminders", "run", "--tenant", "ferreteria-norte", "--at", WEDNESDAY)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("3 reminder(s)")
    again = recaudo(demo, "reminders", "run", "--tenant", "ferreteria-norte", "--at", WEDNESDAY)
    assert again.stdout.startswith("0 reminder(s)"), "a stage is never planned twice"


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--tenant", "clinica-andina", "--at", "mañana"], "not an ISO date-time"),
        (["--tenant", "clinica-andina", "--at", "2026-12-09T10:00"], "no UTC offset"),
        (["--tenant", "no-existe", "--at", WEDNESDAY], "tenant 'no-existe' not found"),
    ],
)
def test_bad_input_is_a_usage_error(demo: Path, args: list[str], complaint: str) -> None:
    out = recaudo(demo, "reminders", "plan", *args)
    assert out.returncode == 2 and complaint in out.stderr
    assert "Traceback" not in out.stderr
