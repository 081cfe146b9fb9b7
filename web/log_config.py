"""How the Litestar apps log.

Litestar's default on Python 3.11 logs through a queue whose listener thread is started for every
app built and never stopped (``atexit`` keeps it alive). A process builds two apps (the site and
the REST API), and the test suite builds thousands. Both apps therefore log straight to stderr
through one ``StreamHandler``, as uvicorn and dramatiq do: a log line is a short write, and no
thread is left behind when an app is dropped.
"""

from __future__ import annotations

from litestar.logging.config import LoggingConfig


def logging_config() -> LoggingConfig:
    """The logging of either app: ``litestar`` at INFO on stderr, no listener thread."""
    stderr = {"class": "logging.StreamHandler", "level": "DEBUG", "formatter": "standard"}
    return LoggingConfig(
        # Litestar adds a "queue_listener" handler unless one is given: this one has no thread.
        handlers={"console": dict(stderr), "queue_listener": dict(stderr)},
        loggers={"litestar": {"level": "INFO", "handlers": ["console"], "propagate": False}},
    )
