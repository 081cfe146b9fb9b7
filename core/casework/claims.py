"""What a customer raises about their account: disputes of an invoice and proofs of payment.

A dispute marks the invoice ``disputed`` so reminders skip it until staff decide. A proof of a
transfer made outside the portal is stored for staff to confirm (which records the payment) or
reject. Uploaded files are checked by their first bytes, never by the name or the browser's
declared type, and limited in size.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.db import transaction
from recaudo.core.tables import Dispute, Invoice, PaymentProof
from recaudo.tenants.scoped import TenantScope

DISPUTE_REASONS = ("not_received", "wrong_amount", "already_paid", "not_mine", "other")
MAX_MESSAGE = 2000
MAX_PROOF_BYTES = 5 * 1024 * 1024
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"%PDF-", "application/pdf"),
)


TOO_BIG = "El archivo pesa más de 5 MB. Sube una foto o un PDF más ligero."
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "application/pdf": "pdf"}


class ClaimError(ValueError):
    """Input we cannot accept; the message (Spanish source text) is shown to the customer next
    to ``field``, the form field it is about (empty when it is about the whole form)."""

    def __init__(self, message: str, status: int = 400, field: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.field = field


async def open_dispute(
    scope: TenantScope, customer_id: int, invoice_id: int, reason: str, message: str
) -> Dispute:
    if reason not in DISPUTE_REASONS:
        raise ClaimError("Elige un motivo de la lista.")
    message = message.strip()
    if len(message) > MAX_MESSAGE:
        raise ClaimError("El mensaje es demasiado largo (máximo 2000 caracteres).")
    async with transaction():
        invoice = await scope.get(Invoice, invoice_id)
        if invoice is None or int(invoice.customer) != int(customer_id):
            raise LookupError("invoice not found")
        if invoice.status not in OPEN_STATUSES:
            raise ClaimError("Solo puedes aclarar facturas pendientes de pago.")
        if await scope.exists(Dispute).where(
            Dispute.invoice == invoice.id, Dispute.status == "open"
        ):
            raise ClaimError("Ya tienes una aclaración abierta para esta factura.")
        dispute = Dispute(
            invoice=invoice.id,
            customer=customer_id,
            reason=reason,
            message=message,
            status="open",
            created_at=datetime.now(UTC),
        )
        await scope.add(dispute)
        await scope.update(Invoice, {Invoice.disputed: True}).where(Invoice.id == invoice.id)
    return dispute


def sniff(content: bytes) -> str | None:
    """The content type the file's first bytes prove, among those we accept."""
    for signature, content_type in SIGNATURES:
        if content.startswith(signature):
            return content_type
    return None


def clean_filename(name: str, content_type: str) -> str:
    """The customer's name for the file, for display only: downloads use :func:`download_as`."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .")[:150]
    return base or "comprobante." + EXTENSIONS[content_type]


def download_as(proof_id: int, content: bytes) -> tuple[str, str]:
    """``(content type, file name)`` to serve a proof with, both from the file's own first bytes.

    The customer's name is never used: ``factura.exe`` or ``poly.html`` (a PDF that is also
    HTML) would otherwise open as what its extension says on the staff member's computer.
    """
    kind = sniff(content)
    if kind is None:
        return "application/octet-stream", f"comprobante-{proof_id}.bin"
    return kind, f"comprobante-{proof_id}.{EXTENSIONS[kind]}"


async def submit_proof(
    scope: TenantScope,
    customer_id: int,
    *,
    filename: str,
    content: bytes,
    currency: str,
    amount: int,
    invoice_ids: list[int],
) -> PaymentProof:
    if not content:
        raise ClaimError("Adjunta el archivo del comprobante.", field="archivo")
    if len(content) > MAX_PROOF_BYTES:
        raise ClaimError(TOO_BIG, 413, "archivo")
    content_type = sniff(content)
    if content_type is None:
        raise ClaimError("Solo aceptamos imágenes PNG o JPG, o archivos PDF.", 415, "archivo")
    if amount <= 0:
        raise ClaimError("Escribe el monto que pagaste.", field="monto")
    own: list[int] = []
    if invoice_ids:
        rows = await scope.select(Invoice, Invoice.id).where(
            Invoice.id.is_in(invoice_ids), Invoice.customer == customer_id
        )
        found = {int(r["id"]) for r in rows}
        own = [i for i in invoice_ids if i in found]
    proof = PaymentProof(
        customer=customer_id,
        invoice_ids=own,
        currency=currency,
        amount=amount,
        filename=clean_filename(filename, content_type),
        content_type=content_type,
        content=content,
        status="pending",
        created_at=datetime.now(UTC),
    )
    await scope.add(proof)
    return proof


async def customer_proofs(scope: TenantScope, customer_id: int) -> list[dict[str, object]]:
    """The customer's proofs without their file contents (for the list on the upload page)."""
    return await (
        scope.select(
            PaymentProof,
            PaymentProof.id,
            PaymentProof.amount,
            PaymentProof.currency,
            PaymentProof.status,
            PaymentProof.filename,
            PaymentProof.decision_reason,
            PaymentProof.created_at,
        )
        .where(PaymentProof.customer == customer_id)
        .order_by(PaymentProof.id, ascending=False)
        .limit(20)
    )
