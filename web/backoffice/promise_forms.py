"""What the staff customer page needs to show and record promises to pay."""

from __future__ import annotations

from typing import Any

from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.collections.promises import customer_promises
from recaudo.core.tables import Customer, Invoice
from recaudo.tenants.scoped import TenantScope


async def promise_context(scope: TenantScope, customer: Customer, timezone: str) -> dict[str, Any]:
    """The customer's promises (newest first) and the invoices a new one may cover."""
    open_rows = await (
        scope.objects(Invoice)
        .where(
            Invoice.customer == customer.id,
            Invoice.status.is_in(list(OPEN_STATUSES)),
            Invoice.plan_id.is_null(),
        )
        .order_by(Invoice.due_date, Invoice.id)
        .limit(200)
    )
    return {
        "promises": await customer_promises(scope, int(customer.id), timezone),
        "promise_invoices": [row for row in open_rows if row.balance > 0],
    }
