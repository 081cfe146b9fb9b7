"""Starting a provider checkout for a portal payment, once, whatever the number of clicks.

The ledger makes the *payment* idempotent (same key, same row). This module makes the *checkout*
idempotent too: the first request claims the payment with a conditional update (optimistic on
``updated_at``), calls the plugin and stores the result in ``Payment.checkout``; a repeated or
concurrent request waits briefly for that stored result and shows it instead of opening a second
checkout at the provider.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from recaudo.core.common.jsonfield import loads
from recaudo.core.common.money import Money
from recaudo.core.payments.expiry import aware, lifetime
from recaudo.core.payments.ledger import apply_provider_payment
from recaudo.core.payments.method import Checkout, CheckoutResult, PaymentMethod
from recaudo.core.platform import guard
from recaudo.core.platform.context import PluginContext
from recaudo.core.tables import Customer, Payment
from recaudo.tenants.scoped import TenantScope

log = logging.getLogger(__name__)
WAIT_FOR_OTHER_S = 8.0


class CheckoutError(RuntimeError):
    """The provider could not start the checkout; the customer may retry with a new attempt."""


def stored(payment: Payment) -> dict[str, Any]:
    value = loads(payment.checkout, {})
    return value if isinstance(value, dict) else {}


def _serialise(result: CheckoutResult) -> dict[str, Any]:
    data = asdict(result)
    data["expires_at"] = result.expires_at.isoformat() if result.expires_at else None
    return data


def _expiry(result: CheckoutResult) -> datetime:
    """The provider's expiry when it gave one (a voucher's), else the default for its kind."""
    if result.expires_at is not None:
        return aware(result.expires_at)
    return datetime.now(UTC) + lifetime(result.kind)


async def _claim(scope: TenantScope, payment: Payment, extra: dict[str, Any]) -> bool:
    now = datetime.now(UTC)
    claimed = await (
        scope.update(
            Payment, {Payment.checkout: {**extra, "state": "starting"}, Payment.updated_at: now}
        )
        .where(
            Payment.id == payment.id,
            Payment.updated_at == payment.updated_at,
            Payment.status == "pending",
        )
        .returning(Payment.id)
    )
    return bool(claimed)


async def start_once(
    scope: TenantScope,
    payment: Payment,
    *,
    method: PaymentMethod,
    ctx: PluginContext,
    customer: Customer,
    description: str,
    return_url: str,
    notification_url: str,
    option: str = "",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The checkout result for ``payment`` as stored (``kind``, ``redirect_url``, …).

    ``ctx`` is the context of the plugin offering ``method``, for the payment's tenant."""
    current = stored(payment)
    if current.get("kind"):
        return current
    if current.get("state") != "starting" and await _claim(scope, payment, extra or {}):
        checkout = Checkout(
            payment_id=int(payment.id),
            idempotency_key=str(payment.idempotency_key),
            amount=Money(str(payment.currency), int(payment.amount)),
            description=description,
            customer_name=str(customer.name),
            customer_email=str(customer.email or ""),
            return_url=return_url,
            notification_url=notification_url,
            option=option,
            customer_id=int(customer.id),
            customer_reference=str(customer.payment_reference or ""),
        )
        try:
            async with guard.watch(ctx.plugin, "start_checkout", tenant_id=ctx.tenant.id):
                result = await method.start_checkout(ctx, checkout)
        except Exception as exc:
            log.exception("checkout of payment %s with %s failed", payment.id, method.name)
            await scope.update(
                Payment, {Payment.checkout: {**(extra or {}), "state": "failed"}}
            ).where(Payment.id == payment.id)
            raise CheckoutError(str(exc)) from None
        data = {**(extra or {}), **_serialise(result), "state": "started"}
        await scope.update(
            Payment, {Payment.checkout: data, Payment.expires_at: _expiry(result)}
        ).where(Payment.id == payment.id)
        return data
    # Someone else (a double click) is starting it: wait for their result.
    deadline = asyncio.get_running_loop().time() + WAIT_FOR_OTHER_S
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
        again = await scope.get(Payment, payment.id)
        if again is None:
            break
        data = stored(again)
        if data.get("kind"):
            return data
        if data.get("state") == "failed":
            raise CheckoutError("the first attempt failed")
    raise CheckoutError("the checkout is taking too long")


_last_check: dict[tuple[int, str], float] = {}
CHECK_EVERY_S = 3.0


async def refresh_status(
    scope: TenantScope,
    payment: Payment,
    method: PaymentMethod | None,
    ctx: PluginContext | None,
) -> Payment:
    """Ask the provider about a payment still in flight (a lost webhook must not strand it).

    Throttled per process so a polling page does not hammer the provider.
    """
    if method is None or ctx is None or payment.status not in ("pending", "in_process"):
        return payment
    loop_now = asyncio.get_running_loop().time()
    key = (scope.tenant_id, str(payment.idempotency_key))
    if loop_now - _last_check.get(key, 0.0) < CHECK_EVERY_S:
        return payment
    if len(_last_check) > 10_000:
        _last_check.clear()
    _last_check[key] = loop_now
    try:
        states = await method.search_by_reference(ctx, int(payment.id))
        for state in states:
            await apply_provider_payment(scope, method.name, state, source="poll")
    except Exception:
        log.warning("status check of payment %s failed", payment.id, exc_info=True)
        return payment
    return await scope.get(Payment, payment.id) or payment
