"""Serving invoice attachments (back office and portal) the same safe way."""

from __future__ import annotations

from litestar.response import Response

from recaudo.core.billing.attachments import download_name, sniff_attachment
from recaudo.core.tables import Invoice, InvoiceAttachment


def attachment_response(invoice: Invoice, row: InvoiceAttachment) -> Response[bytes]:
    """The file as a download: type from its bytes, a safe name, never rendered by the browser."""
    content = bytes(row.content or b"")
    name = download_name(str(invoice.number), row)
    return Response(
        content,
        media_type=sniff_attachment(content) or "application/octet-stream",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "x-content-type-options": "nosniff",
            "cache-control": "private, no-store",
            "content-security-policy": "default-src 'none'; sandbox",
        },
    )
