"""Bad configuration stops start-up with one clear message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from recaudo.core.config import ConfigError, load_settings

GOOD = {"RECAUDO_SECRET_KEY": "k" * 40}


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"RECAUDO_DATABASE_URL": "mysql://x/y"}, "RECAUDO_DATABASE_URL"),
        ({"RECAUDO_DATABASE_URL": "sqlite://"}, "RECAUDO_DATABASE_URL"),
        ({"RECAUDO_DATABASE_URL": "postgresql:///nohost"}, "RECAUDO_DATABASE_URL"),
        ({"RECAUDO_BROKER_URL": "kafka://x"}, "RECAUDO_BROKER_URL"),
        ({"RECAUDO_BROKER_URL": "redis://"}, "RECAUDO_BROKER_URL"),
        ({"RECAUDO_SECRET_KEY": "short"}, "RECAUDO_SECRET_KEY"),
        ({"RECAUDO_BASE_URL": "localhost:8000"}, "RECAUDO_BASE_URL"),
        ({"RECAUDO_SMTP_URL": "http://mail"}, "RECAUDO_SMTP_URL"),
        ({"RECAUDO_DEBUG": "maybe"}, "RECAUDO_DEBUG"),
        ({"RECAUDO_ENV": "staging"}, "RECAUDO_ENV"),
        ({"RECAUDO_DEBUG": "true"}, "RECAUDO_DEBUG"),  # refused: production is the default
        ({"RECAUDO_ENV": "production", "RECAUDO_DEBUG": "1"}, "RECAUDO_DEBUG"),
    ],
)
def test_invalid_values_name_the_variable(
    env: dict[str, str], variable: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings({**GOOD, **env}, var_dir=tmp_path)


def test_defaults_and_generated_secret(tmp_path: Path) -> None:
    settings = load_settings({}, var_dir=tmp_path)
    assert settings.database_url == "sqlite:///var/recaudo.sqlite3"
    assert settings.broker_url == "embedded"
    assert settings.env == "production" and not settings.is_development
    assert len(settings.secret_key) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    # The generated key is stable across restarts and never shown in repr().
    assert load_settings({}, var_dir=tmp_path).secret_key == settings.secret_key
    assert settings.secret_key not in repr(settings)


def test_scale_out_urls_are_accepted(tmp_path: Path) -> None:
    settings = load_settings(
        {
            **GOOD,
            "RECAUDO_DATABASE_URL": "postgresql://app:pw@db:5432/recaudo",
            "RECAUDO_BROKER_URL": "amqp://guest:guest@mq:5672/",
            "RECAUDO_BASE_URL": "https://pagos.example.com/",
        },
        var_dir=tmp_path,
    )
    assert settings.base_url == "https://pagos.example.com"
    assert settings.secure_cookies and not settings.is_sqlite


def test_cli_reports_bad_configuration_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "RECAUDO_BROKER_URL": "kafka://x", "RECAUDO_VAR_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "recaudo.cli", "tenants", "list"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "RECAUDO_BROKER_URL" in out.stderr
    assert "Traceback" not in out.stderr


def test_development_is_opted_into_and_allows_debug(tmp_path: Path) -> None:
    dev = load_settings(
        {**GOOD, "RECAUDO_ENV": "Development", "RECAUDO_DEBUG": "true"}, var_dir=tmp_path
    )
    assert dev.is_development and dev.debug and dev.dev_outbox and not dev.mail_missing
    prod = load_settings({**GOOD, "RECAUDO_ENV": "production"}, var_dir=tmp_path)
    assert prod.mail_missing and not prod.dev_outbox
