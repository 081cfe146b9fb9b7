"""Autopay's jobs: the hourly sweep that plans due charges and reminders, and one charge.

Not per tenant: the slot's owner finds the tenants with an active enrollment in one query
(:func:`recaudo.core.payments.autopay.run_all_due`). Hourly so each time zone is served soon
after its own midnight. Each charge is its own ``autopay_charge`` job on the payments queue,
keyed on the charge, so a provider outage retries that charge alone with the usual backoff.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from recaudo.core.payments.autopay import run_all_due, run_charge
from recaudo.core.platform.jobs import Job, RetryPolicy, Schedule
from recaudo.tenants.scoped import TenantScope


async def run_autopay_charges(_ctx: None, payload: dict[str, Any]) -> None:
    now = datetime.fromisoformat(str(payload["now"])) if "now" in payload else None
    await run_all_due(now)


async def run_autopay_charge(scope: TenantScope, payload: dict[str, Any]) -> None:
    await run_charge(scope, int(payload["charge_id"]))


JOBS = [
    Job("autopay_charges", run_autopay_charges, time_limit=timedelta(minutes=10)),
    # A provider that stays down for a day: the job dies and staff see it (dead jobs page);
    # the charge stays "charging" and a retry of the job asks the provider with the same key.
    Job(
        "autopay_charge",
        run_autopay_charge,
        queue="payments",
        retry=RetryPolicy(give_up_after=timedelta(days=1)),
        time_limit=timedelta(minutes=2),
    ),
]
SCHEDULES = [
    Schedule("autopay_charges", "autopay_charges", every=timedelta(hours=1), per_tenant=False)
]
