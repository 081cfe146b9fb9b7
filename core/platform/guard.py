"""The one way core calls plugin code: a plugin's exception or hang never breaks the caller.

Every hook call and every call into a plugin object (a payment method, a channel) goes through
:func:`call` (sync code) or :func:`acall` (coroutines); :func:`watch` is for callers that keep
their own error path (a checkout that marks the payment failed, a job that must be retried).

A failure is logged with the plugin's name, hook and tenant, and counted in ``plugin_failure``
(one row per tenant, plugin and hook; tenant ``NULL`` when the call acts for no tenant, as routes
and template folders do) so the tenant's staff see it on ``/staff/plugins`` and ``recaudo check``
warns. The caller then falls back: the default branding, the method left out of the pay page, the
next channel, the other plugins' routes.

Hangs. Coroutines are bounded with :func:`asyncio.timeout`. Sync plugin code cannot be
interrupted, so :func:`call` runs it on a small thread pool and stops *waiting* after the timeout
(the caller blocks at most that long — branding is asked per tenant look, cached for a page-cache
period, so a page pays it once). The hung thread is left to finish; until it does, and for
:data:`COOLDOWN` seconds after a timeout, that plugin's hook is not called again and the caller
falls back at once, so a hung plugin costs one timeout per cool-down, not one per page, and never
more than one thread.

Failures are queued in memory and written by :func:`flush` (scheduled on the running event loop
when there is one, awaited by the pages that show them), because sync callers such as route
registration run before the database is reachable.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import queue
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Seconds a plugin call may take, by hook; anything not listed gets ``"default"``.
TIMEOUTS: dict[str, float] = {
    "default": 5.0,
    "recaudo_startup": 30.0,
    "start_checkout": 30.0,
    "send": 30.0,
    # Under the plugin_event job's own 30 s limit (workers/events.py).
    "recaudo_invoice_event": 25.0,
    "recaudo_payment_event": 25.0,
}
#: Seconds a hook that timed out is skipped (the caller falls back at once).
COOLDOWN = 60.0
#: How long a failure stays "recent" for staff notices and ``recaudo check``.
RECENT = timedelta(days=7)
MESSAGE_LIMIT = 500


class _DaemonPool:
    """Threads for sync plugin calls, created as needed and reused.

    Daemon threads, unlike ``ThreadPoolExecutor``'s: a plugin call that never returns must not
    keep a process (``recaudo check``, a web server shutting down) from exiting.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._idle:
                self._idle -= 1  # a waiting thread will take it
            else:
                threading.Thread(target=self._work, name="plugin-guard", daemon=True).start()
        self._jobs.put((future, fn))
        return future

    def _work(self) -> None:
        while True:
            future, fn = self._jobs.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:  # handed to the caller, who reports it
                    future.set_exception(exc)
            with self._lock:
                self._idle += 1


_pool = _DaemonPool()
_lock = threading.Lock()
_busy: dict[tuple[str, str], Future[Any]] = {}  # a sync call that timed out, still running
_tripped: dict[tuple[str, str], float] = {}  # (plugin, hook) -> monotonic time it may run again
_tasks: set[asyncio.Task[None]] = set()


@dataclass
class Failure:
    """A failure not yet written to the database."""

    tenant_id: int | None
    plugin: str
    hook: str
    message: str
    count: int
    first_seen: datetime
    last_seen: datetime


_pending: dict[tuple[int | None, str, str], Failure] = {}


class PluginTimeout(Exception):
    """A plugin call took longer than its hook's timeout."""


def timeout_for(hook: str) -> float:
    return TIMEOUTS.get(hook, TIMEOUTS["default"])


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:MESSAGE_LIMIT]


def report(plugin: str, hook: str, exc: BaseException, tenant_id: int | None = None) -> None:
    """Log a plugin failure and queue it for ``plugin_failure`` (written by :func:`flush`)."""
    message = describe(exc)
    where = f"tenant {tenant_id}" if tenant_id is not None else "no tenant"
    if isinstance(exc, PluginTimeout):
        log.error("plugin %s hung in %s (%s): %s", plugin, hook, where, message)
    else:
        log.error("plugin %s failed in %s (%s): %s", plugin, hook, where, message, exc_info=exc)
    now = datetime.now(UTC)
    key = (tenant_id, plugin, hook)
    with _lock:
        known = _pending.get(key)
        if known is None:
            _pending[key] = Failure(tenant_id, plugin, hook, message, 1, now, now)
        else:
            known.count += 1
            known.message, known.last_seen = message, now
    _schedule_flush()


def _schedule_flush() -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop (app construction, CLI): the next flush writes it
    task = loop.create_task(_write_quietly())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _write_quietly() -> None:
    try:
        await _write()
    except Exception as exc:  # no database yet: the failures stay queued
        log.debug("plugin failures not written yet: %s", exc)


async def try_flush() -> None:
    """:func:`flush`, keeping the failures queued when the database cannot be written yet."""
    try:
        await flush()
    except Exception as exc:  # no database yet: the failures stay queued
        log.debug("plugin failures not written yet: %s", exc)


async def flush() -> int:
    """Write queued failures to ``plugin_failure`` (after any write already under way on this
    event loop, so a reader sees every failure reported before); returns how many it wrote."""
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()
    under_way = [t for t in _tasks if t.get_loop() is loop and t is not current]
    if under_way:
        await asyncio.gather(*under_way, return_exceptions=True)
    return await _write()


_write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


async def _write() -> int:
    """One write at a time per event loop: two overlapping writes (a background flush and a
    reader's) would each find no row for a new failure and insert it twice."""
    loop = asyncio.get_running_loop()
    with _lock:
        write_lock = _write_locks.setdefault(loop, asyncio.Lock())
    async with write_lock:
        return await _write_batch()


async def _write_batch() -> int:
    from recaudo.tenants.models import PluginFailure

    with _lock:
        batch = list(_pending.values())
        _pending.clear()
    written = 0
    try:
        for failure in batch:
            await _upsert(PluginFailure, failure)
            written += 1
    except Exception:
        with _lock:  # put back what was not written, merging with newer reports
            for failure in batch[written:]:
                key = (failure.tenant_id, failure.plugin, failure.hook)
                newer = _pending.get(key)
                if newer is not None:
                    newer.count += failure.count
                    newer.first_seen = failure.first_seen
                else:
                    _pending[key] = failure
        raise
    return written


async def _upsert(table: Any, failure: Failure) -> None:
    tenant_match = (
        table.tenant.is_null() if failure.tenant_id is None else table.tenant == failure.tenant_id
    )
    where = tenant_match & (table.plugin == failure.plugin) & (table.hook == failure.hook)
    row = await table.select(table.id).where(where).first()
    if row is None:
        await table.insert(
            table(
                tenant=failure.tenant_id,
                plugin=failure.plugin[:100],
                hook=failure.hook[:100],
                message=failure.message,
                times=failure.count,
                first_seen=failure.first_seen,
                last_seen=failure.last_seen,
            )
        )
        return
    await table.update(
        {
            table.times: table.times + failure.count,
            table.message: failure.message,
            table.last_seen: failure.last_seen,
        }
    ).where(table.id == row["id"])


def reset() -> None:
    """Forget queued failures and tripped hooks (tests start each database afresh)."""
    with _lock:
        _pending.clear()
        _tripped.clear()
        _busy.clear()


def _skipped(plugin: str, hook: str) -> bool:
    key = (plugin, hook)
    with _lock:
        running = _busy.get(key)
        if running is not None and running.done():
            del _busy[key]
        until = _tripped.get(key)
        if until is not None and until <= time.monotonic():
            del _tripped[key]
            until = None
        return key in _busy or until is not None


def _trip(plugin: str, hook: str, future: Future[Any] | None = None) -> None:
    with _lock:
        _tripped[(plugin, hook)] = time.monotonic() + COOLDOWN
        if future is not None and not future.done():
            _busy[(plugin, hook)] = future


def call(
    plugin: str,
    hook: str,
    fn: Callable[..., T],
    *args: Any,
    fallback: T,
    tenant_id: int | None = None,
    timeout: float | None = -1,
    **kwargs: Any,
) -> T:
    """``fn(*args, **kwargs)``, or ``fallback`` when it raises, hangs or is cooling down.

    ``timeout`` defaults to the hook's (:data:`TIMEOUTS`); ``None`` runs ``fn`` inline, unbounded
    (for code that must stay on the caller's thread).
    """
    if _skipped(plugin, hook):
        return fallback
    limit = timeout_for(hook) if timeout == -1 else timeout
    if limit is None:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            report(plugin, hook, exc, tenant_id)
            return fallback
    context = contextvars.copy_context()
    future = _pool.submit(functools.partial(context.run, fn, *args, **kwargs))
    try:
        return future.result(timeout=limit)
    except FutureTimeout:
        _trip(plugin, hook, future)
        report(plugin, hook, PluginTimeout(f"no answer after {limit:g}s"), tenant_id)
    except Exception as exc:
        report(plugin, hook, exc, tenant_id)
    return fallback


async def acall(
    plugin: str,
    hook: str,
    fn: Callable[..., Awaitable[T]],
    *args: Any,
    fallback: T,
    tenant_id: int | None = None,
    limit: float | None = None,
    **kwargs: Any,
) -> T:
    """``await fn(*args, **kwargs)``, or ``fallback`` when it raises, times out or cools down."""
    try:
        async with watch(plugin, hook, tenant_id=tenant_id, limit=limit):
            return await fn(*args, **kwargs)
    except Exception:
        return fallback


@asynccontextmanager
async def watch(
    plugin: str, hook: str, *, tenant_id: int | None = None, limit: float | None = None
) -> AsyncIterator[None]:
    """Bound and record the plugin code run inside; its exception still reaches the caller.

    A timeout is raised as :class:`PluginTimeout`; a hook cooling down after one raises it at once.
    """
    if _skipped(plugin, hook):
        raise PluginTimeout(f"{plugin} {hook} is cooling down after a timeout")
    seconds = limit if limit is not None else timeout_for(hook)
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        _trip(plugin, hook)
        exc = PluginTimeout(f"no answer after {seconds:g}s")
        report(plugin, hook, exc, tenant_id)
        raise exc from None
    except Exception as exc:
        report(plugin, hook, exc, tenant_id)
        raise


@dataclass(frozen=True)
class FailureSummary:
    """What staff see of one plugin hook's recent failures."""

    plugin: str
    hook: str
    message: str
    count: int
    first_seen: datetime
    last_seen: datetime
    tenant_id: int | None  # None: process-wide, for every tenant (routes, templates, start-up)

    @property
    def for_tenant(self) -> bool:
        return self.tenant_id is not None


async def recent_failures(
    tenant_id: int | None, plugins: list[str] | None = None, since: timedelta = RECENT
) -> list[FailureSummary]:
    """Recent failures for a tenant (and the process-wide ones of ``plugins``), newest first.

    ``tenant_id=None`` lists every tenant's (operators: ``recaudo check``).
    """
    from recaudo.tenants.models import PluginFailure as F

    await try_flush()
    query = F.select().where(F.last_seen >= datetime.now(UTC) - since)
    if tenant_id is not None and plugins:
        query = query.where(
            (F.tenant == tenant_id) | (F.tenant.is_null() & F.plugin.is_in(plugins))
        )
    elif tenant_id is not None:
        query = query.where(F.tenant == tenant_id)
    grouped: dict[tuple[str, str, int | None], FailureSummary] = {}
    for row in await query:
        key = (row["plugin"], row["hook"], row["tenant"])
        last = _aware(row["last_seen"])
        first = _aware(row["first_seen"])
        seen = grouped.get(key)
        if seen is not None:
            newest = last > seen.last_seen
            row_message = row["message"] if newest else seen.message
            last = max(last, seen.last_seen)
            first = min(first, seen.first_seen)
            count = seen.count + int(row["times"])
        else:
            row_message, count = row["message"], int(row["times"])
        grouped[key] = FailureSummary(
            row["plugin"], row["hook"], row_message, count, first, last, row["tenant"]
        )
    return sorted(grouped.values(), key=lambda f: f.last_seen, reverse=True)


def report_recent(echo: Callable[[str], None]) -> int:
    """For ``recaudo check`` (database configured): warn about recent plugin failures.

    Returns how many plugin hooks failed recently; a warning, not an error, since the callers
    fell back and kept working.
    """
    from recaudo.tenants.models import Tenant

    async def gather() -> tuple[list[FailureSummary], dict[int, str]]:
        failures = await recent_failures(None)
        slugs = {int(r["id"]): str(r["slug"]) for r in await Tenant.select(Tenant.id, Tenant.slug)}
        return failures, slugs

    try:
        failures, slugs = asyncio.run(gather())
    except Exception as exc:  # the database line above already reported it
        echo(f"plugin failures: not checked ({type(exc).__name__})")
        return 0
    if not failures:
        echo(f"plugin failures: none in the last {RECENT.days} days")
        return 0
    echo(f"plugin failures: WARNING {len(failures)} hooks failed in {RECENT.days} days")
    for f in failures[:20]:
        where = slugs.get(f.tenant_id, str(f.tenant_id)) if f.tenant_id else "every tenant"
        last = f"{f.last_seen:%Y-%m-%d %H:%M}"
        echo(f"  {f.plugin} {f.hook} ({where}, {f.count}×, last {last}): {f.message}")
    if len(failures) > 20:
        echo(f"  … and {len(failures) - 20} more")
    return len(failures)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
