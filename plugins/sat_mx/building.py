"""Building the CFDI 4.0 Ingreso (tipo I) of one invoice with satcfdi.

Amounts enter as Decimal from the ledger's integer minor units (``Money.to_decimal``, the
currency's pinned exponent) and satcfdi computes Importe, the IVA traslados and the totals; the
result must equal the ledger's total or the document is refused (never a CFDI that disagrees
with the invoice the customer sees).

PUE or PPD: an invoice with something still owed when it is issued (``request.balance`` > 0) is
paid later — MetodoPago PPD with FormaPago 99 (por definir), and each payment will get a Pagos
2.0 complement. One already paid in full is PUE (FormaPago 03, transferencia, as the ledger does
not say how it was paid).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from satcfdi.create.cfd import cfdi40

from recaudo.api import EInvoiceParty, EInvoiceRequest, Money
from recaudo.plugins.sat_mx.parties import DEFAULT_USE, GENERIC_RFCS, party_errors
from recaudo.plugins.sat_mx.settings import iva_rate, rate_for, value

PUBLIC_RFC = "XAXX010101000"
PUE_FORMA_PAGO = "03"


class BuildError(ValueError):
    """The document cannot be built as asked; the message is for staff (Spanish)."""


def local_now(timezone: str) -> datetime:
    """Now as CFDI wants it: the tenant's local wall-clock time, without zone or microseconds."""
    return datetime.now(ZoneInfo(timezone or "America/Mexico_City")).replace(
        tzinfo=None, microsecond=0
    )


def emisor(settings: Mapping[str, Any]) -> cfdi40.Emisor:
    return cfdi40.Emisor(
        rfc=str(settings["rfc"]).strip().upper(),
        nombre=str(settings["legal_name"]).strip().upper(),
        regimen_fiscal=str(value(settings, "regime")),
    )


def receptor(
    settings: Mapping[str, Any], party: EInvoiceParty | None, fallback_name: str
) -> cfdi40.Receptor:
    """The customer as receptor; no RFC at all means "público en general" (XAXX010101000)."""
    lugar = str(settings["postal_code"]).strip()
    rfc = (party.tax_id if party else "").strip().upper()
    if not rfc or rfc in GENERIC_RFCS:
        name = (party.name if party and party.name.strip() else "") or "PUBLICO EN GENERAL"
        return cfdi40.Receptor(
            rfc=rfc or PUBLIC_RFC,
            nombre=name.strip().upper(),
            domicilio_fiscal_receptor=lugar,
            regimen_fiscal_receptor="616",
            uso_cfdi="S01",
        )
    assert party is not None
    if errors := party_errors(party):
        raise BuildError("Datos fiscales del cliente: " + "; ".join(errors))
    return cfdi40.Receptor(
        rfc=rfc,
        nombre=(party.name or fallback_name).strip().upper(),
        domicilio_fiscal_receptor=party.postal_code.strip(),
        regimen_fiscal_receptor=party.regime.strip(),
        uso_cfdi=(party.use or DEFAULT_USE).strip().upper(),
    )


def _lines(request: EInvoiceRequest) -> list[tuple[str, int, Money, bool]]:
    """(description, quantity, unit amount before tax, taxed?) for each concept."""
    if request.items:
        out = []
        for item in request.items:
            qty = max(int(item.quantity), 1)
            unit = item.unit_amount
            if unit.amount * qty != item.amount.amount:
                qty, unit = 1, item.amount  # the ledger's line amount wins over a rounded price
            out.append((item.description, qty, unit, item.tax.amount > 0))
        return out
    taxed = bool(request.tax and request.tax.amount > 0)
    return [(desc, 1, amount, taxed) for desc, _qty, amount in request.lines] or [
        (request.description or f"Factura {request.number}", 1, request.total, False)
    ]


def conceptos(settings: Mapping[str, Any], request: EInvoiceRequest) -> list[cfdi40.Concepto]:
    rate = iva_rate(settings)
    out = []
    for description, qty, unit, taxed in _lines(request):
        impuestos = (
            cfdi40.Impuestos(
                traslados=cfdi40.Traslado(impuesto="002", tipo_factor="Tasa", tasa_o_cuota=rate)
            )
            if taxed
            else None
        )
        out.append(
            cfdi40.Concepto(
                clave_prod_serv=str(value(settings, "product_code")),
                cantidad=Decimal(qty),
                clave_unidad=str(value(settings, "unit_code")),
                descripcion=(description.strip() or "Concepto")[:1000],
                valor_unitario=unit.to_decimal(),
                objeto_imp="02" if taxed else "01",
                impuestos=impuestos,
            )
        )
    return out


def _party(request: EInvoiceRequest) -> EInvoiceParty | None:
    """The request's fiscal party; an RFC without the rest is still that customer's (and is
    refused for what is missing), never silently "público en general"."""
    if request.customer is not None or not request.customer_tax_id.strip():
        return request.customer
    return EInvoiceParty(0, request.customer_tax_id, request.customer_name)


def build_ingreso(
    settings: Mapping[str, Any],
    request: EInvoiceRequest,
    *,
    folio: str,
    fecha: datetime,
) -> cfdi40.Comprobante:
    """The unsigned Comprobante; :class:`BuildError` when it cannot match the invoice."""
    currency = request.total.currency
    owed_later = request.balance is not None and request.balance.amount > 0
    comprobante = cfdi40.Comprobante(
        emisor=emisor(settings),
        lugar_expedicion=str(settings["postal_code"]).strip(),
        receptor=receptor(settings, _party(request), request.customer_name),
        conceptos=conceptos(settings, request),
        moneda=currency,
        tipo_de_comprobante="I",
        serie=str(value(settings, "series")),
        folio=folio,
        forma_pago="99" if owed_later else PUE_FORMA_PAGO,
        metodo_pago="PPD" if owed_later else "PUE",
        tipo_cambio=None if currency == "MXN" else rate_for(settings, currency),
        cfdi_relacionados=(
            cfdi40.CfdiRelacionados(tipo_relacion="04", cfdi_relacionado=[request.replaces])
            if request.replaces
            else None
        ),
        fecha=fecha,
    )
    expected = request.total.to_decimal()
    if Decimal(comprobante["Total"]) != expected:
        raise BuildError(
            f"El total calculado del CFDI ({comprobante['Total']} {currency}) no coincide con "
            f"el de la factura ({expected} {currency}); revisa los conceptos y la tasa de IVA"
        )
    return comprobante
