"""Rate limits whose check and record are one atomic step, on SQLite and PostgreSQL.

Counting earlier attempts and then recording this one let concurrent requests all pass the check
before any was recorded (30 simultaneous link requests issued 21 links against a limit of 3).
:func:`hit` counts each bucket's hits inside its sliding window and records a hit in every
bucket only if all are under their limits, in one write transaction: ``BEGIN IMMEDIATE`` on
SQLite serialises it with every other writer, and on PostgreSQL a transaction-scoped advisory
lock per bucket (taken in a fixed order, so two callers cannot deadlock) serialises the callers
that share a bucket. Rows live in ``rate_limit_hit``; they are shared by every web process and
pruned by the relay's hourly housekeeping (:func:`prune`).
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from recaudo.core.db import engine, transaction
from recaudo.tenants.models import RateLimitHit

# Hits older than this are pruned; no limit may use a longer window.
KEEP = timedelta(hours=1)
_RETRIES = 5


@dataclass(frozen=True)
class Limit:
    """At most ``max_hits`` hits in ``bucket`` within any ``window``."""

    bucket: str
    max_hits: int
    window: timedelta


def fingerprint(value: str) -> str:
    """What buckets carry instead of an IP address, contact or email."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _lock_key(bucket: str) -> int:
    # A signed 64-bit key for pg_advisory_xact_lock(bigint), stable across processes.
    digest = hashlib.sha256(b"recaudo-rate-limit:" + bucket.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _postgres() -> bool:
    return engine().engine_type in ("postgres", "cockroach")


def _busy(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return "locked" in text or "busy" in text
    return type(exc).__name__ in ("DeadlockDetectedError", "SerializationError")


async def hit(limits: Sequence[Limit], now_ms: int | None = None) -> list[int] | None:
    """Record one hit in each bucket if every one is under its limit; else record nothing.

    Returns the new hits' ids (for :func:`release`), or ``None`` when a limit is reached.
    Attempts refused by a limit are not recorded, so they do not extend it.
    """
    if any(limit.window > KEEP for limit in limits):
        raise ValueError(f"rate-limit windows may be at most {KEEP}")
    for attempt in range(_RETRIES):
        try:
            return await _hit_once(limits, now_ms if now_ms is not None else _now_ms())
        except Exception as exc:
            if attempt == _RETRIES - 1 or not _busy(exc):
                raise
        await asyncio.sleep(0.02 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


async def _hit_once(limits: Sequence[Limit], now: int) -> list[int] | None:
    async with transaction():
        if _postgres():
            for key in sorted({_lock_key(limit.bucket) for limit in limits}):
                await RateLimitHit.raw("SELECT pg_advisory_xact_lock({})", key)
        for limit in limits:
            since = now - int(limit.window.total_seconds() * 1000)
            used = await RateLimitHit.count().where(
                (RateLimitHit.bucket == limit.bucket) & (RateLimitHit.at_ms > since)
            )
            if used >= limit.max_hits:
                return None
        ids: list[int] = []
        for limit in limits:
            row = RateLimitHit(bucket=limit.bucket, at_ms=now)
            rows = await RateLimitHit.insert(row).returning(RateLimitHit.id)
            ids.append(int(rows[0]["id"]))
        return ids


async def release(ids: Sequence[int]) -> None:
    """Take back hits that should not count after all (e.g. a login that succeeded)."""
    if ids:
        await RateLimitHit.delete().where(RateLimitHit.id.is_in(list(ids)))


async def clear(bucket: str) -> None:
    """Start a bucket's count again (a successful login clears its email's failures)."""
    await RateLimitHit.delete().where(RateLimitHit.bucket == bucket)


async def prune(now_ms: int | None = None) -> int:
    """Delete hits older than :data:`KEEP`; returns how many."""
    cutoff = (now_ms if now_ms is not None else _now_ms()) - int(KEEP.total_seconds() * 1000)
    gone = await RateLimitHit.delete().where(RateLimitHit.at_ms < cutoff).returning(RateLimitHit.id)
    return len(gone)
