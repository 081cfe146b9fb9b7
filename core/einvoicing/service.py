"""E-invoicing service: what staff actions, the API, the CLI and the jobs call.

Every function takes the tenant's :class:`TenantScope`; an id of another tenant names nothing
(:class:`DocumentNotFound` / :class:`EInvoicingError`). Errors staff must act on are
:class:`EInvoicingError` with a message fit for a 4xx answer or a CLI error line.
"""

from __future__ import annotations

from recaudo.core.platform.values import EInvoiceDocument, EInvoiceFile, EInvoiceParty
from recaudo.tenants.scoped import TenantScope


class EInvoicingError(Exception):
    """A refusal staff must fix (bad fiscal data, PAC refusal…); its message says why."""


class NotConfigured(EInvoicingError):
    """The tenant has no enabled e-invoicing backend, or its settings are incomplete."""


class DocumentNotFound(EInvoicingError):
    """No document with that id for this tenant."""


async def backend_name(scope: TenantScope) -> str | None:
    raise NotImplementedError


async def issue_invoice(scope: TenantScope, invoice_id: int, *, actor: str) -> EInvoiceDocument:
    raise NotImplementedError


async def sync_payment(scope: TenantScope, payment_id: int) -> list[EInvoiceDocument]:
    raise NotImplementedError


async def cancel_document(
    scope: TenantScope, document_id: int, *, reason: str, replacement: str = "", actor: str
) -> EInvoiceDocument:
    raise NotImplementedError


async def refresh_document(scope: TenantScope, document_id: int) -> EInvoiceDocument:
    raise NotImplementedError


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
    raise NotImplementedError


async def get_document(scope: TenantScope, document_id: int) -> EInvoiceDocument:
    raise NotImplementedError


async def document_file(scope: TenantScope, document_id: int, fmt: str) -> EInvoiceFile:
    raise NotImplementedError


async def fiscal_errors(scope: TenantScope, party: EInvoiceParty) -> list[str]:
    raise NotImplementedError


async def party_for(scope: TenantScope, customer_id: int) -> EInvoiceParty:
    raise NotImplementedError
