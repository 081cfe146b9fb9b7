"""CFDI 4.0 Ingreso through the SAT plugin: PPD/PUE, totals, folios, idempotency, refusals."""

from __future__ import annotations

import asyncio
import base64
from decimal import Decimal
from pathlib import Path

from recaudo.plugins.sat_mx.tables import SatDocument, SatFolio
from tests import test_sat_support
from tests.test_sat_cfdi_check import NS, check_cfdi
from tests.test_sat_support import CUSTOMER, Sat, enable, invoice_request

sat = test_sat_support.sat

DATA = Path(__file__).parent / "data" / "sat"


async def test_ppd_invoice_is_signed_stamped_and_matches_the_ledger(sat: Sat) -> None:
    result = await sat.backend.issue(sat.ctx, invoice_request(sat, 101))
    assert result.ok, result.error
    doc = result.document
    assert doc is not None and doc.status == "issued" and doc.payment_terms == "PPD"
    assert doc.series == "A" and doc.folio == "1" and doc.fiscal_id == result.uuid
    file = await sat.backend.document_file(sat.ctx, doc.id, "xml")
    assert file is not None and file.media_type == "application/xml"
    root = check_cfdi(file.content)
    assert root.get("TipoDeComprobante") == "I"
    assert root.get("MetodoPago") == "PPD" and root.get("FormaPago") == "99"
    assert root.get("SubTotal") == "200.00" and root.get("Total") == "232.00"
    assert root.get("Moneda") == "MXN" and root.get("TipoCambio") is None
    receptor = root.find("cfdi:Receptor", NS)
    assert receptor is not None and receptor.get("Rfc") == "MASO451221PM4"
    assert receptor.get("Nombre") == "MARÍA OLIVIA MARTÍNEZ SAGAZ"
    assert receptor.get("RegimenFiscalReceptor") == "612"
    assert receptor.get("DomicilioFiscalReceptor") == "64000"
    traslado = root.find("cfdi:Impuestos/cfdi:Traslados/cfdi:Traslado", NS)
    assert traslado is not None and traslado.get("Importe") == "32.00"
    assert traslado.get("TasaOCuota") == "0.160000"
    tfd = root.find("cfdi:Complemento/tfd:TimbreFiscalDigital", NS)
    assert tfd is not None and tfd.get("UUID") == doc.fiscal_id
    pdf = await sat.backend.document_file(sat.ctx, doc.id, "pdf")
    assert pdf is not None and pdf.content.startswith(b"%PDF")


async def test_paid_invoice_is_pue_and_untaxed_lines_are_not_objeto_de_impuesto(sat: Sat) -> None:
    result = await sat.backend.issue(sat.ctx, invoice_request(sat, 102, taxed=False, balance=0))
    assert result.ok, result.error
    root = check_cfdi(result.xml.encode())
    assert root.get("MetodoPago") == "PUE" and root.get("FormaPago") == "03"
    assert root.get("Total") == "200.00"
    concepto = root.find("cfdi:Conceptos/cfdi:Concepto", NS)
    assert concepto is not None and concepto.get("ObjetoImp") == "01"


async def test_usd_invoice_carries_the_exchange_rate_from_the_settings(sat: Sat) -> None:
    result = await sat.backend.issue(sat.ctx, invoice_request(sat, 103, currency="USD"))
    assert result.ok, result.error
    root = check_cfdi(result.xml.encode())
    assert root.get("Moneda") == "USD" and Decimal(root.get("TipoCambio", "")) == Decimal("17.5")


async def test_a_total_that_disagrees_with_the_ledger_is_refused(sat: Sat) -> None:
    result = await sat.backend.issue(sat.ctx, invoice_request(sat, 104, total=23_300))
    assert not result.ok
    assert "232.00" in result.error and "233.00" in result.error
    assert result.document is not None and result.document.status == "failed"


async def test_retry_with_the_same_key_returns_the_same_document_and_folio(sat: Sat) -> None:
    first = await sat.backend.issue(sat.ctx, invoice_request(sat, 105))
    again = await sat.backend.issue(sat.ctx, invoice_request(sat, 105))
    assert first.ok and again.ok
    assert first.document is not None and again.document is not None
    assert again.document.id == first.document.id and again.uuid == first.uuid
    assert await sat.scope.count(SatDocument) == 1
    row = await sat.scope.objects(SatFolio).first()
    assert row is not None and row.next == 2


async def test_a_pending_row_with_a_sealed_xml_is_resent_as_is(sat: Sat) -> None:
    """A crash after sealing and before storing the stamp: the retry sends the same XML and
    gets the same UUID (the fake PAC, like a real one, is deterministic for one sealed XML)."""
    first = await sat.backend.issue(sat.ctx, invoice_request(sat, 106))
    assert first.document is not None
    row = await sat.scope.get(SatDocument, first.document.id)
    assert row is not None
    tfd_start = row.xml.index("<cfdi:Complemento>")
    row.xml = row.xml[:tfd_start] + "</cfdi:Comprobante>"
    row.status, row.uuid = "pending", ""
    await sat.scope.save(row)
    again = await sat.backend.issue(sat.ctx, invoice_request(sat, 106))
    assert again.ok and again.uuid == first.uuid
    assert again.document is not None and again.document.folio == first.document.folio


async def test_concurrent_issuing_takes_consecutive_folios(sat: Sat) -> None:
    results = await asyncio.gather(
        *(sat.backend.issue(sat.ctx, invoice_request(sat, 200 + i)) for i in range(6))
    )
    assert all(r.ok for r in results), [r.error for r in results]
    folios = sorted(int(r.document.folio) for r in results if r.document)
    assert folios == [1, 2, 3, 4, 5, 6]
    assert len({r.uuid for r in results}) == 6


async def test_concurrent_retries_of_one_key_issue_one_document(sat: Sat) -> None:
    results = await asyncio.gather(
        *(sat.backend.issue(sat.ctx, invoice_request(sat, 300)) for _ in range(4))
    )
    assert all(r.ok for r in results)
    assert await sat.scope.count(SatDocument) == 1
    row = await sat.scope.objects(SatFolio).first()
    assert row is not None and row.next == 2


async def test_expired_certificate_is_refused_like_a_pac_does(sat: Sat, settings: object) -> None:
    expired = await enable(
        settings,
        {
            "csd_certificate": base64.b64encode(
                (DATA / "eku9003173c9_expired.cer").read_bytes()
            ).decode(),
            "csd_key": base64.b64encode((DATA / "eku9003173c9_expired.key").read_bytes()).decode(),
        },
    )
    # Staff are told when they save the settings…
    errors = expired.backend.configuration_errors(expired.ctx.settings)
    assert any("venció el 2023-06-17" in e for e in errors)
    # …and a document sent anyway gets the PAC's refusal, not a retry.
    result = await expired.backend.issue(expired.ctx, invoice_request(expired, 400))
    assert not result.ok
    assert result.error.startswith("CFDI40104: La fecha de emisión no está dentro de la vigencia")
    assert result.document is not None and result.document.status == "failed"
    assert result.document.error == result.error


async def test_malformed_receptor_rfc_is_refused(sat: Sat) -> None:
    from dataclasses import replace

    bad = replace(CUSTOMER, tax_id="MASO45122")
    result = await sat.backend.issue(sat.ctx, invoice_request(sat, 500, customer=bad))
    assert not result.ok and "RFC" in result.error
    assert result.document is not None and result.document.status == "failed"


async def test_an_rfc_without_the_rest_of_the_fiscal_data_is_refused(sat: Sat) -> None:
    from dataclasses import replace

    bare = replace(invoice_request(sat, 502, customer=None), customer_tax_id="MASO451221PM4")
    result = await sat.backend.issue(sat.ctx, bare)
    assert not result.ok and "Régimen fiscal: falta" in result.error


async def test_customer_without_rfc_is_billed_to_the_general_public(sat: Sat) -> None:
    result = await sat.backend.issue(sat.ctx, invoice_request(sat, 501, customer=None))
    assert result.ok, result.error
    receptor = check_cfdi(result.xml.encode()).find("cfdi:Receptor", NS)
    assert receptor is not None and receptor.get("Rfc") == "XAXX010101000"
    assert receptor.get("UsoCFDI") == "S01" and receptor.get("RegimenFiscalReceptor") == "616"


async def test_another_tenants_document_is_not_found(sat: Sat, settings: object) -> None:
    other = await enable(settings)
    mine = await sat.backend.issue(sat.ctx, invoice_request(sat, 600))
    assert mine.document is not None
    doc_id = mine.document.id
    assert await other.backend.document(other.ctx, doc_id) is None
    assert await other.backend.document_file(other.ctx, doc_id, "xml") is None
    assert await other.backend.documents(other.ctx) == []
    cancelled = await other.backend.cancel(other.ctx, doc_id, "02")
    assert not cancelled.ok
    still = await sat.backend.document(sat.ctx, doc_id)
    assert still is not None and still.status == "issued"
