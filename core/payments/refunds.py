"""Staff-initiated refunds: ask the provider, then apply its authoritative state.

The provider call carries our idempotency key, so a retried refund (double click, timeout) is one
refund at the provider; the ledger then reopens exactly the invoices the refunded money covered.
"""

from __future__ import annotations

from typing import Any

from recaudo.core.common import audit
from recaudo.core.common.money import Money
from recaudo.core.payments.ledger import PaymentError, apply_provider_payment
from recaudo.core.payments.registry import all_methods
from recaudo.core.tables import Payment
from recaudo.tenants.scoped import TenantScope

REFUNDABLE = ("approved", "partially_refunded")


async def refund_payment(
    scope: TenantScope,
    payment_id: int,
    amount: int,
    *,
    idempotency_key: str,
    settings: dict[str, Any],
    actor: str,
) -> Payment:
    payment = await scope.get(Payment, payment_id)
    if payment is None:
        raise PaymentError(f"payment {payment_id}: not found")
    if payment.status not in REFUNDABLE or not payment.provider_payment_id:
        raise PaymentError(f"payment {payment_id}: only approved provider payments can be refunded")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise PaymentError("amount: must be a positive whole number of minor units")
    left = int(payment.amount) - int(payment.amount_refunded)
    if amount > left:
        raise PaymentError(f"amount: at most {left} minor units are left to refund")
    entry = all_methods().get(payment.method)
    if entry is None or not entry[1].supports_refunds:
        raise PaymentError(f"{payment.method}: refunds are not supported; refund by bank")
    method = entry[1]
    result = await method.refund(
        payment.provider_payment_id, Money(payment.currency, amount), idempotency_key, settings
    )
    if not result.ok:
        raise PaymentError(f"the provider refused the refund: {result.error}")
    state = await method.fetch_status(payment.provider_payment_id, settings)
    updated = await apply_provider_payment(scope, method.name, state, source="staff")
    await audit.record(
        scope,
        actor,
        "payment.refund",
        f"payment:{payment_id}",
        amount=amount,
        provider_refund_id=result.provider_refund_id,
    )
    return updated or payment
