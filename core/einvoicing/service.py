"""E-invoicing service: what staff actions, the API, the CLI and the jobs call.

Every function takes the tenant's :class:`TenantScope`; an id of another tenant names nothing
(:class:`DocumentNotFound` / :class:`EInvoicingError`). Errors staff must act on are
:class:`EInvoicingError` with a message fit for a 4xx answer or a CLI error line; any other
exception is transient (the provider is down) and a job retries it.

* Issuing is idempotent: an invoice that already has a live document gets it back, and the
  backend's ``key`` (``invoice:<id>``, ``:<n>`` for the n-th re-issue after cancellations) makes a
  retry after a crash return the same document.
* A refusal is recorded where staff look: the invoice's ``einvoice_status`` becomes ``failed``
  and the audit log has ``einvoice.failed`` (``einvoice.payment_failed`` for payments) with the
  provider's message.
* The invoice's cache columns (``einvoice_backend``, ``einvoice_uuid``, ``einvoice_status``,
  ``einvoice_xml``) follow its current document, for lists and the portal.
"""

from __future__ import annotations

import asyncio
import logging

from recaudo.core.common import outbox
from recaudo.core.common.audit import record
from recaudo.core.einvoicing.backends import Bound, bound_backend, tenant_of
from recaudo.core.einvoicing.requests import (
    MissingRow,
    invoice_request,
    payment_request,
)
from recaudo.core.einvoicing.requests import (
    party_for as _party_for,
)
from recaudo.core.platform.errors import PluginError
from recaudo.core.platform.values import (
    EInvoiceDocument,
    EInvoiceFile,
    EInvoiceParty,
    EInvoiceResult,
)
from recaudo.core.tables import Allocation, Invoice, Payment
from recaudo.tenants.scoped import TenantScope, as_id

log = logging.getLogger(__name__)

#: Statuses of a document that still stands: issuing again returns it instead.
LIVE = ("issued", "pending", "cancel_pending")
#: Those a caller can use now (a ``pending`` one is being issued by someone else).
SETTLED = ("issued", "cancel_pending")
#: How long a staff action or the CLI waits for a document another worker is issuing.
PENDING_WAIT = 30.0
FORMATS = ("xml", "pdf")
PAYMENT_JOB = "einvoice_payment"
INVOICE_JOB = "einvoice_invoice"


class EInvoicingError(Exception):
    """A refusal staff must fix (bad fiscal data, PAC refusal…); its message says why."""


class NotConfigured(EInvoicingError):
    """The tenant has no enabled e-invoicing backend, or its settings are incomplete."""


class DocumentNotFound(EInvoicingError):
    """No document with that id for this tenant."""


# --- the backend -------------------------------------------------------------------------------


async def _reader(scope: TenantScope) -> Bound | None:
    return await bound_backend(scope)


async def _issuer(scope: TenantScope) -> Bound:
    """The backend, ready to issue: :class:`NotConfigured` says what is missing."""
    bound = await bound_backend(scope)
    if bound is None:
        raise NotConfigured(
            "La facturación electrónica no está activada para esta organización "
            "(e-invoicing is not enabled)."
        )
    problems = bound.problems()
    if problems:
        raise NotConfigured(
            f"La configuración de {bound.name} está incompleta: " + "; ".join(problems)
        )
    return bound


async def backend_name(scope: TenantScope) -> str | None:
    """The name of the tenant's enabled e-invoicing backend, if any."""
    bound = await bound_backend(scope)
    return None if bound is None else bound.name


# --- invoices ----------------------------------------------------------------------------------


async def _invoice(scope: TenantScope, invoice_id: int) -> Invoice:
    pk = as_id(invoice_id)
    invoice = await scope.get(Invoice, pk) if pk is not None else None
    if invoice is None:
        raise EInvoicingError(f"Factura {invoice_id} no encontrada (invoice not found).")
    return invoice


async def _cache(scope: TenantScope, invoice_id: int, **values: str) -> None:
    columns = {getattr(Invoice, name): value for name, value in values.items()}
    await scope.update(Invoice, columns).where(Invoice.id == invoice_id)


async def _stamped_xml(bound: Bound, document: EInvoiceDocument, result_xml: str) -> str:
    if result_xml:
        return result_xml
    if "xml" not in document.files:
        return ""
    file = await bound.backend.document_file(bound.ctx, document.id, "xml")
    return file.content.decode("utf-8", "replace") if file is not None else ""


async def _invoice_documents(bound: Bound, invoice_id: int) -> list[EInvoiceDocument]:
    return await bound.backend.documents(
        bound.ctx, invoice_id=invoice_id, kind="invoice", limit=1000
    )


async def _settled(bound: Bound, invoice_id: int) -> list[EInvoiceDocument]:
    """The invoice's documents once none is ``pending`` (a worker issuing it right now), or
    after :data:`PENDING_WAIT`; the caller then asks the backend with the same key, which
    returns that document instead of issuing a second one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PENDING_WAIT
    while True:
        documents = await _invoice_documents(bound, invoice_id)
        if not any(d.status == "pending" for d in documents) or loop.time() > deadline:
            return documents
        await asyncio.sleep(0.5)


async def _failed(
    scope: TenantScope, actor: str, action: str, subject: str, message: str, **data: object
) -> EInvoicingError:
    await record(scope, actor, action, subject, error=message[:2000], **data)
    return EInvoicingError(message)


async def _not_configured(
    scope: TenantScope, invoice_id: int, actor: str, exc: NotConfigured
) -> None:
    """A tenant that enabled a backend but has not finished its settings: the invoice says
    so (``failed``) instead of silently having no document; without a backend, nothing."""
    name = await backend_name(scope)
    pk = as_id(invoice_id)
    if name is None or pk is None or await scope.get(Invoice, pk) is None:
        return
    await _cache(scope, pk, einvoice_backend=name, einvoice_status="failed")
    await record(scope, actor, "einvoice.failed", f"invoice:{pk}", error=str(exc)[:2000])


async def issue_invoice(scope: TenantScope, invoice_id: int, *, actor: str) -> EInvoiceDocument:
    """Issue the invoice's tax document now, or return the one it already has."""
    try:
        bound = await _issuer(scope)
    except NotConfigured as exc:
        await _not_configured(scope, invoice_id, actor, exc)
        raise
    invoice = await _invoice(scope, invoice_id)
    inv_id = int(invoice.id)
    subject = f"invoice:{inv_id}"
    documents = await _invoice_documents(bound, inv_id)
    if any(d.status == "pending" for d in documents):
        documents = await _settled(bound, inv_id)
    live = [d for d in documents if d.status in SETTLED]
    if live:
        current = live[0]
        if invoice.einvoice_uuid != current.fiscal_id or invoice.einvoice_status != current.status:
            await _cache(
                scope,
                inv_id,
                einvoice_backend=bound.name,
                einvoice_uuid=current.fiscal_id,
                einvoice_status=current.status,
                einvoice_xml=await _stamped_xml(bound, current, ""),
            )
        return current
    if not documents and invoice.einvoice_status == "issued" and invoice.einvoice_uuid:
        # stamped by a backend that keeps no listing: the invoice's columns are the record
        stamped = EInvoiceResult(ok=True, uuid=str(invoice.einvoice_uuid), xml=invoice.einvoice_xml)
        return _unlisted(bound.name, inv_id, invoice, stamped)
    if invoice.status == "void":
        raise EInvoicingError(
            f"La factura {invoice.number} está anulada; no se emite CFDI (invoice is void)."
        )
    party = await _party_for(scope, int(invoice.customer))
    problems = bound.backend.party_errors(bound.ctx, party)
    if problems:
        await _cache(scope, inv_id, einvoice_backend=bound.name, einvoice_status="failed")
        raise await _failed(
            scope, actor, "einvoice.failed", subject, "; ".join(problems), number=invoice.number
        )
    cancelled = [d for d in documents if d.status == "cancelled"]
    generation = len(cancelled)
    key = f"invoice:{inv_id}" + (f":{generation}" if generation else "")
    replaces = cancelled[0].fiscal_id if cancelled else ""
    info = await tenant_of(scope)
    request = await invoice_request(scope, info, invoice, key=key, replaces=replaces)
    try:
        result = await bound.backend.issue(bound.ctx, request)
    except PluginError as exc:
        result = EInvoiceResult(ok=False, error=str(exc))
    if not result.ok or (result.document is None and not result.uuid):
        message = result.error or "el proveedor no emitió el documento (no document issued)"
        await _cache(scope, inv_id, einvoice_backend=bound.name, einvoice_status="failed")
        raise await _failed(
            scope, actor, "einvoice.failed", subject, message, number=invoice.number, key=key
        )
    document = result.document
    if document is None:
        found = [d for d in await _invoice_documents(bound, inv_id) if d.status in LIVE]
        # A backend that keeps no listing (API 1.0: ``issue`` only) stamped it: the invoice's
        # own columns hold its fiscal id and XML from now on.
        document = found[0] if found else _unlisted(bound.name, inv_id, invoice, result)
    await _cache(
        scope,
        inv_id,
        einvoice_backend=bound.name,
        einvoice_uuid=document.fiscal_id or result.uuid,
        einvoice_status=document.status,
        einvoice_xml=await _stamped_xml(bound, document, result.xml),
    )
    await record(
        scope,
        actor,
        "einvoice.issued",
        subject,
        document_id=document.id,
        uuid=document.fiscal_id or result.uuid,
        number=invoice.number,
        payment_terms=document.payment_terms,
    )
    if document.payment_terms == "PPD":
        await _complements_for(scope, inv_id, document.id)
    return document


def _unlisted(
    backend: str, invoice_id: int, invoice: Invoice, result: EInvoiceResult
) -> EInvoiceDocument:
    """What an issue-only backend stamped, as a document (id 0: it has no row of its own)."""
    return EInvoiceDocument(
        id=0,
        backend=backend,
        kind="invoice",
        type_code="",
        status="issued",
        fiscal_id=result.uuid,
        invoice_id=invoice_id,
        customer_id=int(invoice.customer),
        files=("xml",) if result.xml else (),
    )


async def _complements_for(scope: TenantScope, invoice_id: int, document_id: int) -> None:
    """An invoice documented after payments reached it: each such payment gets its complement."""
    rows = await scope.select(Allocation, Allocation.payment).where(
        Allocation.invoice == invoice_id
    )
    for payment_id in sorted({int(r["payment"]) for r in rows}):
        await outbox.enqueue(
            scope,
            PAYMENT_JOB,
            {"payment_id": payment_id},
            key=f"{PAYMENT_JOB}:{payment_id}:document:{document_id}",
        )


# --- payments ----------------------------------------------------------------------------------


async def sync_payment(scope: TenantScope, payment_id: int) -> list[EInvoiceDocument]:
    """Make the payment's documents agree with what it pays now; returns what changed."""
    bound = await _reader(scope)
    if bound is None:
        return []
    pk = as_id(payment_id)
    payment = await scope.get(Payment, pk) if pk is not None else None
    if payment is None:
        raise EInvoicingError(f"Pago {payment_id} no encontrado (payment not found).")
    info = await tenant_of(scope)
    request = await payment_request(scope, info, payment)
    if not any(p.fiscal_id for p in request.invoices):
        existing = await bound.backend.documents(bound.ctx, payment_id=int(payment.id), limit=1)
        if not existing:
            return []  # nothing documented to pay, nothing issued to undo
    problems = bound.problems()
    if problems:
        raise NotConfigured(
            f"La configuración de {bound.name} está incompleta: " + "; ".join(problems)
        )
    try:
        result = await bound.backend.issue_payment(bound.ctx, request)
    except PluginError as exc:
        result = EInvoiceResult(ok=False, error=str(exc))
    subject = f"payment:{int(payment.id)}"
    if not result.ok:
        message = result.error or "el proveedor rechazó el complemento de pago"
        raise await _failed(
            scope, "system:einvoicing", "einvoice.payment_failed", subject, message, key=request.key
        )
    changed = list(result.changed)
    if changed:
        await record(
            scope,
            "system:einvoicing",
            "einvoice.payment_synced",
            subject,
            key=request.key,
            documents=[[d.id, d.status, d.fiscal_id] for d in changed],
        )
    return changed


# --- documents ---------------------------------------------------------------------------------


async def _document(bound: Bound | None, document_id: int) -> EInvoiceDocument:
    pk = as_id(document_id)
    document = None
    if bound is not None and pk is not None:
        document = await bound.backend.document(bound.ctx, pk)
    if document is None:
        raise DocumentNotFound(f"Documento {document_id} no encontrado (document not found).")
    return document


async def _follow(scope: TenantScope, bound: Bound, document: EInvoiceDocument) -> None:
    """Keep the invoice's cache columns on the invoice's current document."""
    if document.kind != "invoice" or document.invoice_id is None:
        return
    invoice = await scope.get(Invoice, document.invoice_id)
    if invoice is None or (invoice.einvoice_uuid and invoice.einvoice_uuid != document.fiscal_id):
        return
    await _cache(
        scope,
        int(invoice.id),
        einvoice_backend=bound.name,
        einvoice_uuid=document.fiscal_id,
        einvoice_status=document.status,
    )


async def cancel_document(
    scope: TenantScope, document_id: int, *, reason: str, replacement: str = "", actor: str
) -> EInvoiceDocument:
    """Cancel one document with the country's reason code (SAT 01–04)."""
    bound = await _issuer(scope)
    document = await _document(bound, document_id)
    reason = (reason or "").strip()
    if not reason:
        raise EInvoicingError("Indica el motivo de cancelación (a cancellation reason is needed).")
    if document.status == "cancelled":
        return document
    try:
        result = await bound.backend.cancel(
            bound.ctx, document.id, reason, (replacement or "").strip()
        )
    except PluginError as exc:
        result = EInvoiceResult(ok=False, error=str(exc))
    subject = f"einvoice:{document.id}"
    if not result.ok:
        raise await _failed(
            scope,
            actor,
            "einvoice.cancel_failed",
            subject,
            result.error or "el proveedor rechazó la cancelación",
            reason=reason,
        )
    updated = result.document or await _document(bound, document.id)
    await _follow(scope, bound, updated)
    await record(
        scope,
        actor,
        "einvoice.cancelled",
        subject,
        uuid=updated.fiscal_id,
        reason=reason,
        replacement=replacement,
        status=updated.status,
    )
    return updated


async def refresh_document(scope: TenantScope, document_id: int) -> EInvoiceDocument:
    """Ask the authority for the document's status now."""
    bound = await _reader(scope)
    document = await _document(bound, document_id)
    assert bound is not None  # _document found it through the backend
    try:
        updated = await bound.backend.refresh(bound.ctx, document.id)
    except PluginError as exc:
        raise EInvoicingError(str(exc)) from exc
    await _follow(scope, bound, updated)
    return updated


async def list_documents(
    scope: TenantScope,
    *,
    invoice_id: int | None = None,
    payment_id: int | None = None,
    customer_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[EInvoiceDocument]:
    """The tenant's documents, newest first; ``[]`` when it has no backend."""
    bound = await _reader(scope)
    if bound is None:
        return []
    return await bound.backend.documents(
        bound.ctx,
        invoice_id=invoice_id,
        payment_id=payment_id,
        customer_id=customer_id,
        kind=kind or None,
        status=status or None,
        limit=max(1, min(int(limit), 1000)),
        before_id=before_id,
    )


async def get_document(scope: TenantScope, document_id: int) -> EInvoiceDocument:
    return await _document(await _reader(scope), document_id)


async def document_file(scope: TenantScope, document_id: int, fmt: str) -> EInvoiceFile:
    """The document as ``xml`` (exactly as stamped) or ``pdf``."""
    bound = await _reader(scope)
    document = await _document(bound, document_id)
    assert bound is not None
    if fmt not in FORMATS or fmt not in document.files:
        raise DocumentNotFound(
            f"El documento {document_id} no tiene archivo {fmt!r} (no such file)."
        )
    file = await bound.backend.document_file(bound.ctx, document.id, fmt)
    if file is None:
        raise DocumentNotFound(
            f"El documento {document_id} no tiene archivo {fmt!r} (no such file)."
        )
    return file


async def fiscal_errors(scope: TenantScope, party: EInvoiceParty) -> list[str]:
    """What the tenant's backend finds wrong in a customer's fiscal data (``[]``: fine or no
    backend)."""
    bound = await _reader(scope)
    if bound is None:
        return []
    return list(bound.backend.party_errors(bound.ctx, party))


async def party_for(scope: TenantScope, customer_id: int) -> EInvoiceParty:
    """The customer's fiscal identity as recorded (:class:`EInvoicingError` if not found)."""
    pk = as_id(customer_id)
    if pk is None:
        raise EInvoicingError(f"Cliente {customer_id} no encontrado (customer not found).")
    try:
        return await _party_for(scope, pk)
    except MissingRow as exc:
        raise EInvoicingError(f"Cliente {customer_id} no encontrado (customer not found).") from exc
