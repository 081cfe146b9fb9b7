"""Running the outbox on a simulated clock: hours of retries and sweeps without sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from recaudo.workers.jobs import run_job
from recaudo.workers.relay import relay_once


def collect(ids: list[int]) -> Callable[[int, str], None]:
    """A relay ``send`` that only collects job ids (the test runs them itself)."""
    return lambda job_id, _name: ids.append(job_id)


async def drain_at(now: datetime, max_rounds: int = 20) -> list[str]:
    """Relay and run every job due at ``now`` (a simulated time), as a worker would then."""
    results: list[str] = []
    for _ in range(max_rounds):
        sent: list[int] = []
        await relay_once(collect(sent), now=now)
        if not sent:
            break
        for job_id in sent:
            results.append(await run_job(job_id, now=now))
    return results
