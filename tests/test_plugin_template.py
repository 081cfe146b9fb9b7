"""The plugin template works: its own test suite passes against this Recaudo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parent.parent / "plugin-template"


@pytest.mark.slow
def test_template_suite_passes() -> None:
    env = {**os.environ, "PYTHONPATH": str(TEMPLATE)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=auto",
            str(TEMPLATE / "tests"),
        ],
        cwd=TEMPLATE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 passed" in out.stdout
