"""Staff-initiated refunds: ask the provider, then apply its authoritative state.

The provider call carries our idempotency key, so a retried refund (double click, timeout) is one
refund at the provider; the ledger then reopens exactly the invoices the refunded money covered.
"""

from __future__ import annotations

from recaudo.core.common import audit
from recaudo.core.common.jsonfield import loads
from recaudo.core.common.money import Money
from recaudo.core.payments.ledger import PaymentError, apply_provider_payment
from recaudo.core.payments.registry import all_methods
from recaudo.core.platform.context import context_for
from recaudo.core.tables import AuditEvent, Payment
from recaudo.tenants.scoped import TenantScope

REFUNDABLE = ("approved", "partially_refunded")


async def refund_payment(
    scope: TenantScope,
    payment_id: int,
    amount: int,
    *,
    idempotency_key: str,
    actor: str,
    reason: str = "",
) -> Payment:
    """Refund ``amount`` of a payment through the plugin that took it (its context carries the
    tenant and the plugin's settings)."""
    payment = await scope.get(Payment, payment_id)
    if payment is None:
        raise PaymentError(f"payment {payment_id}: not found")
    if await _already_refunded(scope, payment_id, idempotency_key):
        return payment  # the same request again (double click, retry): one refund
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
    plugin, method = entry
    ctx = await context_for(scope.tenant_id, plugin)
    result = await method.refund(
        ctx, payment.provider_payment_id, Money(payment.currency, amount), idempotency_key
    )
    if not result.ok:
        raise PaymentError(f"the provider refused the refund: {result.error}")
    state = await method.fetch_status(ctx, payment.provider_payment_id)
    updated = await apply_provider_payment(scope, method.name, state, source="staff")
    await audit.record(
        scope,
        actor,
        "payment.refund",
        f"payment:{payment_id}",
        amount=amount,
        provider_refund_id=result.provider_refund_id,
        idempotency_key=idempotency_key,
        reason=reason[:500],
    )
    return updated or payment


async def _already_refunded(scope: TenantScope, payment_id: int, key: str) -> bool:
    """Whether a refund of this payment with this idempotency key was already made (providers
    that ignore the key, such as the sandbox, would otherwise refund twice)."""
    rows = await scope.select(AuditEvent, AuditEvent.data).where(
        AuditEvent.subject == f"payment:{payment_id}", AuditEvent.action == "payment.refund"
    )
    datas = [loads(row["data"], {}) for row in rows]
    return any(isinstance(d, dict) and d.get("idempotency_key") == key for d in datas)
