"""Ledger events → e-invoicing jobs, only for tenants with an enabled backend.

Called from the host's ``invoice_event`` / ``payment_event`` jobs. The jobs are enqueued through
the outbox with a key derived from the event's job (or the event itself), so a re-run of the
event job adds nothing. A tenant without a backend costs one indexed read.
"""

from __future__ import annotations

from typing import Any

from recaudo.core.common import outbox
from recaudo.core.einvoicing.backends import find_backend, tenant_of
from recaudo.core.platform.context import context_for
from recaudo.tenants.scoped import TenantScope

INVOICE_JOB = "einvoice_invoice"
PAYMENT_JOB = "einvoice_payment"


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


async def auto_issue(scope: TenantScope) -> bool:
    """Does the tenant want invoices documented as they are created? Its backend's
    ``auto_issue`` setting, on unless switched off; off without a backend."""
    info = await tenant_of(scope)
    found = await find_backend(scope, info)
    if found is None:
        return False
    ctx = await context_for(info, found[0])
    return _truthy(ctx.settings.get("auto_issue", True))


async def invoice_created(scope: TenantScope, invoice_id: int) -> bool:
    """Queue the invoice's tax document; ``True`` when a job was queued."""
    if not await auto_issue(scope):
        return False
    return await outbox.enqueue(
        scope, INVOICE_JOB, {"invoice_id": int(invoice_id)}, key=f"{INVOICE_JOB}:{invoice_id}"
    )


async def payment_changed(
    scope: TenantScope, payment_id: int, status: str, event_job: int | None
) -> bool:
    """Queue the payment's fiscal sync after any status change; ``True`` when queued."""
    if await find_backend(scope) is None:
        return False
    origin = f"job{event_job}" if event_job is not None else status
    return await outbox.enqueue(
        scope,
        PAYMENT_JOB,
        {"payment_id": int(payment_id)},
        key=f"{PAYMENT_JOB}:{payment_id}:{origin}",
    )
