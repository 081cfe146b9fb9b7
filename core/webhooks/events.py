"""Events for webhooks: what happened, as the REST API shows the object, once per endpoint.

Domain code calls :func:`emit` inside the transaction of the change: it only enqueues a
``webhook_event`` outbox job keyed by the change (so a retried transaction or a re-run adds
nothing). Invoice and payment changes need no call of their own: the ``invoice_event`` and
``payment_event`` jobs the ledger already enqueues call :func:`fan_out` too.

:func:`fan_out` snapshots the object, builds the payload once and writes one
``webhook_delivery`` row plus one ``webhook_deliver`` job per active endpoint subscribed to the
type, in one transaction. The event id is a UUID derived from the tenant and the change's key, so
running the fan-out twice finds the rows it already wrote.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from recaudo.core import db
from recaudo.core.common import outbox
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.tables import (
    Customer,
    HardshipRequest,
    Invoice,
    OutboxJob,
    Payment,
    PaymentPlan,
    PaymentPromise,
    PromiseInvoice,
    WebhookDelivery,
    WebhookEndpoint,
)
from recaudo.core.webhooks import endpoints
from recaudo.core.webhooks.endpoints import PING, subscribed
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope

NAMESPACE = uuid.UUID("0b6f2a4e-6c1d-4f55-9a53-5d3f0f6b2c11")

#: ``invoice_event`` kinds (what the ledger and invoice services enqueue) → event types.
INVOICE_KINDS = {
    "created": "invoice.created",
    "updated": "invoice.updated",
    "open": "invoice.updated",  # applied grew without closing it (a partial write-off)
    "paid": "invoice.paid",
    "partially_paid": "invoice.partially_paid",
    "reopened": "invoice.reopened",
    "void": "invoice.voided",
    "voided": "invoice.voided",
    "credited": "invoice.credited",
    "written_off": "invoice.written_off",
}
#: Payment statuses → event types (``pending``/``in_process`` are not announced).
PAYMENT_KINDS = {
    "approved": "payment.approved",
    "refunded": "payment.refunded",
    "partially_refunded": "payment.refunded",
    "rejected": "payment.failed",
    "cancelled": "payment.failed",
    "expired": "payment.failed",
    "charged_back": "payment.charged_back",
}


def event_id_for(tenant_id: int, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{tenant_id}:{key}"))


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


async def _customer_number(scope: TenantScope, customer_id: int) -> str:
    row = await scope.select(Customer, Customer.number).where(Customer.id == customer_id).first()
    return str(row["number"]) if row else ""


async def invoice_data(scope: TenantScope, invoice_id: int) -> dict[str, Any] | None:
    invoice = await scope.get(Invoice, invoice_id)
    if invoice is None:
        return None
    return {
        "object": "invoice",
        "id": int(invoice.id),
        "number": str(invoice.number),
        "external_id": invoice.external_id,
        "customer_id": int(invoice.customer),
        "customer_number": await _customer_number(scope, int(invoice.customer)),
        "status": str(invoice.status),
        "currency": str(invoice.currency),
        "subtotal": int(invoice.subtotal),
        "tax": int(invoice.tax),
        "total": int(invoice.total),
        "amount_paid": int(invoice.amount_applied),
        "balance": invoice.balance,
        "issue_date": _iso(invoice.issue_date),
        "due_date": _iso(invoice.due_date),
        "plan_id": int(invoice.plan_id) if invoice.plan_id is not None else None,
    }


async def payment_data(scope: TenantScope, payment_id: int) -> dict[str, Any] | None:
    payment = await scope.get(Payment, payment_id)
    if payment is None:
        return None
    return {
        "object": "payment",
        "id": int(payment.id),
        "customer_id": int(payment.customer),
        "customer_number": await _customer_number(scope, int(payment.customer)),
        "status": str(payment.status),
        "method": str(payment.method),
        "currency": str(payment.currency),
        "amount": int(payment.amount),
        "amount_refunded": int(payment.amount_refunded),
        "provider_payment_id": payment.provider_payment_id,
        "created_at": _iso(payment.created_at),
    }


async def plan_data(scope: TenantScope, plan_id: int) -> dict[str, Any] | None:
    plan = await scope.get(PaymentPlan, plan_id)
    if plan is None:
        return None
    return {
        "object": "plan",
        "id": int(plan.id),
        "customer_id": int(plan.customer),
        "customer_number": await _customer_number(scope, int(plan.customer)),
        "status": str(plan.status),
        "currency": str(plan.currency),
        "total": int(plan.total),
        "down_payment": int(plan.down_payment),
        "installments_count": int(plan.installments_count),
        "invoice_ids": [int(i) for i in loads(plan.invoice_ids, []) or []],
        "created_at": _iso(plan.created_at),
    }


async def promise_data(scope: TenantScope, promise_id: int) -> dict[str, Any] | None:
    """A promise to pay (``payment_promise``); ``promise_date`` and ``reason`` keep the names
    the payload had when promises were hardship requests."""
    row = await scope.get(PaymentPromise, promise_id)
    if row is None:
        return None
    reason = ""
    if row.source == "hardship" and row.source_id is not None:
        request = await scope.get(HardshipRequest, int(row.source_id))
        reason = str(request.reason) if request is not None else ""
    links = await scope.select(PromiseInvoice, PromiseInvoice.invoice).where(
        PromiseInvoice.promise == row.id
    )
    return {
        "object": "promise",
        "id": int(row.id),
        "customer_id": int(row.customer),
        "customer_number": await _customer_number(scope, int(row.customer)),
        "promise_date": _iso(row.promised_date),
        "status": str(row.status),
        "amount": int(row.amount),
        "currency": str(row.currency),
        "invoice_ids": sorted(int(r["invoice"]) for r in links),
        "source": str(row.source),
        "reason": reason,
        "created_at": _iso(row.created_at),
        "resolved_at": _iso(row.resolved_at),
    }


SNAPSHOTS = {
    "invoice": invoice_data,
    "payment": payment_data,
    "plan": plan_data,
    "promise": promise_data,
}


async def has_endpoints(scope: TenantScope) -> bool:
    return bool(await scope.exists(WebhookEndpoint).where(WebhookEndpoint.active.eq(True)))


async def emit(
    scope: TenantScope,
    event_type: str,
    obj: str,
    obj_id: int,
    *,
    key: str,
    extra: dict[str, Any] | None = None,
) -> bool:
    """Announce ``event_type`` about ``obj`` ``obj_id``; call inside the change's transaction.

    ``key`` names the change (``"plan:12:completed"``): one event per key, ever. Nothing is
    queued when the tenant has no active endpoint.
    """
    if obj not in SNAPSHOTS:
        raise ValueError(f"unknown webhook object {obj!r}")
    if not await has_endpoints(scope):
        return False
    payload = {
        "type": event_type,
        "object": obj,
        "id": int(obj_id),
        "key": key,
        "created": _iso(endpoints.now()),
        "extra": extra or {},
    }
    # ON CONFLICT DO NOTHING rather than check-then-insert: two requests that see the same
    # change at once (``sync_plans`` runs on page reads) queue one event, and neither fails.
    job = OutboxJob(
        key=f"webhook_event:{key}",
        actor="webhook_event",
        payload=payload,
        status="pending",
        available_at=outbox.now(),
    )
    return await scope.add_unless_exists(job) is not None


def body_of(event_id: str, event_type: str, created: str, slug: str, data: dict[str, Any]) -> str:
    """The exact JSON text POSTed (and signed), stored on the delivery so resends match."""
    event = {"id": event_id, "type": event_type, "created": created, "tenant": slug, "data": data}
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


async def _slug(scope: TenantScope) -> str:
    row = await Tenant.select(Tenant.slug).where(Tenant.id == scope.tenant_id).first()
    return str(row["slug"]) if row else ""


async def fan_out(
    scope: TenantScope,
    event_type: str,
    obj: str,
    obj_id: int,
    *,
    key: str,
    created: str | None = None,
    extra: dict[str, Any] | None = None,
) -> int:
    """One delivery and one job per active endpoint subscribed to ``event_type``; returns how
    many were added (0 on a re-run: the event id derives from ``key``)."""
    targets = [
        e
        for e in await scope.objects(WebhookEndpoint).where(WebhookEndpoint.active.eq(True))
        if subscribed(e, event_type)
    ]
    if not targets:
        return 0
    data = await SNAPSHOTS[obj](scope, obj_id)
    if data is None:
        return 0
    data.update(extra or {})
    event_id = event_id_for(scope.tenant_id, key)
    body = body_of(
        event_id, event_type, created or _iso(endpoints.now()) or "", await _slug(scope), data
    )
    added = 0
    async with db.transaction():
        for endpoint in targets:
            if await scope.exists(WebhookDelivery).where(
                (WebhookDelivery.endpoint == endpoint.id) & (WebhookDelivery.event_id == event_id)
            ):
                continue
            await _queue(scope, endpoint, event_id, event_type, body)
            added += 1
    return added


async def _queue(
    scope: TenantScope, endpoint: WebhookEndpoint, event_id: str, event_type: str, body: str
) -> WebhookDelivery:
    delivery = WebhookDelivery(
        endpoint=endpoint.id,
        event_id=event_id,
        event_type=event_type,
        payload=body,
        status="pending",
        attempts=0,
        created_at=endpoints.now(),
        next_attempt_at=endpoints.now(),
    )
    await scope.add(delivery)
    await outbox.enqueue(
        scope,
        "webhook_deliver",
        {"delivery_id": int(delivery.id)},
        key=f"webhook_deliver:{delivery.id}",
    )
    return delivery


async def ping(scope: TenantScope, endpoint: WebhookEndpoint, actor: str) -> WebhookDelivery:
    """Queue a ``ping`` test event to this endpoint only (sent even while it is disabled)."""
    event_id = str(uuid.uuid4())
    data = {"object": "ping", "endpoint_id": int(endpoint.id), "message": "Recaudo webhook test"}
    body = body_of(event_id, PING, _iso(endpoints.now()) or "", await _slug(scope), data)
    async with db.transaction():
        delivery = await _queue(scope, endpoint, event_id, PING, body)
        await record(
            scope, actor, "webhook.ping", f"webhook_endpoint:{endpoint.id}", event_id=event_id
        )
    return delivery


async def resend(scope: TenantScope, original: WebhookDelivery, actor: str) -> WebhookDelivery:
    """Send the same event (same id and body: the receiver can dedupe) again, as a new
    delivery with its own attempts; the original stays in the log as it was."""
    endpoint = await scope.get(WebhookEndpoint, original.endpoint)
    if endpoint is None:
        raise LookupError("endpoint not found")
    async with db.transaction():
        delivery = await _queue(
            scope, endpoint, str(original.event_id), str(original.event_type), str(original.payload)
        )
        await record(
            scope,
            actor,
            "webhook.resent",
            f"webhook_delivery:{original.id}",
            event_id=str(original.event_id),
            new_delivery=int(delivery.id),
        )
    return delivery
