"""Reminder jobs: the periodic sweep, sending one contact, its fallback and the stage's action.

``dunning_sweep`` runs per tenant every 15 minutes: the decision is one SQL statement and the
marks make a second run (or a second worker) a no-op, so a frequent sweep only costs a query and
lets a reminder go out soon after its rule window opens in every time zone.

Test tenants (the demo, a business trying Recaudo out) are never swept on their own: a trial
must not start chasing real people the moment it is created. ``recaudo reminders run --tenant``
sweeps one on purpose, and ``recaudo reminders plan`` shows what would go out.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from recaudo.core.collections import reminders
from recaudo.core.platform.jobs import Job, RetryPolicy, Schedule
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope

log = logging.getLogger(__name__)


async def dunning_sweep(scope: TenantScope, _payload: dict[str, Any]) -> None:
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    if tenant is None or tenant.test:
        log.info("tenant %s is a test tenant: no automatic reminder sweep", scope.tenant_id)
        return
    await reminders.run_sweep(scope)


async def send_contact(scope: TenantScope, payload: dict[str, Any]) -> None:
    await reminders.send_contact(scope, payload)


async def contact_failed(scope: TenantScope, payload: dict[str, Any]) -> None:
    await reminders.contact_failed(scope, payload)


async def dunning_action(scope: TenantScope, payload: dict[str, Any]) -> None:
    await reminders.dunning_action(scope, payload)


JOBS = [
    Job("dunning_sweep", dunning_sweep, time_limit=timedelta(minutes=10)),
    Job(
        "send_contact",
        send_contact,
        queue="messages",
        retry=RetryPolicy(first=timedelta(seconds=30), cap=timedelta(hours=1)),
    ),
    Job("contact_failed", contact_failed, queue="messages"),
    Job("dunning_action", dunning_action),
]
SCHEDULES = [Schedule("dunning_sweep", "dunning_sweep", every=timedelta(minutes=15))]
