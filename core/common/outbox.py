"""Transactional outbox: jobs are rows written in the same transaction as the change they follow.

``enqueue`` only inserts a row; the relay in ``recaudo.workers`` hands rows to the broker and
re-sends those a worker did not finish in time. The ``key`` makes enqueueing idempotent, and actors
are written so that running one twice changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from recaudo.core.tables import OutboxJob
from recaudo.tenants.scoped import TenantScope


def now() -> datetime:
    return datetime.now(UTC)


async def enqueue(
    scope: TenantScope,
    actor: str,
    payload: dict[str, Any],
    *,
    key: str,
    delay: timedelta | None = None,
) -> bool:
    """Record a job; returns ``False`` when a job with the same key already exists.

    Call inside the transaction of the state change, so both commit or neither does.
    """
    if await scope.exists(OutboxJob).where(OutboxJob.key == key):
        return False
    await scope.add(
        OutboxJob(
            key=key,
            actor=actor,
            payload=payload,
            status="pending",
            available_at=now() + (delay or timedelta(0)),
        )
    )
    return True
