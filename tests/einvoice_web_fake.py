"""An in-memory e-invoicing backend for the web tests (API, back office, portal).

It goes through the real host service (``recaudo.core.einvoicing.service``): registered on the
test's plugin host and enabled per tenant like any plugin. It can be told to refuse the next
issue with a provider message (``refuse``), and refuses fiscal data by field the way a country
backend would (``fiscal_regime: …``), so the pages and the API can be checked for how they show
both. Documents of one tenant are invisible to another.
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
from recaudo.core.common.money import Money
from recaudo.core.hookspecs import hookimpl
from recaudo.core.platform.host import PluginHost
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope

PLUGIN = "webfiscal"
REGIMES = ("601", "603", "605", "612", "626")


class WebFakeBackend(EInvoiceBackend):
    name = "webfiscal"
    label = "Fiscal (pruebas web)"
    countries = ()  # any country
    settings_schema = (
        SettingField("auto_issue", "Emitir al crear", type="boolean", default=False),
    )

    def __init__(self) -> None:
        self.docs: dict[int, tuple[int, EInvoiceDocument]] = {}
        self.keys: dict[tuple[int, str], int] = {}
        self.refuse = ""
        self.issued = 0
        self._ids = itertools.count(1)

    def add(self, tenant: int, **values: Any) -> EInvoiceDocument:
        """Store a document as if the provider had stamped it (``status`` etc. overridable)."""
        values = {
            "backend": self.name,
            "kind": "invoice",
            "type_code": "I",
            "status": "issued",
            "fiscal_id": str(uuid.uuid4()).upper(),
            "issued_at": datetime.now(UTC),
            **values,
        }
        doc = EInvoiceDocument(id=next(self._ids), **values)
        self.docs[doc.id] = (tenant, doc)
        return doc

    def mine(self, ctx: PluginContext, document_id: int) -> EInvoiceDocument | None:
        found = self.docs.get(document_id)
        return found[1] if found is not None and found[0] == ctx.tenant.id else None

    async def issue(self, ctx: PluginContext, request: EInvoiceRequest) -> EInvoiceResult:
        done = self.keys.get((ctx.tenant.id, request.key))
        if done is not None:
            doc = self.docs[done][1]
            return EInvoiceResult(ok=True, uuid=doc.fiscal_id, document=doc)
        if self.refuse:
            message, self.refuse = self.refuse, ""
            doc = self.add(
                ctx.tenant.id,
                status="failed",
                fiscal_id="",
                issued_at=None,
                invoice_id=request.invoice_id,
                customer_id=request.customer.customer_id if request.customer else None,
                error=message,
                files=(),
            )
            return EInvoiceResult(ok=False, error=message, document=doc)
        self.issued += 1
        doc = self.add(
            ctx.tenant.id,
            series="F",
            folio=str(1000 + self.issued),
            invoice_id=request.invoice_id,
            customer_id=request.customer.customer_id if request.customer else None,
            invoice_ids=(request.invoice_id,),
            total=request.total,
            payment_terms="PPD" if request.balance and request.balance.amount else "PUE",
            replaces=request.replaces,
        )
        self.keys[(ctx.tenant.id, request.key)] = doc.id
        return EInvoiceResult(ok=True, uuid=doc.fiscal_id, xml="<cfdi/>", document=doc)

    async def issue_payment(
        self, ctx: PluginContext, request: EInvoicePaymentRequest
    ) -> EInvoiceResult:
        return EInvoiceResult(ok=True)  # complements are seeded with add() by the tests

    async def cancel(
        self, ctx: PluginContext, document_id: int, reason: str, replacement: str = ""
    ) -> EInvoiceResult:
        doc = self.mine(ctx, document_id)
        assert doc is not None, "the host asked for another tenant's document"
        if doc.fiscal_id.startswith("0000"):
            return EInvoiceResult(ok=False, error="CFDI no cancelable: <tiene pagos relacionados>")
        gone = replace(
            doc,
            status="cancelled",
            cancel_reason=reason,
            replaced_by=replacement,
            cancelled_at=datetime.now(UTC),
        )
        self.docs[document_id] = (ctx.tenant.id, gone)
        return EInvoiceResult(ok=True, uuid=doc.fiscal_id, document=gone, changed=(gone,))

    async def refresh(self, ctx: PluginContext, document_id: int) -> EInvoiceDocument:
        doc = self.mine(ctx, document_id)
        assert doc is not None
        if doc.status == "cancel_pending":
            doc = replace(doc, status="cancelled", cancelled_at=datetime.now(UTC))
            self.docs[document_id] = (ctx.tenant.id, doc)
        return doc

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
        found = [
            d
            for t, d in self.docs.values()
            if t == ctx.tenant.id
            and invoice_id in (None, d.invoice_id)
            and payment_id in (None, d.payment_id)
            and customer_id in (None, d.customer_id)
            and kind in (None, d.kind)
            and status in (None, d.status)
            and (before_id is None or d.id < before_id)
        ]
        return sorted(found, key=lambda d: d.id, reverse=True)[:limit]

    async def document(self, ctx: PluginContext, document_id: int) -> EInvoiceDocument | None:
        return self.mine(ctx, document_id)

    async def document_file(
        self, ctx: PluginContext, document_id: int, fmt: str
    ) -> EInvoiceFile | None:
        doc = self.mine(ctx, document_id)
        if doc is None or fmt not in doc.files:
            return None
        if fmt == "xml":
            body = f'<cfdi:Comprobante UUID="{doc.fiscal_id}" id="{doc.id}"/>'.encode()
            return EInvoiceFile(f"{doc.fiscal_id}.xml", "application/xml", body)
        return EInvoiceFile(f"{doc.fiscal_id}.pdf", "application/pdf", b"%PDF-1.4 cfdi")

    def party_errors(self, ctx: PluginContext, party: EInvoiceParty) -> list[str]:
        problems = []
        if party.regime and party.regime not in REGIMES:
            problems.append(f"fiscal_regime: el régimen {party.regime} no existe en el catálogo")
        if party.postal_code and not (len(party.postal_code) == 5 and party.postal_code.isdigit()):
            problems.append("El código postal debe tener 5 dígitos <b>sin letras</b>")
        return problems

    def configuration_errors(self, settings: Mapping[str, Any]) -> list[str]:
        return []


class WebFakePlugin:
    def __init__(self, backend: WebFakeBackend) -> None:
        self.backend = backend

    @hookimpl
    def recaudo_einvoice_backends(self) -> list[EInvoiceBackend]:
        return [self.backend]


def install(host: PluginHost) -> WebFakeBackend:
    backend = WebFakeBackend()
    host.register(WebFakePlugin(backend), name=PLUGIN, source="test")
    return backend


async def enable(scope: TenantScope) -> None:
    await set_plugin(scope, PLUGIN, enabled=True, settings={"auto_issue": False})


def mxn(amount: int) -> Money:
    return Money("MXN", amount)
