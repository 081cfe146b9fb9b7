"""Outbox job handlers: what workers actually do. Each is idempotent."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from recaudo.core.common.jsonfield import loads
from recaudo.core.common.money import Money
from recaudo.core.config import active
from recaudo.core.payments.registry import method_for_plugin
from recaudo.core.platform.host import get_host
from recaudo.core.platform.values import InvoiceEvent, PaymentEvent
from recaudo.core.tables import Invoice, Payment, ProviderEvent
from recaudo.tenants.models import Tenant
from recaudo.tenants.plugin_config import enabled_plugins, plugin_settings
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info
from recaudo.workers.jobs import RetryPolicy, job

log = logging.getLogger(__name__)


def _secret_key() -> str:
    return active().secret_key


#: A provider event may carry a refund or chargeback: never abandon it (hourly once backed off).
NEVER_GIVE_UP = RetryPolicy(give_up_after=None)
#: Status checks: three days of tries, then dead (staff see it and may retry it); the sweep
#: re-arms a check only once it has succeeded (so a check never runs twice at once).
CHECK_POLICY = RetryPolicy(give_up_after=timedelta(days=3))
#: Statuses a provider check still applies to: open ones, and money a refund could take back.
CHECKED_STATUSES = ("pending", "in_process", "approved", "partially_refunded")


@job("process_provider_event", retry=NEVER_GIVE_UP)
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
    settings = await plugin_settings(scope, event.plugin, _secret_key())
    provider_id = data.get("provider_payment_id")
    states = []
    if provider_id:
        states.append(await method.fetch_status(str(provider_id), settings))
    elif data.get("our_payment_id"):
        states.extend(await method.search_by_reference(int(data["our_payment_id"]), settings))
    for state in states:
        await apply_provider_payment(scope, method.name, state, source="webhook")
    event.status = "processed"
    event.processed_at = datetime.now(UTC)
    await scope.save(event)


@job("reconcile_payment", retry=CHECK_POLICY)
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
    settings = await plugin_settings(scope, plugin, _secret_key())
    try:
        if payment.provider_payment_id:
            states = [await method.fetch_status(payment.provider_payment_id, settings)]
        else:
            states = await method.search_by_reference(int(payment.id), settings)
    except NotImplementedError:
        return  # the method cannot be asked (e.g. bank transfers confirmed by staff)
    for state in states:
        await apply_provider_payment(scope, method.name, state, source="poll")


@job("invoice_event")
async def invoice_event(scope: TenantScope, payload: dict[str, Any]) -> None:
    """Tell the tenant's enabled plugins that an invoice was created, paid or reopened."""
    invoice = await scope.get(Invoice, payload["invoice_id"])
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    if invoice is None or tenant is None:
        return
    event = InvoiceEvent(
        tenant=tenant_info(tenant),
        invoice_id=int(invoice.id),
        kind=str(payload["kind"]),
        balance=Money(invoice.currency, invoice.balance),
    )
    hook = get_host().for_tenant(await enabled_plugins(scope), "recaudo_invoice_event")
    try:
        hook(event=event)
    except Exception:
        log.exception("a plugin failed handling invoice event %s", payload)


@job("payment_event")
async def payment_event(scope: TenantScope, payload: dict[str, Any]) -> None:
    """Tell the tenant's enabled plugins that a payment changed status (after commit)."""
    payment = await scope.get(Payment, payload["payment_id"])
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    if payment is None or tenant is None:
        return
    event = PaymentEvent(
        tenant=tenant_info(tenant),
        payment_id=int(payment.id),
        kind=str(payload.get("status", payment.status)),
        amount=Money(payment.currency, int(payment.amount)),
        method=payment.method,
    )
    hook = get_host().for_tenant(await enabled_plugins(scope), "recaudo_payment_event")
    try:
        hook(event=event)
    except Exception:
        log.exception("a plugin failed handling payment event %s", payload)
