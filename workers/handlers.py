"""Payment job handlers: applying provider events and polling providers. Each is idempotent."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from recaudo.core.common.jsonfield import loads
from recaudo.core.payments.registry import method_for_plugin
from recaudo.core.platform.context import context_for
from recaudo.core.platform.jobs import Job, RetryPolicy
from recaudo.core.tables import Payment, ProviderEvent
from recaudo.tenants.scoped import TenantScope

log = logging.getLogger(__name__)


#: A provider event may carry a refund or chargeback: never abandon it (hourly once backed off).
NEVER_GIVE_UP = RetryPolicy(give_up_after=None)
#: Status checks: three days of tries, then dead (staff see it and may retry it); the sweep
#: re-arms a check only once it has succeeded (so a check never runs twice at once).
CHECK_POLICY = RetryPolicy(give_up_after=timedelta(days=3))
#: Statuses a provider check still applies to: open ones, and money a refund could take back.
CHECKED_STATUSES = ("pending", "in_process", "approved", "partially_refunded")


async def process_provider_event(scope: TenantScope, payload: dict[str, Any]) -> None:
    """Fetch the authoritative status of the payment a webhook named, then apply it."""
    from recaudo.core.payments.ledger import apply_provider_payment

    event = await scope.get(ProviderEvent, payload["event_id"])
    if event is None or event.status == "processed":
        return
    data = loads(event.payload, {})
    method = method_for_plugin(event.plugin)
    if method is None:
        raise LookupError(f"payment plugin {event.plugin!r} is not installed")
    ctx = await context_for(scope.tenant_id, event.plugin)
    provider_id = data.get("provider_payment_id")
    states = []
    if provider_id:
        states.append(await method.fetch_status(ctx, str(provider_id)))
    elif data.get("our_payment_id"):
        states.extend(await method.search_by_reference(ctx, int(data["our_payment_id"])))
    for state in states:
        await apply_provider_payment(scope, method.name, state, source="webhook")
    event.status = "processed"
    event.processed_at = datetime.now(UTC)
    await scope.save(event)


async def reconcile_payment(scope: TenantScope, payload: dict[str, Any]) -> None:
    """Ask the provider about a payment (status poll): a pending one whose notification never
    came, or an approved one the provider may have refunded or charged back since."""
    from recaudo.core.payments.ledger import apply_provider_payment
    from recaudo.core.payments.registry import all_methods

    payment = await scope.get(Payment, payload["payment_id"])
    if payment is None or payment.status not in CHECKED_STATUSES:
        return
    if payment.status not in ("pending", "in_process") and not payment.provider_payment_id:
        return
    entry = all_methods().get(payment.method)
    if entry is None:
        return
    plugin, method = entry
    ctx = await context_for(scope.tenant_id, plugin)
    try:
        if payment.provider_payment_id:
            states = [await method.fetch_status(ctx, payment.provider_payment_id)]
        else:
            states = await method.search_by_reference(ctx, int(payment.id))
    except NotImplementedError:
        return  # the method cannot be asked (e.g. bank transfers confirmed by staff)
    for state in states:
        await apply_provider_payment(scope, method.name, state, source="poll")


JOBS = [
    Job("process_provider_event", process_provider_event, queue="payments", retry=NEVER_GIVE_UP),
    Job("reconcile_payment", reconcile_payment, queue="payments", retry=CHECK_POLICY),
]
