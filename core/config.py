"""Process configuration, read once from ``RECAUDO_*`` environment variables.

Every value is validated up front so that a typo stops start-up with one message naming the
variable, instead of failing later in the middle of a request.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "sqlite:///var/recaudo.sqlite3"
DEFAULT_BROKER_URL = "embedded"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
RUN_MODES = ("development", "production")
MIN_SECRET_LENGTH = 32


class ConfigError(Exception):
    """A configuration value is invalid; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """The process's configuration. ``env`` defaults to production: development conveniences
    (the dev outbox, demo data, the sandbox by default, ``/schema``) are opted into, never on
    by accident."""

    env: str = "production"
    database_url: str = DEFAULT_DATABASE_URL
    broker_url: str = DEFAULT_BROKER_URL
    secret_key: str = field(default="", repr=False)
    base_url: str = DEFAULT_BASE_URL
    smtp_url: str = ""
    mail_from: str = "Recaudo <no-reply@localhost>"
    debug: bool = False

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def dev_outbox(self) -> bool:
        """Messages are delivered to ``/dev/outbox`` (development without SMTP) instead of mail."""
        return self.is_development and not self.smtp_url

    @property
    def mail_missing(self) -> bool:
        """Production without SMTP: email waits in the database until a server is configured."""
        return not self.is_development and not self.smtp_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def base_host(self) -> str:
        return urlsplit(self.base_url).hostname or "localhost"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


def _database_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme == "sqlite":
        if not parts.path or parts.path == "/":
            raise ConfigError(
                "RECAUDO_DATABASE_URL: a SQLite URL needs a file path, e.g. "
                "sqlite:///var/recaudo.sqlite3"
            )
        return value
    if parts.scheme in ("postgresql", "postgres"):
        if not parts.hostname and "host=" not in parts.query:
            raise ConfigError("RECAUDO_DATABASE_URL: a PostgreSQL URL needs a host")
        return value
    raise ConfigError(
        f"RECAUDO_DATABASE_URL: unsupported scheme {parts.scheme!r}; "
        "use sqlite:///path or postgresql://user@host:port/db"
    )


def _broker_url(value: str) -> str:
    if value == "embedded":
        return value
    scheme = urlsplit(value).scheme
    if scheme in ("redis", "rediss", "amqp", "amqps"):
        if not urlsplit(value).hostname:
            raise ConfigError(f"RECAUDO_BROKER_URL: {scheme} URL needs a host")
        return value
    raise ConfigError(
        f"RECAUDO_BROKER_URL: unsupported value {value!r}; "
        "use 'embedded', redis://host:6379/0 or amqp://user:pass@host:5672/"
    )


def _base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"RECAUDO_BASE_URL: {value!r} is not an absolute http(s) URL, "
            "e.g. https://recaudo.example.com"
        )
    return value.rstrip("/")


def _secret_key(value: str | None, var_dir: Path) -> str:
    if value:
        if len(value) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"RECAUDO_SECRET_KEY: must be at least {MIN_SECRET_LENGTH} characters long"
            )
        return value
    path = var_dir / "secret_key"
    if path.exists():
        stored = path.read_text().strip()
        if len(stored) >= MIN_SECRET_LENGTH:
            return stored
    var_dir.mkdir(parents=True, exist_ok=True)
    generated = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(generated)
    return generated


def _bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: expected true/false, got {value!r}")


def _env(value: str) -> str:
    mode = value.strip().lower() or "production"
    if mode not in RUN_MODES:
        raise ConfigError(f"RECAUDO_ENV: expected development or production, got {value!r}")
    return mode


_active: Settings | None = None


def activate(settings: Settings) -> Settings:
    """Make ``settings`` the running process's configuration (web app or worker start-up)."""
    global _active
    _active = settings
    return settings


def active() -> Settings:
    """The configuration the process was started with; jobs and handlers read it from here."""
    if _active is None:
        raise RuntimeError("no active configuration: the web app or worker was not started")
    return _active


def load_settings(env: dict[str, str] | None = None, var_dir: Path | None = None) -> Settings:
    """Build :class:`Settings` from the environment, raising :class:`ConfigError` on bad values."""
    env = dict(os.environ if env is None else env)
    var = var_dir or Path(env.get("RECAUDO_VAR_DIR", "var"))
    smtp_url = env.get("RECAUDO_SMTP_URL", "")
    if smtp_url and urlsplit(smtp_url).scheme not in ("smtp", "smtps"):
        raise ConfigError("RECAUDO_SMTP_URL: use smtp://user:pass@host:port or smtps://…")
    mode = _env(env.get("RECAUDO_ENV", ""))
    debug = _bool("RECAUDO_DEBUG", env.get("RECAUDO_DEBUG", ""))
    if debug and mode == "production":
        # Debug pages show tracebacks and local values: refused rather than silently ignored,
        # so nobody believes it is on.
        raise ConfigError(
            "RECAUDO_DEBUG: debug mode is refused in production; set RECAUDO_ENV=development"
        )
    return Settings(
        env=mode,
        database_url=_database_url(env.get("RECAUDO_DATABASE_URL") or DEFAULT_DATABASE_URL),
        broker_url=_broker_url(env.get("RECAUDO_BROKER_URL") or DEFAULT_BROKER_URL),
        secret_key=_secret_key(env.get("RECAUDO_SECRET_KEY"), var),
        base_url=_base_url(env.get("RECAUDO_BASE_URL") or DEFAULT_BASE_URL),
        smtp_url=smtp_url,
        mail_from=env.get("RECAUDO_MAIL_FROM") or Settings.mail_from,
        debug=debug,
    )
