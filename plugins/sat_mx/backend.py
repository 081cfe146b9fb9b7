"""``SatBackend``: the e-invoicing contract for Mexico (CFDI 4.0 through a PAC).

Every issue follows the same steps, each stored before the next so a retry resumes instead of
issuing twice: claim the key (row ``pending``) → take a folio → build → sign with the CSD →
validate against SAT's schema → store the sealed XML → stamp through the PAC → store the stamped
XML and UUID (``issued``). A retry of a ``pending`` row that already has a sealed XML re-sends
that same XML (a PAC answers "already stamped" with the same UUID). Refusals become
``ok=False`` and a ``failed`` row with the PAC's words; outages raise so the job retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree
from satcfdi.cfdi import CFDI
from satcfdi.exceptions import SchemaValidationError
from satcfdi.pacs import CancelReason

from recaudo.api import (
    EInvoiceBackend,
    EInvoiceDocument,
    EInvoiceFile,
    EInvoiceParty,
    EInvoicePaymentRequest,
    EInvoiceRequest,
    EInvoiceResult,
    PluginContext,
)
from recaudo.plugins.sat_mx import documents as store
from recaudo.plugins.sat_mx.building import BuildError, build_ingreso, local_now
from recaudo.plugins.sat_mx.pac import PacRefused, call, pac_for, stamp, status_service
from recaudo.plugins.sat_mx.parties import party_errors
from recaudo.plugins.sat_mx.payments import Related, build_pago, detail
from recaudo.plugins.sat_mx.schema import validated_xml
from recaudo.plugins.sat_mx.settings import (
    SETTINGS_FIELDS,
    SettingsProblem,
    blocking_errors,
    configuration_errors,
    value,
)
from recaudo.plugins.sat_mx.signer import load_signer
from recaudo.plugins.sat_mx.tables import SatDocument

CANCEL_REASONS = ("01", "02", "03", "04")
Builder = Callable[[str, datetime], Any]


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class SatBackend(EInvoiceBackend):
    name = "sat_mx"
    label = "SAT CFDI 4.0 (México)"
    countries = ("MX",)
    settings_schema = SETTINGS_FIELDS

    # --- issuing ------------------------------------------------------------------------------

    async def issue(self, ctx: PluginContext, request: EInvoiceRequest) -> EInvoiceResult:
        if problem := self._blocked(ctx):
            return EInvoiceResult(ok=False, error=problem)
        owed_later = request.balance is not None and request.balance.amount > 0
        row = SatDocument(
            key=request.key or f"invoice:{request.invoice_id}",
            kind="invoice",
            type_code="I",
            status="pending",
            series=str(value(ctx.settings, "series")),
            invoice_id=request.invoice_id,
            customer_id=request.customer.customer_id if request.customer else None,
            invoice_ids=[request.invoice_id],
            total=request.total.amount,
            currency=request.total.currency,
            payment_terms="PPD" if owed_later else "PUE",
            replaces=request.replaces.upper(),
            pac=str(value(ctx.settings, "pac")),
        )

        def build(folio: str, fecha: datetime) -> Any:
            return build_ingreso(ctx.settings, request, folio=folio, fecha=fecha)

        return await self._issue(ctx, row, build)

    async def _issue(self, ctx: PluginContext, row: SatDocument, build: Builder) -> EInvoiceResult:
        row, mine = await store.claim(ctx, row)
        if row.status in ("issued", "cancelled", "cancel_pending"):
            return self._result(row)
        if row.status == "pending" and not mine and not row.xml and not store.is_stale(row):
            return self._result(row)  # another worker is issuing it right now
        try:
            if not row.folio:
                row.folio = await store.next_folio(ctx, str(row.series))
                await ctx.db.save(row)
            if row.status == "failed" or not row.xml:
                row.xml = await self._sealed_xml(ctx, build, str(row.folio))
                row.status, row.error = "pending", ""
                await ctx.db.save(row)
            pac = pac_for(ctx.settings)
            stamped = await asyncio.to_thread(stamp, pac, CFDI.from_string(row.xml.encode()))
        except (BuildError, SettingsProblem, PacRefused) as exc:
            await store.mark_failed(ctx, row, str(exc))
            return EInvoiceResult(ok=False, error=str(exc), document=store.to_document(row))
        row.xml = stamped.xml.decode("utf-8")
        row.uuid = str(stamped.document_id).upper()
        row.status, row.error = "issued", ""
        row.issued_at = datetime.now(UTC)
        await ctx.db.save(row)
        return self._result(row, changed=True)

    async def _sealed_xml(self, ctx: PluginContext, build: Builder, folio: str) -> str:
        """Build, sign with the CSD and validate against SAT's XSD before anything is sent."""
        signer = load_signer(ctx.settings)
        comprobante = build(folio, local_now(ctx.tenant.timezone))
        comprobante.sign(signer)
        try:
            root = validated_xml(comprobante)
        except SchemaValidationError as exc:
            raise BuildError(f"El CFDI no cumple el esquema del SAT: {_first_line(exc)}") from None
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")

    # --- payments (Pagos 2.0) -----------------------------------------------------------------

    async def issue_payment(
        self, ctx: PluginContext, request: EInvoicePaymentRequest
    ) -> EInvoiceResult:
        if problem := self._blocked(ctx):
            return EInvoiceResult(ok=False, error=problem)
        related = await self._related(ctx, request)
        details = [detail(r) for r in related]
        live = await store.search(ctx, payment_id=request.payment_id, kind="payment")
        issued = [d for d in live if d.status == "issued"]
        current = issued[0] if issued else None
        changed: list[EInvoiceDocument] = []
        if current is not None and store.loads(current.details, []) == details:
            for old in issued[1:]:  # left over by an interrupted substitution
                changed.extend(await self._cancel_rows(ctx, old, "01", str(current.uuid)))
            return EInvoiceResult(
                ok=True,
                uuid=str(current.uuid),
                document=store.to_document(current),
                changed=tuple(changed),
            )
        if not details:
            # Nothing left to document (payment undone or fully refunded): the complement was
            # issued in error and nothing replaces it — reason 02.
            for old in issued:
                changed.extend(await self._cancel_rows(ctx, old, "02", ""))
            return EInvoiceResult(ok=True, changed=tuple(changed))
        paid_at = request.paid_at
        if paid_at.tzinfo is not None:
            paid_at = paid_at.astimezone(ZoneInfo(ctx.tenant.timezone or "America/Mexico_City"))
        replaces = str(current.uuid) if current is not None else ""
        row = SatDocument(
            key=request.key or f"payment:{request.payment_id}",
            kind="payment",
            type_code="P",
            status="pending",
            series=str(value(ctx.settings, "payment_series")),
            payment_id=request.payment_id,
            customer_id=request.customer.customer_id,
            invoice_ids=[d["invoice_id"] for d in details],
            details=details,
            total=sum(r.paid.amount.amount for r in related),
            currency=related[0].paid.amount.currency,
            replaces=replaces,
            pac=str(value(ctx.settings, "pac")),
        )

        def build(folio: str, fecha: datetime) -> Any:
            return build_pago(
                ctx.settings,
                related,
                paid_at=paid_at,
                method=request.method,
                folio=folio,
                fecha=fecha,
                replaces=replaces,
            )

        result = await self._issue(ctx, row, build)
        if not result.ok or result.document is None or result.document.status != "issued":
            return result
        changed.append(result.document)
        for old in issued:
            if str(old.uuid) != result.uuid:
                changed.extend(await self._cancel_rows(ctx, old, "01", result.uuid))
        return EInvoiceResult(
            ok=True, uuid=result.uuid, document=result.document, changed=tuple(changed)
        )

    async def _related(self, ctx: PluginContext, request: EInvoicePaymentRequest) -> list[Related]:
        """The paid invoices that have an issued PPD Ingreso (others need no complement)."""
        out = []
        for paid in sorted(request.invoices, key=lambda p: p.invoice_id):
            if paid.amount.amount <= 0:
                continue
            ingreso = (
                await ctx.db.objects(SatDocument)
                .where(SatDocument.invoice_id == paid.invoice_id)
                .where(SatDocument.kind == "invoice")
                .where(SatDocument.status == "issued")
                .where(SatDocument.payment_terms == "PPD")
                .order_by(SatDocument.id, ascending=False)
                .first()
            )
            if ingreso is not None and ingreso.xml:
                out.append(Related(paid, CFDI.from_string(ingreso.xml.encode())))
        return out

    # --- cancelling ---------------------------------------------------------------------------

    async def cancel(
        self, ctx: PluginContext, document_id: int, reason: str, replacement: str = ""
    ) -> EInvoiceResult:
        reason = (reason or "").strip()
        replacement = (replacement or "").strip().upper()
        if reason not in CANCEL_REASONS:
            return EInvoiceResult(
                ok=False, error="Motivo de cancelación inválido: usa 01, 02, 03 o 04"
            )
        row = await ctx.db.get(SatDocument, document_id)
        if row is None:
            return EInvoiceResult(ok=False, error="Documento no encontrado")
        if row.status in ("cancelled", "cancel_pending"):
            return self._result(row)
        if row.status != "issued":
            return EInvoiceResult(
                ok=False,
                error="Solo se puede cancelar un documento timbrado",
                document=store.to_document(row),
            )
        if reason == "01":
            other = await store.by_uuid(ctx, replacement)
            if not replacement:
                return EInvoiceResult(
                    ok=False, error="El motivo 01 requiere el UUID del CFDI que lo sustituye"
                )
            if other is None or other.status != "issued" or other.id == row.id:
                return EInvoiceResult(
                    ok=False,
                    error=f"El UUID sustituto {replacement} no es un CFDI timbrado de este emisor",
                )
        elif replacement:
            return EInvoiceResult(ok=False, error="Solo el motivo 01 lleva UUID sustituto")
        if problem := self._blocked(ctx):
            return EInvoiceResult(ok=False, error=problem)
        try:
            changed = await self._cancel_rows(ctx, row, reason, replacement)
        except (PacRefused, SettingsProblem) as exc:
            row.error = str(exc)[:4000]
            await ctx.db.save(row)
            return EInvoiceResult(ok=False, error=str(exc), document=store.to_document(row))
        return EInvoiceResult(
            ok=True, uuid=str(row.uuid), document=changed[0], changed=tuple(changed)
        )

    async def _cancel_rows(
        self, ctx: PluginContext, row: SatDocument, reason: str, replacement: str
    ) -> list[EInvoiceDocument]:
        """Ask the PAC to cancel ``row``; raises :class:`PacRefused` on a refusal."""
        pac = pac_for(ctx.settings)
        signer = load_signer(ctx.settings)
        ack = await asyncio.to_thread(
            call,
            pac.cancel,
            CFDI.from_string(str(row.xml).encode()),
            CancelReason(reason),
            replacement or None,
            signer,
        )
        code = ack.code if isinstance(ack.code, str) else str(ack.code)
        row.status = "cancelled" if code.strip() in ("201", "202") else "cancel_pending"
        row.cancelled_at = datetime.now(UTC) if row.status == "cancelled" else None
        row.cancel_reason = reason
        row.replaced_by = replacement
        row.error = ""
        await ctx.db.save(row)
        return [store.to_document(row)]

    async def refresh(self, ctx: PluginContext, document_id: int) -> EInvoiceDocument:
        row = await ctx.db.get(SatDocument, document_id)
        if row is None:
            raise LookupError(f"sat_mx document {document_id} not found")
        if not row.uuid or row.pac == "fake" or value(ctx.settings, "pac") == "fake":
            return store.to_document(row)  # the fake PAC keeps no state: the table is the truth
        service = status_service(ctx.settings)
        answer = await asyncio.to_thread(service.status, CFDI.from_string(str(row.xml).encode()))
        estado = str((answer or {}).get("Estado", "")).lower()
        if estado.startswith("cancelado") and row.status != "cancelled":
            row.status, row.cancelled_at = "cancelled", row.cancelled_at or datetime.now(UTC)
            await ctx.db.save(row)
        elif estado == "vigente" and row.status == "cancel_pending":
            answer_state = str((answer or {}).get("EstatusCancelacion", "")).lower()
            if "rechaz" in answer_state:
                row.status = "issued"
                await ctx.db.save(row)
        return store.to_document(row)

    # --- reading ------------------------------------------------------------------------------

    async def documents(
        self,
        ctx: PluginContext,
        *,
        invoice_id: int | None = None,
        payment_id: int | None = None,
        customer_id: int | None = None,
        kind: str | None = None,
        status: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[EInvoiceDocument]:
        rows = await store.search(
            ctx,
            invoice_id=invoice_id,
            payment_id=payment_id,
            customer_id=customer_id,
            kind=kind,
            status=status,
            limit=limit,
            before_id=before_id,
        )
        return [store.to_document(r) for r in rows]

    async def document(self, ctx: PluginContext, document_id: int) -> EInvoiceDocument | None:
        row = await ctx.db.get(SatDocument, document_id)
        return store.to_document(row) if row is not None else None

    async def document_file(
        self, ctx: PluginContext, document_id: int, fmt: str
    ) -> EInvoiceFile | None:
        row = await ctx.db.get(SatDocument, document_id)
        if row is None or not row.uuid or fmt not in ("xml", "pdf"):
            return None
        name = f"{row.series}{row.folio}-{row.uuid}".strip("-")
        if fmt == "xml":
            return EInvoiceFile(f"{name}.xml", "application/xml", str(row.xml).encode("utf-8"))
        from satcfdi import render

        cfdi = CFDI.from_string(str(row.xml).encode())
        pdf = await asyncio.to_thread(render.pdf_bytes, cfdi)
        return EInvoiceFile(f"{name}.pdf", "application/pdf", pdf)

    # --- checks -------------------------------------------------------------------------------

    def party_errors(self, ctx: PluginContext, party: EInvoiceParty) -> list[str]:
        return party_errors(party)

    def configuration_errors(self, settings: Mapping[str, Any]) -> list[str]:
        return configuration_errors(settings)

    def _blocked(self, ctx: PluginContext) -> str:
        errors = list(ctx.settings_errors) + blocking_errors(ctx.settings)
        return "Configuración del SAT incompleta: " + "; ".join(errors) if errors else ""

    @staticmethod
    def _result(row: SatDocument, changed: bool = False) -> EInvoiceResult:
        doc = store.to_document(row)
        return EInvoiceResult(
            ok=row.status != "failed",
            uuid=str(row.uuid or ""),
            xml=str(row.xml or "") if row.uuid else "",
            error=str(row.error or ""),
            document=doc,
            changed=(doc,) if changed else (),
        )
