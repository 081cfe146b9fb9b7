"""Backing off while something we depend on (the broker, the database) is unreachable.

During an outage the relay and dramatiq's consumers would otherwise retry, and log, several
times a second. :class:`Backoff` spaces retries exponentially up to a cap and says when the
outage ends; :class:`OncePerStep` lets one of a run of identical error lines through per step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class Backoff:
    """Waits after consecutive failures: ``first``, doubling, at most ``cap`` seconds."""

    def __init__(self, first: float = 1.0, cap: float = 60.0) -> None:
        self.first = first
        self.cap = cap
        self.failures = 0

    def fail(self) -> float:
        """Record one more failure; returns how long to wait before trying again."""
        self.failures += 1
        return min(self.cap, self.first * 2 ** min(self.failures - 1, 30))

    def succeed(self) -> bool:
        """Record a success; returns ``True`` when it ends a run of failures."""
        ended = self.failures > 0
        self.failures = 0
        return ended


class OncePerStep(logging.Filter):
    """Let through the first matching record, then one per backoff step (1, 2, 4… ``cap`` s).

    For loggers we do not own (dramatiq's consumer retries every 3 s and logs twice each time).
    A matching record after more than ``2 × cap`` of silence starts a new outage from the first
    step. Records that do not match pass untouched.
    """

    def __init__(
        self,
        prefixes: tuple[str, ...],
        first: float = 1.0,
        cap: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.backoff = Backoff(first, cap)
        self.clock = clock
        self.last_seen: float | None = None
        self.next_allowed = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self.prefixes):
            return True
        now = self.clock()
        if self.last_seen is not None and now - self.last_seen > 2 * self.backoff.cap:
            self.backoff.succeed()
            self.next_allowed = now
        self.last_seen = now
        if now < self.next_allowed:
            return False
        self.next_allowed = now + self.backoff.fail()
        return True
