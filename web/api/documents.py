"""Documents: the PDF and XML files an ERP produces for an invoice (the back office's attachments).

``GET /api/v1/invoices/{id}/documents`` lists an invoice's files, ``GET
/api/v1/documents/{id}`` downloads one (always as an attachment, typed by its own bytes, with
``nosniff``) and ``POST /api/v1/invoices/{id}/documents`` uploads one as base64 in JSON, through
:func:`recaudo.core.billing.attachments.add_attachment` (type sniffed from the bytes, 10 MB cap,
audited ``invoice.attachment`` with the API key as actor), idempotent with an
``Idempotency-Key``. That route alone takes bodies up to :data:`MAX_DOCUMENT_BODY`.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.response import Response

from recaudo.core.access.apikeys import ApiCaller
from recaudo.core.billing.attachments import (
    MAX_ATTACHMENT_BYTES,
    MAX_PER_INVOICE,
    AttachmentError,
    add_attachment,
    list_attachments,
)
from recaudo.core.tables import Invoice, InvoiceAttachment
from recaudo.tenants.scoped import TenantScope
from recaudo.web.api.common import IdempotencyKey, check_text, idempotent_post
from recaudo.web.api.errors import (
    ERROR_RESPONSES,
    POST_RESPONSES,
    ApiError,
    field_error,
)
from recaudo.web.api.invoices import NOT_FOUND as INVOICE_NOT_FOUND
from recaudo.web.api.schemas import DocumentIn, DocumentOut, DocumentPage, ErrorBody
from recaudo.web.attachments import attachment_response

NOT_FOUND = "document: not found"
MAX_BASE64_CHARS = 4 * -(-MAX_ATTACHMENT_BYTES // 3)  # 10 MB encoded: 13,981,016 characters
MAX_DOCUMENT_BODY = 14 * 1024 * 1024  # the base64 of 10 MB, the file name and the JSON around
FIELD = "content_base64"
_SPACE = re.compile(rb"[ \t\r\n]+")

UPLOAD_RESPONSES: dict[int, ResponseSpec] = {
    **POST_RESPONSES,
    409: ResponseSpec(
        data_container=ErrorBody,
        description=f"The invoice has {MAX_PER_INVOICE} documents already, or key in progress.",
    ),
    413: ResponseSpec(
        data_container=ErrorBody, description="File over 10 MB, or body over 14 MiB."
    ),
    415: ResponseSpec(data_container=ErrorBody, description="Neither a PDF nor an XML document."),
}


def document_out(row: InvoiceAttachment | dict[str, Any], invoice_id: int) -> DocumentOut:
    """A document as the API shows it: a stored row, or one of :func:`list_attachments`."""
    names = ("id", "filename", "content_type", "size", "sha256", "created_at")
    values = row if isinstance(row, dict) else {n: getattr(row, n) for n in names}
    pk = int(values["id"])
    return DocumentOut(
        id=pk,
        invoice_id=int(invoice_id),
        filename=str(values["filename"]),
        content_type=str(values["content_type"]),
        size=int(values["size"]),
        sha256=str(values["sha256"]),
        created_at=values["created_at"],
        download_url=f"/api/v1/documents/{pk}",
    )


def decode_content(text: str, max_bytes: int = MAX_ATTACHMENT_BYTES) -> bytes:
    """The file's bytes from standard base64; a 4xx naming ``content_base64`` otherwise (413
    past ``max_bytes``, checked on the text before decoding so a huge body costs no memory)."""
    raw = _SPACE.sub(b"", text.encode("ascii", "replace"))
    too_big = field_error(
        413, FIELD, f"the file is larger than {max_bytes // 2**20} MB ({max_bytes} bytes)"
    )
    if len(raw) > 4 * -(-max_bytes // 3):
        raise too_big
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise field_error(400, FIELD, "not valid base64 (RFC 4648, with padding)") from None
    if not data:
        raise field_error(400, FIELD, "the file is empty")
    if len(data) > max_bytes:
        raise too_big
    return data


def _refused(exc: AttachmentError) -> ApiError:
    if exc.status == 413:
        return field_error(413, FIELD, "the file is larger than 10 MB (10485760 bytes)")
    if exc.status == 415:
        return field_error(
            415, FIELD, "only PDF or XML files are accepted (the type is read from the bytes)"
        )
    if exc.status == 409:
        return field_error(409, "invoice_id", f"an invoice takes at most {MAX_PER_INVOICE} files")
    return field_error(400, FIELD, "the file is empty")


@get(
    "/invoices/{invoice_id:int}/documents",
    responses=ERROR_RESPONSES,
    summary="List an invoice's documents",
    description=(
        f"Its PDF and XML files, oldest first, without their bytes (at most {MAX_PER_INVOICE}; "
        "`next` is always `null`). Download each from its `download_url`."
    ),
)
async def list_documents(
    api_scope: NamedDependency[TenantScope], invoice_id: FromPath[int]
) -> DocumentPage:
    invoice = await api_scope.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFoundException(INVOICE_NOT_FOUND)
    rows = await list_attachments(api_scope, int(invoice.id))
    return DocumentPage([document_out(r, int(invoice.id)) for r in rows], None)


@get(
    "/documents/{document_id:int}",
    responses=ERROR_RESPONSES,
    summary="Download a document",
    description=(
        "The file's bytes, `Content-Type` `application/pdf` or `application/xml`, always as "
        "an attachment (`Content-Disposition`) with `X-Content-Type-Options: nosniff`."
    ),
    media_type="application/octet-stream",
    response_description="The file's bytes.",
)
async def download_document(
    api_scope: NamedDependency[TenantScope], document_id: FromPath[int]
) -> Response[bytes]:
    row = await api_scope.get(InvoiceAttachment, document_id)
    invoice = None if row is None else await api_scope.get(Invoice, int(row.invoice))
    if row is None or invoice is None:
        raise NotFoundException(NOT_FOUND)
    return attachment_response(invoice, row)


@post(
    "/invoices/{invoice_id:int}/documents",
    responses=UPLOAD_RESPONSES,
    summary="Attach a document to an invoice",
    description=(
        "A PDF or XML file (CFDI, DIAN, AFIP…) as base64 in JSON. Its type comes from its own "
        "first bytes, never from `filename`; at most 10 MB decoded, and this route takes bodies "
        "up to 14 MiB. The same bytes sent twice for one invoice are stored once (the first "
        "document is answered). Send an `Idempotency-Key` header to retry safely."
    ),
    status_code=201,
    request_max_body_size=MAX_DOCUMENT_BODY,
)
async def upload_document(
    request: Request[Any, Any, Any],
    writer: NamedDependency[ApiCaller],
    idempotency_key: IdempotencyKey,
    api_scope: NamedDependency[TenantScope],
    invoice_id: FromPath[int],
    data: JSONBody[DocumentIn],
) -> Response[DocumentOut]:
    check_text(data.filename, "filename")

    async def action() -> DocumentOut:
        invoice = await api_scope.get(Invoice, invoice_id)
        if invoice is None:
            raise ApiError(404, INVOICE_NOT_FOUND)
        content = decode_content(data.content_base64)
        try:
            row = await add_attachment(
                api_scope, int(invoice.id), data.filename, content, writer.actor
            )
        except AttachmentError as exc:
            raise _refused(exc) from None
        return document_out(row, int(invoice.id))

    return await idempotent_post(request, writer, api_scope, action)


ROUTES: list[Any] = [list_documents, download_document, upload_document]
