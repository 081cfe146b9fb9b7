"""Building the CFDI 4.0 tipo P with the Pagos 2.0 complement for one payment.

satcfdi's ``Comprobante.pago_comprobantes`` does the arithmetic from the related Ingresos
themselves: ImpSaldoInsoluto = ImpSaldoAnt − ImpPagado, the ImpuestosDR of each related document
in proportion to the share paid (``make_impuestos_dr_parcial``), ImpuestosP, Monto and Totales
(MontoTotalPagos in MXN: Monto × TipoCambioP). We give it, per invoice, what the ledger says:
NumParcialidad (``installment``), ImpSaldoAnt (``balance_before``) and ImpPagado (``amount``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from satcfdi.cfdi import CFDI
from satcfdi.create.cfd import cfdi40

from recaudo.api import PaidInvoice
from recaudo.plugins.sat_mx.building import BuildError, emisor
from recaudo.plugins.sat_mx.settings import rate_for, value

#: Recaudo's payment method names → SAT c_FormaPago.
FORMA_PAGO = {
    "banktransfer": "03", "transfer": "03", "spei": "03",
    "cash": "01", "oxxo": "01",
    "cheque": "02", "check": "02",
    "mercadopago": "04", "sandbox": "04", "card": "04", "credit_card": "04",
    "debit": "28", "debit_card": "28",
}  # fmt: skip


CENT = Decimal("0.01")


def forma_pago(method: str) -> str:
    return FORMA_PAGO.get((method or "").strip().lower(), "03")


@dataclass(frozen=True)
class Related:
    """One invoice the payment pays, with its issued Ingreso (parsed from the stored XML)."""

    paid: PaidInvoice
    ingreso: CFDI


def detail(related: Related) -> dict[str, Any]:
    """What the complement says of one invoice, kept to compare with the next picture."""
    p = related.paid
    return {
        "invoice_id": p.invoice_id,
        "uuid": str(related.ingreso["Complemento"]["TimbreFiscalDigital"]["UUID"]),
        "installment": p.installment,
        "before": p.balance_before.amount,
        "paid": p.amount.amount,
        "after": p.balance_before.amount - p.amount.amount,
        "currency": p.amount.currency,
    }


def build_pago(
    settings: Mapping[str, Any],
    related: Sequence[Related],
    *,
    paid_at: datetime,
    method: str,
    folio: str,
    fecha: datetime,
    replaces: str = "",
) -> cfdi40.Comprobante:
    """The unsigned tipo P Comprobante; :class:`BuildError` when it cannot be built."""
    if not related:
        raise BuildError("El pago no tiene facturas PPD timbradas que relacionar")
    currencies = {r.paid.amount.currency for r in related}
    if len(currencies) != 1:
        raise BuildError(
            "Un pago que cubre facturas en distintas monedas no está soportado: "
            + ", ".join(sorted(currencies))
        )
    currency = currencies.pop()
    for r in related:
        if r.paid.amount.amount > r.paid.balance_before.amount:
            raise BuildError(
                f"Factura {r.paid.number}: lo pagado supera el saldo anterior ({r.paid.amount} > "
                f"{r.paid.balance_before})"
            )
    first = related[0].ingreso
    rate = rate_for(settings, currency)
    try:
        comprobante = _pago(settings, related, first, paid_at, method, folio, fecha, replaces, rate)
    except ValueError as exc:  # satcfdi: Emisor/Receptor/Moneda differ between the Ingresos
        raise BuildError(f"No se pudo armar el complemento de pago: {exc}") from None
    _round_totales(comprobante)
    return comprobante


def _pago(
    settings: Mapping[str, Any],
    related: Sequence[Related],
    first: CFDI,
    paid_at: datetime,
    method: str,
    folio: str,
    fecha: datetime,
    replaces: str,
    rate: Decimal,
) -> cfdi40.Comprobante:
    return cfdi40.Comprobante.pago_comprobantes(
        comprobantes=[
            cfdi40.PagoComprobante(
                comprobante=r.ingreso,
                num_parcialidad=r.paid.installment,
                imp_saldo_ant=r.paid.balance_before.to_decimal(),
                imp_pagado=r.paid.amount.to_decimal(),
            )
            for r in related
        ],
        fecha_pago=paid_at.replace(tzinfo=None, microsecond=0),
        forma_pago=forma_pago(method),
        emisor=emisor(settings),
        lugar_expedicion=str(settings["postal_code"]).strip(),
        receptor=first["Receptor"].copy(),
        tipo_cambio=rate,
        cfdi_relacionados=(
            cfdi40.CfdiRelacionados(tipo_relacion="04", cfdi_relacionado=[replaces])
            if replaces
            else None
        ),
        serie=str(value(settings, "payment_series")),
        folio=folio,
        fecha=fecha,
    )


def _round_totales(comprobante: cfdi40.Comprobante) -> None:
    """Totales are in MXN with two decimals (Pagos20.xsd); satcfdi multiplies by TipoCambioP
    without rounding, so a rate with four decimals would break the schema."""
    complemento = comprobante["Complemento"]
    pagos = complemento["Pagos"] if "Pagos" in complemento else complemento
    totales = pagos["Totales"]
    for name, amount in list(totales.items()):
        if isinstance(amount, Decimal):
            totales[name] = amount.quantize(CENT, rounding=ROUND_HALF_UP)
