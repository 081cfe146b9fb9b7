"""E-invoicing jobs on the ``einvoicing`` queue.

``einvoice_invoice`` {invoice_id} issues an invoice's tax document; ``einvoice_payment``
{payment_id} makes a payment's documents (SAT: the Pagos 2.0 complement) agree with what it
pays now. Both are idempotent (the service returns what exists; the backend's keys stop a
second issue). A refusal staff must fix (:class:`EInvoicingError`, recorded by the service in
the audit log and on the invoice) ends the job: retrying would be refused again. Anything else
(the PAC is down) raises, and the job is retried with backoff for a day.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from recaudo.core.einvoicing.service import EInvoicingError, issue_invoice, sync_payment
from recaudo.core.platform.jobs import Job, RetryPolicy
from recaudo.tenants.scoped import TenantScope, as_id

log = logging.getLogger(__name__)
ACTOR = "system:einvoicing"
POLICY = RetryPolicy(give_up_after=timedelta(days=1))


async def einvoice_invoice(scope: TenantScope, payload: dict[str, Any]) -> None:
    invoice_id = as_id(payload.get("invoice_id"))
    if invoice_id is None:
        log.error("einvoice_invoice: bad payload %r", payload)
        return
    try:
        document = await issue_invoice(scope, invoice_id, actor=ACTOR)
    except EInvoicingError as exc:
        log.warning("tenant %s invoice %s not documented: %s", scope.tenant_id, invoice_id, exc)
        return
    log.info("tenant %s invoice %s: document %s", scope.tenant_id, invoice_id, document.id)


async def einvoice_payment(scope: TenantScope, payload: dict[str, Any]) -> None:
    payment_id = as_id(payload.get("payment_id"))
    if payment_id is None:
        log.error("einvoice_payment: bad payload %r", payload)
        return
    try:
        changed = await sync_payment(scope, payment_id)
    except EInvoicingError as exc:
        log.warning("tenant %s payment %s not documented: %s", scope.tenant_id, payment_id, exc)
        return
    if changed:
        log.info("tenant %s payment %s: %s document(s)", scope.tenant_id, payment_id, len(changed))


JOBS = [
    Job("einvoice_invoice", einvoice_invoice, queue="einvoicing", retry=POLICY),
    Job("einvoice_payment", einvoice_payment, queue="einvoicing", retry=POLICY),
]
