"""What a background job and a periodic schedule are: the values core and plugins declare.

Core modules list theirs next to their handlers (``JOBS = [Job(...)]``, ``SCHEDULES = [...]``);
plugins return theirs from the ``recaudo_jobs`` and ``recaudo_schedules`` hooks, and the host
names them ``"<plugin>.<name>"``. ``recaudo.workers`` turns every job into a dramatiq actor on its
queue; the outbox row stays the source of truth, and :class:`RetryPolicy` is the only retry
mechanism (dramatiq's own retries are off).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

#: The queues workers can be told to consume (``recaudo worker --queues payments,messages``).
QUEUES = ("payments", "messages", "events", "default", "reconciliation", "einvoicing")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff from ``first`` doubling up to ``cap``; gives up once the waits add up
    to ``give_up_after`` (``None``: never). Counted in attempts, so time the worker was down does
    not use up the window: "at least this long" holds whatever the clock did."""

    first: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(hours=1)
    give_up_after: timedelta | None = timedelta(days=3)

    def delay(self, attempts: int) -> timedelta:
        """Wait before the next try after ``attempts`` failed ones."""
        exponent = min(max(0, attempts - 1), 30)
        return min(self.cap, self.first * 2**exponent)

    @property
    def max_attempts(self) -> int | None:
        """Attempts after which the job is dead: the first whose waits reach ``give_up_after``."""
        if self.give_up_after is None:
            return None
        waited, attempts = timedelta(0), 0
        while waited < self.give_up_after:
            attempts += 1
            waited += self.delay(attempts)
        return attempts


#: A handler is ``async def handler(ctx, payload: dict) -> None``: a plugin's gets its
#: ``PluginContext``, a core one the tenant's ``TenantScope`` (``None`` for a schedule that is
#: not per tenant).
JobHandler = Callable[[Any, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Job:
    """A kind of background job: its name, handler, queue, retry policy and time limit.

    A run that raises, or outlives ``time_limit``, counts as a failed attempt and is retried per
    ``retry``; handlers must be idempotent (a crash after their commit runs them again).
    """

    name: str
    handler: JobHandler
    queue: str = "default"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    time_limit: timedelta = timedelta(minutes=3)

    def __post_init__(self) -> None:
        if self.queue not in QUEUES:
            raise ValueError(f"job {self.name!r}: unknown queue {self.queue!r} (one of {QUEUES})")


@dataclass(frozen=True)
class Schedule:
    """Run job ``job`` (its name) every ``every``, at most once per slot across all processes.

    ``per_tenant``: one job per tenant (for a plugin: per tenant that enabled it), each with its
    own retries; otherwise the scheduler that claimed the slot runs the handler itself, with
    ``ctx=None`` and the payload ``{"slot": …, "now": …}`` (ISO times).
    """

    name: str
    job: str
    every: timedelta
    per_tenant: bool = True
