"""A small in-memory EInvoiceBackend for the host's tests (the SAT plugin has its own tests).

It behaves like the contract asks: one document per ``key``, payment documents replaced when
the picture changes, refusals as ``ok=False`` and outages as exceptions the test switches on.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from recaudo.api import (
    EInvoiceBackend,
    EInvoiceDocument,
    EInvoiceFile,
    EInvoiceParty,
    EInvoicePaymentRequest,
    EInvoiceRequest,
    EInvoiceResult,
    PluginContext,
    SettingField,
)
from recaudo.core.hookspecs import hookimpl

PLUGIN = "fakefiscal"


class FakeBackend(EInvoiceBackend):
    name = "fakefiscal"
    label = "Fake fiscal"
    countries = ("MX",)
    settings_schema = (
        SettingField("auto_issue", "Emitir al crear", type="boolean", default=True),
        SettingField("certificate", "Certificado"),
    )

    def __init__(self) -> None:
        self.docs: dict[int, tuple[int, EInvoiceDocument]] = {}  # id -> (tenant, doc)
        self.by_key: dict[tuple[int, str], EInvoiceResult] = {}
        self.requests: list[EInvoiceRequest] = []
        self.payment_requests: list[EInvoicePaymentRequest] = []
        self.refuse: str = ""  # next issue answers ok=False with this
        self.outage: int = 0  # next n calls raise ConnectionError
        self._ids = itertools.count(1)

    def _check_outage(self) -> None:
        if self.outage > 0:
            self.outage -= 1
            raise ConnectionError("pac.example is down")

    def _new(self, tenant: int, **values: Any) -> EInvoiceDocument:
        doc = EInvoiceDocument(
            id=next(self._ids),
            backend=self.name,
            status="issued",
            fiscal_id=str(uuid.uuid4()).upper(),
            issued_at=datetime.now(UTC),
            **values,
        )
        self.docs[doc.id] = (tenant, doc)
        return doc

    async def issue(self, ctx: PluginContext, request: EInvoiceRequest) -> EInvoiceResult:
        self._check_outage()
        self.requests.append(request)
        done = self.by_key.get((ctx.tenant.id, request.key))
        if done is not None:
            return done
        if self.refuse:
            message, self.refuse = self.refuse, ""
            return EInvoiceResult(ok=False, error=message)
        later = request.balance is not None and request.balance.amount > 0
        doc = self._new(
            ctx.tenant.id,
            kind="invoice",
            type_code="I",
            series="F",
            folio=str(request.invoice_id),
            invoice_id=request.invoice_id,
            customer_id=request.customer.customer_id if request.customer else None,
            invoice_ids=(request.invoice_id,),
            total=request.total,
            payment_terms="PPD" if later else "PUE",
            replaces=request.replaces,
        )
        result = EInvoiceResult(
            ok=True, uuid=doc.fiscal_id, xml=f"<I id='{doc.id}'/>", document=doc
        )
        self.by_key[(ctx.tenant.id, request.key)] = result
        return result

    async def issue_payment(
        self, ctx: PluginContext, request: EInvoicePaymentRequest
    ) -> EInvoiceResult:
        self._check_outage()
        self.payment_requests.append(request)
        if (ctx.tenant.id, request.key) in self.by_key:
            return EInvoiceResult(ok=True)
        if self.refuse:
            message, self.refuse = self.refuse, ""
            return EInvoiceResult(ok=False, error=message)
        changed: list[EInvoiceDocument] = []
        for doc_id, (tenant, doc) in list(self.docs.items()):
            if tenant == ctx.tenant.id and doc.payment_id == request.payment_id:
                if doc.status == "issued":
                    gone = replace(doc, status="cancelled", cancel_reason="01")
                    self.docs[doc_id] = (tenant, gone)
                    changed.append(gone)
        documented = [p for p in request.invoices if p.fiscal_id]
        new = None
        if documented:
            new = self._new(
                ctx.tenant.id,
                kind="payment",
                type_code="P",
                payment_id=request.payment_id,
                customer_id=request.customer.customer_id,
                invoice_ids=tuple(p.invoice_id for p in documented),
                total=request.amount,
            )
            changed.append(new)
        result = EInvoiceResult(ok=True, document=new, changed=tuple(changed))
        self.by_key[(ctx.tenant.id, request.key)] = result
        return result

    async def cancel(
        self, ctx: PluginContext, document_id: int, reason: str, replacement: str = ""
    ) -> EInvoiceResult:
        tenant, doc = self.docs[document_id]
        assert tenant == ctx.tenant.id, "the host asked for another tenant's document"
        if reason == "01" and not replacement:
            return EInvoiceResult(ok=False, error="El motivo 01 requiere el folio sustituto")
        gone = replace(
            doc, status="cancelled", cancel_reason=reason, cancelled_at=datetime.now(UTC)
        )
        self.docs[document_id] = (tenant, gone)
        return EInvoiceResult(ok=True, uuid=doc.fiscal_id, document=gone, changed=(gone,))

    async def refresh(self, ctx: PluginContext, document_id: int) -> EInvoiceDocument:
        return self.docs[document_id][1]

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
        out = [
            d
            for t, d in self.docs.values()
            if t == ctx.tenant.id
            and (invoice_id is None or d.invoice_id == invoice_id)
            and (payment_id is None or d.payment_id == payment_id)
            and (customer_id is None or d.customer_id == customer_id)
            and (kind is None or d.kind == kind)
            and (status is None or d.status == status)
            and (before_id is None or d.id < before_id)
        ]
        return sorted(out, key=lambda d: d.id, reverse=True)[:limit]

    async def document(self, ctx: PluginContext, document_id: int) -> EInvoiceDocument | None:
        found = self.docs.get(document_id)
        return found[1] if found and found[0] == ctx.tenant.id else None

    async def document_file(
        self, ctx: PluginContext, document_id: int, fmt: str
    ) -> EInvoiceFile | None:
        doc = await self.document(ctx, document_id)
        if doc is None:
            return None
        if fmt == "xml":
            return EInvoiceFile(f"{doc.fiscal_id}.xml", "application/xml", b"<cfdi/>")
        return EInvoiceFile(f"{doc.fiscal_id}.pdf", "application/pdf", b"%PDF-1.4 fake")

    def party_errors(self, ctx: PluginContext, party: EInvoiceParty) -> list[str]:
        return [] if party.tax_id else ["El RFC del cliente es obligatorio"]

    def configuration_errors(self, settings: Mapping[str, Any]) -> list[str]:
        return [] if settings.get("certificate") else ["Falta el certificado (CSD)"]


class FakePlugin:
    def __init__(self, backend: FakeBackend) -> None:
        self.backend = backend

    @hookimpl
    def recaudo_einvoice_backends(self) -> list[EInvoiceBackend]:
        return [self.backend]
