"""Domain events, one retryable job per plugin: a failing or slow plugin delays nobody else.

The ledger and invoices enqueue ``invoice_event`` / ``payment_event`` in the transaction of the
change. Those jobs only *fan out*: they snapshot the event and enqueue one ``plugin_event`` job
per plugin that implements the hook and is enabled for the tenant, keyed by the parent job and
the plugin (so a re-run of the parent adds nothing). Each ``plugin_event`` job calls that one
plugin's hook with ``(ctx, event)`` on the ``events`` queue, under its own time limit and retry
policy; after :data:`PLUGIN_EVENT_POLICY` gives up it is dead and staff see it.

A synchronous hook runs in a daemon thread, so one that hangs holds neither the event loop nor
process shutdown; its job times out, counts a failed attempt and is retried like any other.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from recaudo.core import db
from recaudo.core.common import outbox
from recaudo.core.common.money import Money
from recaudo.core.einvoicing import triggers as einvoicing_triggers
from recaudo.core.messaging import customer_messages
from recaudo.core.platform import guard
from recaudo.core.platform.host import get_host
from recaudo.core.platform.jobs import Job, RetryPolicy
from recaudo.core.platform.values import InvoiceEvent, PaymentEvent
from recaudo.core.tables import Invoice, Payment
from recaudo.tenants.models import Tenant
from recaudo.tenants.plugin_config import enabled_plugins
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info
from recaudo.workers import webhooks
from recaudo.workers.jobs import CURRENT_JOB
from recaudo.workers.plugin_context import plugin_context

INVOICE_HOOK = "recaudo_invoice_event"
PAYMENT_HOOK = "recaudo_payment_event"

#: A plugin's event handler is retried for a day (5 s doubling to hourly), then dead.
PLUGIN_EVENT_POLICY = RetryPolicy(give_up_after=timedelta(days=1))
PLUGIN_EVENT_LIMIT = timedelta(seconds=30)


class PluginEventFailed(Exception):
    """A plugin's event hook raised; the message names the plugin."""


def _implementers(hook: str) -> list[str]:
    return [impl.plugin_name for impl in getattr(get_host().hook, hook).get_hookimpls()]


async def _fan_out(scope: TenantScope, hook: str, event: dict[str, Any]) -> int:
    """One ``plugin_event`` job per enabled plugin implementing ``hook``; returns how many."""
    enabled = set(await enabled_plugins(scope))
    parent = CURRENT_JOB.get()
    queued = 0
    async with db.transaction():
        for plugin in _implementers(hook):
            if plugin not in enabled:
                continue
            payload = {"plugin": plugin, "hook": hook, "event": event}
            key = f"plugin_event:{parent}:{plugin}"
            queued += await outbox.enqueue(scope, "plugin_event", payload, key=key)
    return queued


async def invoice_event(scope: TenantScope, payload: dict[str, Any]) -> None:
    """An invoice was created, paid or reopened: one job per plugin that listens."""
    invoice = await scope.get(Invoice, payload["invoice_id"])
    if invoice is None:
        return
    event = {
        "invoice_id": int(invoice.id),
        "kind": str(payload["kind"]),
        "balance": {"currency": invoice.currency, "amount": int(invoice.balance)},
    }
    await _fan_out(scope, INVOICE_HOOK, event)
    await webhooks.from_invoice_event(scope, payload)
    if event["kind"] == "created":  # UI, API, import and recurring invoices all pass here
        await einvoicing_triggers.invoice_created(scope, int(invoice.id))
        await customer_messages.invoice_issued(
            scope, int(invoice.id), int(invoice.customer), invoice.issue_date
        )


async def payment_event(scope: TenantScope, payload: dict[str, Any]) -> None:
    """A payment changed status (after commit): one job per plugin that listens."""
    payment = await scope.get(Payment, payload["payment_id"])
    if payment is None:
        return
    event = {
        "payment_id": int(payment.id),
        "kind": str(payload.get("status", payment.status)),
        "amount": {"currency": payment.currency, "amount": int(payment.amount)},
        "method": payment.method,
    }
    await _fan_out(scope, PAYMENT_HOOK, event)
    await webhooks.from_payment_event(scope, payload)
    await einvoicing_triggers.payment_changed(
        scope, int(payment.id), str(event["kind"]), CURRENT_JOB.get()
    )
    # The demo's seeded history is not news: its payments send no receipt.
    if event["kind"] == "approved" and payload.get("source") != "demo":
        await customer_messages.payment_receipt(scope, int(payment.id), int(payment.customer))


def _event(hook: str, tenant: Tenant, data: dict[str, Any]) -> InvoiceEvent | PaymentEvent:
    info = tenant_info(tenant)
    if hook == INVOICE_HOOK:
        balance = Money(data["balance"]["currency"], int(data["balance"]["amount"]))
        return InvoiceEvent(info, int(data["invoice_id"]), str(data["kind"]), balance)
    amount = Money(data["amount"]["currency"], int(data["amount"]["amount"]))
    return PaymentEvent(
        info, int(data["payment_id"]), str(data["kind"]), amount, str(data["method"])
    )


async def in_daemon_thread(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Call ``fn(**kwargs)`` in a daemon thread and await its result.

    Unlike ``asyncio.to_thread``, a call that never returns does not keep the process from
    exiting; cancelling the await (a time limit) abandons it.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def target() -> None:
        try:
            result, error = fn(**kwargs), None
        except BaseException as exc:  # handed to the awaiting coroutine
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:  # the loop closed meanwhile: nobody waits any more
            pass

    threading.Thread(target=target, name="recaudo-plugin-call", daemon=True).start()
    return await future


async def plugin_event(scope: TenantScope, payload: dict[str, Any]) -> None:
    """Call one plugin's event hook with ``(ctx, event)``; raising makes the job retry."""
    plugin, hook = str(payload["plugin"]), str(payload["hook"])
    if plugin not in await enabled_plugins(scope):
        return  # switched off since the event happened
    impls = [i for i in getattr(get_host().hook, hook).get_hookimpls() if i.plugin_name == plugin]
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    if not impls or tenant is None:
        return
    event = _event(hook, tenant, payload["event"])
    ctx = await plugin_context(scope.tenant_id, plugin)
    for impl in impls:
        offered = {"ctx": ctx, "event": event}
        kwargs = {name: offered[name] for name in impl.argnames if name in offered}
        try:
            # The guard records a failure or hang for the tenant's staff (its limit is under
            # the job's, so a hang is recorded before the job is cut off).
            async with guard.watch(plugin, hook, tenant_id=scope.tenant_id):
                if inspect.iscoroutinefunction(impl.function):
                    await impl.function(**kwargs)
                else:
                    await in_daemon_thread(impl.function, **kwargs)
        except Exception as exc:
            raise PluginEventFailed(f"plugin {plugin} failed in {hook}: {exc}") from exc


JOBS = [
    Job("invoice_event", invoice_event, queue="events"),
    Job("payment_event", payment_event, queue="events"),
    Job(
        "plugin_event",
        plugin_event,
        queue="events",
        retry=PLUGIN_EVENT_POLICY,
        time_limit=PLUGIN_EVENT_LIMIT,
    ),
]
