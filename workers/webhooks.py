"""Outbound webhook jobs (``core/webhooks``), on the ``events`` queue.

``webhook_event`` fans an event out to the endpoints (one delivery row and one job each);
``webhook_deliver`` makes one attempt at one delivery and, by raising, lets the outbox retry it
per :data:`~recaudo.core.webhooks.delivery.WEBHOOK_POLICY` (3 days, then dead). The
``invoice_event`` and ``payment_event`` jobs call :func:`from_invoice_event` and
:func:`from_payment_event` so invoice and payment changes reach webhooks with no extra job.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from recaudo.core.platform.jobs import Job, Schedule
from recaudo.core.tables import OutboxJob, WebhookDelivery
from recaudo.core.webhooks import delivery, events
from recaudo.tenants.scoped import TenantScope, unscoped
from recaudo.workers.jobs import CURRENT_JOB


async def webhook_event(scope: TenantScope, payload: dict[str, Any]) -> None:
    await events.fan_out(
        scope,
        str(payload["type"]),
        str(payload["object"]),
        int(payload["id"]),
        key=str(payload["key"]),
        created=payload.get("created"),
        extra=payload.get("extra") or {},
    )


async def webhook_deliver(scope: TenantScope, payload: dict[str, Any]) -> None:
    await delivery.deliver(scope, int(payload["delivery_id"]))


async def _parent(scope: TenantScope) -> tuple[str, str | None]:
    """The running job's key and creation time: the event's identity and when it happened."""
    job_id = CURRENT_JOB.get()
    job = await scope.get(OutboxJob, job_id) if job_id is not None else None
    if job is None:
        return f"job:{job_id}", None
    return str(job.key), events._iso(job.created_at)


async def from_invoice_event(scope: TenantScope, payload: dict[str, Any]) -> int:
    event_type = events.INVOICE_KINDS.get(str(payload.get("kind", "")))
    if event_type is None or not await events.has_endpoints(scope):
        return 0
    key, created = await _parent(scope)
    return await events.fan_out(
        scope, event_type, "invoice", int(payload["invoice_id"]), key=key, created=created
    )


async def from_payment_event(scope: TenantScope, payload: dict[str, Any]) -> int:
    event_type = events.PAYMENT_KINDS.get(str(payload.get("status", "")))
    if event_type is None or not await events.has_endpoints(scope):
        return 0
    key, created = await _parent(scope)
    # What changed, as of the change (the payment may have moved on since the job was queued).
    extra: dict[str, Any] = {
        key_: payload[key_] for key_ in ("status", "amount", "amount_refunded") if key_ in payload
    }
    return await events.fan_out(
        scope,
        event_type,
        "payment",
        int(payload["payment_id"]),
        key=key,
        created=created,
        extra=extra,
    )


#: Delivered and dead deliveries are kept this long in the log, then pruned.
KEEP_DELIVERIES = timedelta(days=90)


async def webhooks_hourly(_ctx: None, payload: dict[str, Any]) -> None:
    """Hourly: old delivered or dead deliveries are pruned from the log. (``promise.kept`` and
    ``promise.broken`` are queued by the promises check when a promise changes state, see
    :mod:`recaudo.workers.promises`.)"""
    now = datetime.fromisoformat(str(payload["now"])) if "now" in payload else datetime.now(UTC)
    log_table = unscoped(WebhookDelivery)
    await log_table.delete().where(
        log_table.status.is_in(["delivered", "dead"])
        & (log_table.created_at < now - KEEP_DELIVERIES)
    )


JOBS = [
    Job("webhooks_hourly", webhooks_hourly, queue="events", time_limit=timedelta(minutes=10)),
    Job("webhook_event", webhook_event, queue="events"),
    Job(
        "webhook_deliver",
        webhook_deliver,
        queue="events",
        retry=delivery.JOB_POLICY,
        time_limit=timedelta(seconds=60),
    ),
]
SCHEDULES = [
    Schedule("webhooks_hourly", "webhooks_hourly", every=timedelta(hours=1), per_tenant=False),
]
