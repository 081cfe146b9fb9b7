"""Pagos 2.0 complements: amounts checked against hand-computed cases, substitution, reversal.

Every complement is checked independently (schema, seal) and its figures read from the XML.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from recaudo.plugins.sat_mx.tables import SatDocument
from tests import test_sat_support
from tests.test_sat_cfdi_check import NS, check_cfdi
from tests.test_sat_support import Sat, invoice_request, paid, payment_request

sat = test_sat_support.sat

TOTAL = 116_000  # 1 000.00 + 16 % IVA


async def _ppd(sat: Sat, invoice_id: int, unit: int = 100_000, currency: str = "MXN") -> str:
    result = await sat.backend.issue(
        sat.ctx, invoice_request(sat, invoice_id, unit=unit, quantity=1, currency=currency)
    )
    assert result.ok and result.document is not None, result.error
    assert result.document.payment_terms == "PPD"
    return result.uuid


async def _xml(sat: Sat, doc_id: int) -> etree._Element:
    file = await sat.backend.document_file(sat.ctx, doc_id, "xml")
    assert file is not None
    return check_cfdi(file.content)


def _docto(root: etree._Element, uuid: str) -> etree._Element:
    for d in root.iterfind("cfdi:Complemento/pago20:Pagos/pago20:Pago/pago20:DoctoRelacionado", NS):
        if d.get("IdDocumento") == uuid:
            return d
    raise AssertionError(f"{uuid} not related")


def _iva(docto: etree._Element) -> tuple[str, str]:
    t = docto.find("pago20:ImpuestosDR/pago20:TrasladosDR/pago20:TrasladoDR", NS)
    assert t is not None
    return t.get("BaseDR", ""), t.get("ImporteDR", "")


async def test_three_partial_payments_chain_installments_and_balances(sat: Sat) -> None:
    uuid = await _ppd(sat, 1)
    # before, paid, after, installment; IVA base/importe by hand: the paid share of 1 000.00 and
    # 160.00 (cumulative share rounded, minus what earlier payments took).
    cases = [
        (116_000, 40_000, "760.00", 1, ("344.83", "55.17")),
        (76_000, 50_000, "260.00", 2, ("431.03", "68.97")),
        (26_000, 26_000, "0.00", 3, ("224.14", "35.86")),
    ]
    for n, (before, amount, after, installment, iva) in enumerate(cases, start=1):
        result = await sat.backend.issue_payment(
            sat.ctx, payment_request(sat, n, (paid(1, amount, before, installment, TOTAL),))
        )
        assert result.ok and result.document is not None, result.error
        assert result.document.type_code == "P" and result.document.series == "P"
        assert result.document.folio == str(n)
        root = await _xml(sat, result.document.id)
        assert root.get("TipoDeComprobante") == "P" and root.get("Moneda") == "XXX"
        docto = _docto(root, uuid)
        assert docto.get("NumParcialidad") == str(installment)
        assert Decimal(docto.get("ImpSaldoAnt", "")) == Decimal(before) / 100
        assert Decimal(docto.get("ImpPagado", "")) == Decimal(amount) / 100
        assert docto.get("ImpSaldoInsoluto") == after
        assert docto.get("ObjetoImpDR") == "02" and docto.get("EquivalenciaDR") == "1"
        assert _iva(docto) == iva
        pago = root.find("cfdi:Complemento/pago20:Pagos/pago20:Pago", NS)
        assert pago is not None and pago.get("FormaDePagoP") == "03"
        assert pago.get("MonedaP") == "MXN" and pago.get("TipoCambioP") == "1"
        assert Decimal(pago.get("Monto", "")) == Decimal(amount) / 100
        assert pago.get("FechaPago") == "2026-12-01T12:30:00"  # 18:30 UTC in Mexico City
        totales = root.find("cfdi:Complemento/pago20:Pagos/pago20:Totales", NS)
        assert totales is not None
        assert Decimal(totales.get("MontoTotalPagos", "")) == Decimal(amount) / 100
        assert totales.get("TotalTrasladosBaseIVA16") == iva[0]
        assert totales.get("TotalTrasladosImpuestoIVA16") == iva[1]


async def test_one_payment_covering_several_invoices(sat: Sat) -> None:
    first = await _ppd(sat, 10)
    second = await _ppd(sat, 11, unit=50_000)  # 500.00 + 80.00 = 580.00
    result = await sat.backend.issue_payment(
        sat.ctx,
        payment_request(
            sat, 20, (paid(10, 116_000, 116_000, 1, 116_000), paid(11, 20_000, 58_000, 1, 58_000))
        ),
    )
    assert result.ok and result.document is not None, result.error
    assert result.document.invoice_ids == (10, 11)
    root = await _xml(sat, result.document.id)
    a, b = _docto(root, first), _docto(root, second)
    assert (a.get("ImpSaldoInsoluto"), b.get("ImpSaldoInsoluto")) == ("0.00", "380.00")
    assert _iva(a) == ("1000.00", "160.00")
    assert _iva(b) == ("172.41", "27.59")  # 200.00 of 580.00: 500.00 × 200/580, 80.00 × 200/580
    pago = root.find("cfdi:Complemento/pago20:Pagos/pago20:Pago", NS)
    assert pago is not None and pago.get("Monto") == "1360.00"
    pdf = await sat.backend.document_file(sat.ctx, result.document.id, "pdf")
    assert pdf is not None and pdf.content.startswith(b"%PDF") and pdf.filename.startswith("P1-")


async def test_usd_invoice_paid_in_usd_reports_totals_in_mxn(sat: Sat) -> None:
    uuid = await _ppd(sat, 30, unit=10_000, currency="USD")  # 100.00 + 16.00 USD
    result = await sat.backend.issue_payment(
        sat.ctx,
        payment_request(sat, 31, (paid(30, 11_600, 11_600, 1, 11_600, "USD"),), currency="USD"),
    )
    assert result.ok and result.document is not None, result.error
    root = await _xml(sat, result.document.id)
    pago = root.find("cfdi:Complemento/pago20:Pagos/pago20:Pago", NS)
    assert pago is not None and pago.get("MonedaP") == "USD"
    assert Decimal(pago.get("TipoCambioP", "")) == Decimal("17.5")
    assert pago.get("Monto") == "116.00"
    assert _docto(root, uuid).get("MonedaDR") == "USD"
    totales = root.find("cfdi:Complemento/pago20:Pagos/pago20:Totales", NS)
    assert totales is not None
    assert Decimal(totales.get("MontoTotalPagos", "")) == Decimal("2030.00")  # 116 × 17.5
    assert Decimal(totales.get("TotalTrasladosBaseIVA16", "")) == Decimal("1750.00")
    assert Decimal(totales.get("TotalTrasladosImpuestoIVA16", "")) == Decimal("280.00")


async def test_usd_payment_without_a_rate_is_refused_with_a_message(sat: Sat) -> None:
    await _ppd(sat, 32, unit=10_000, currency="USD")
    from recaudo.core.platform.context import build_context

    ctx = build_context(sat.ctx.tenant, "sat_mx", {**sat.ctx.settings, "exchange_rates": ""})
    result = await sat.backend.issue_payment(
        ctx, payment_request(sat, 33, (paid(32, 100, 11_600, 1, 11_600, "USD"),))
    )
    assert not result.ok and "Falta el tipo de cambio de USD" in result.error


async def test_partial_reversal_substitutes_and_full_reversal_cancels(sat: Sat) -> None:
    uuid = await _ppd(sat, 40)
    first = await sat.backend.issue_payment(
        sat.ctx, payment_request(sat, 41, (paid(40, 40_000, TOTAL, 1, TOTAL),))
    )
    assert first.ok and first.document is not None
    # The same picture again: nothing new.
    same = await sat.backend.issue_payment(
        sat.ctx, payment_request(sat, 41, (paid(40, 40_000, TOTAL, 1, TOTAL),), key="again")
    )
    assert same.ok and same.document is not None and same.document.id == first.document.id
    assert same.changed == ()
    # Part of it is refunded: a new complement replaces the old one.
    sub = await sat.backend.issue_payment(
        sat.ctx, payment_request(sat, 41, (paid(40, 30_000, TOTAL, 1, TOTAL),))
    )
    assert sub.ok and sub.document is not None and sub.document.replaces == first.uuid
    root = await _xml(sat, sub.document.id)
    rel = root.find("cfdi:CfdiRelacionados", NS)
    assert rel is not None and rel.get("TipoRelacion") == "04"
    assert rel[0].get("UUID") == first.uuid
    assert _docto(root, uuid).get("ImpPagado") == "300.00"
    old = await sat.backend.document(sat.ctx, first.document.id)
    assert old is not None and old.status == "cancelled"
    assert old.cancel_reason == "01" and old.replaced_by == sub.uuid
    assert {d.id for d in sub.changed} == {sub.document.id, first.document.id}
    # Everything is undone: the complement is cancelled (02: nothing replaces it).
    gone = await sat.backend.issue_payment(sat.ctx, payment_request(sat, 41, ()))
    assert gone.ok and gone.document is None
    assert [(d.id, d.status, d.cancel_reason) for d in gone.changed] == [
        (sub.document.id, "cancelled", "02")
    ]
    live = await sat.backend.documents(sat.ctx, payment_id=41, status="issued")
    assert live == []


async def test_pue_invoices_need_no_complement(sat: Sat) -> None:
    done = await sat.backend.issue(sat.ctx, invoice_request(sat, 50, balance=0))
    assert done.ok and done.document is not None and done.document.payment_terms == "PUE"
    result = await sat.backend.issue_payment(
        sat.ctx, payment_request(sat, 51, (paid(50, 23_200, 23_200, 1, 23_200),))
    )
    assert result.ok and result.document is None and result.changed == ()
    assert await sat.scope.count(SatDocument).where(SatDocument.kind == "payment") == 0


async def test_complements_are_listed_with_their_invoice(sat: Sat) -> None:
    await _ppd(sat, 60)
    result = await sat.backend.issue_payment(
        sat.ctx, payment_request(sat, 61, (paid(60, 10_000, TOTAL, 1, TOTAL),))
    )
    assert result.document is not None
    docs = await sat.backend.documents(sat.ctx, invoice_id=60)
    assert [(d.kind, d.invoice_ids) for d in docs] == [("payment", (60,)), ("invoice", (60,))]
    assert await sat.backend.documents(sat.ctx, invoice_id=6) == []
