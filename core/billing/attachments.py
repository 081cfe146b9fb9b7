"""Invoice attachments: the PDF and XML (CFDI, DIAN, AFIP…) files an ERP produces for an invoice.

Stored in the database like proofs of payment (``invoice_attachment.content``), with their size
and SHA-256. The type comes from the file's own first bytes — a PDF starts with ``%PDF-``, an XML
document with ``<?xml`` (after an optional byte-order mark and white space) — never from its name
or the browser's declared type; anything else is refused, as is a file over
:data:`MAX_ATTACHMENT_BYTES`. The same bytes attached twice to one invoice are stored once.
Downloads are always attachments named ``<invoice number>-<id>.<pdf|xml>`` from that sniffed type.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from recaudo.core.common.audit import record
from recaudo.core.tables import Invoice, InvoiceAttachment
from recaudo.tenants.scoped import TenantScope, as_id

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_PER_INVOICE = 20
EXTENSIONS = {"application/pdf": "pdf", "application/xml": "xml"}
TOO_BIG = "El archivo pesa más de 10 MB."
BAD_TYPE = "Solo se pueden adjuntar archivos PDF o XML."


class AttachmentError(ValueError):
    """A file we do not accept; the message is Spanish (shown to staff), ``status`` the HTTP
    status to answer with and ``field`` the form field."""

    def __init__(self, message: str, status: int = 400, field: str = "archivo") -> None:
        super().__init__(message)
        self.status = status
        self.field = field


def sniff_attachment(content: bytes) -> str | None:
    """``application/pdf`` or ``application/xml`` when the bytes prove it, else ``None``."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    head = content[:1024]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head.lstrip(b" \t\r\n").startswith(b"<?xml"):
        return "application/xml"
    return None


def clean_name(name: str, content_type: str) -> str:
    """The file's name for display (path parts and odd characters removed, the right suffix)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .")[:150]
    extension = EXTENSIONS[content_type]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{stem or 'adjunto'}.{extension}"


def download_name(invoice_number: str, attachment: InvoiceAttachment) -> str:
    """A safe file name for ``Content-Disposition`` (ASCII letters, digits, ``-`` and ``_``)."""
    stem = "".join(c for c in invoice_number if c.isascii() and (c.isalnum() or c in "-_"))
    kind = sniff_attachment(bytes(attachment.content or b"")) or ""
    extension = EXTENSIONS.get(kind, "bin")
    return f"{stem or 'factura'}-{attachment.id}.{extension}"


async def add_attachment(
    scope: TenantScope, invoice_id: int, filename: str, data: bytes, actor: str
) -> InvoiceAttachment:
    """Attach a PDF or XML file to one of the tenant's invoices; audited ``invoice.attachment``.

    Raises :class:`LookupError` for an invoice that is not this tenant's, and
    :class:`AttachmentError` for an empty, too big or unrecognised file or too many files.
    """
    invoice = await scope.get(Invoice, invoice_id)
    if invoice is None:
        raise LookupError(f"invoice {invoice_id}: not found")
    if not isinstance(data, bytes | bytearray) or not data:
        raise AttachmentError("Elige el archivo a adjuntar.")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise AttachmentError(TOO_BIG, 413)
    content_type = sniff_attachment(bytes(data))
    if content_type is None:
        raise AttachmentError(BAD_TYPE, 415)
    digest = hashlib.sha256(data).hexdigest()
    existing = (
        await scope.objects(InvoiceAttachment)
        .where(InvoiceAttachment.invoice == invoice.id, InvoiceAttachment.sha256 == digest)
        .first()
    )
    if existing is not None:
        return existing
    if await scope.count(InvoiceAttachment).where(InvoiceAttachment.invoice == invoice.id) >= (
        MAX_PER_INVOICE
    ):
        raise AttachmentError(f"Una factura admite hasta {MAX_PER_INVOICE} archivos.", 409)
    row = InvoiceAttachment(
        invoice=invoice.id,
        filename=clean_name(filename, content_type),
        content_type=content_type,
        size=len(data),
        sha256=digest,
        content=bytes(data),
        uploaded_by=actor[:100],
        created_at=datetime.now(UTC),
    )
    await scope.add(row)
    await record(
        scope,
        actor,
        "invoice.attachment",
        f"invoice:{invoice.id}",
        attachment_id=int(row.id),
        filename=row.filename,
        content_type=content_type,
        size=len(data),
        sha256=digest,
    )
    return row


async def list_attachments(scope: TenantScope, invoice_id: int) -> list[dict[str, Any]]:
    """An invoice's attachments without their bytes, oldest first."""
    pk = as_id(invoice_id)
    if pk is None:
        return []
    return await (
        scope.select(
            InvoiceAttachment,
            InvoiceAttachment.id,
            InvoiceAttachment.filename,
            InvoiceAttachment.content_type,
            InvoiceAttachment.size,
            InvoiceAttachment.sha256,
            InvoiceAttachment.uploaded_by,
            InvoiceAttachment.created_at,
        )
        .where(InvoiceAttachment.invoice == pk)
        .order_by(InvoiceAttachment.id)
    )


async def get_attachment(
    scope: TenantScope, invoice_id: int, attachment_id: int
) -> InvoiceAttachment | None:
    """One attachment of one invoice (both this tenant's), with its bytes; ``None`` otherwise."""
    invoice_pk, attachment_pk = as_id(invoice_id), as_id(attachment_id)
    if invoice_pk is None or attachment_pk is None:
        return None
    return (
        await scope.objects(InvoiceAttachment)
        .where(InvoiceAttachment.id == attachment_pk, InvoiceAttachment.invoice == invoice_pk)
        .first()
    )


__all__ = [
    "MAX_ATTACHMENT_BYTES",
    "AttachmentError",
    "add_attachment",
    "download_name",
    "get_attachment",
    "list_attachments",
    "sniff_attachment",
]
