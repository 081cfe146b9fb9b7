"""How PAC answers reach staff: refusals fail the document with the PAC's words, outages raise
(the job retries) and the retry resumes the same document and folio."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from satcfdi.cfdi import CFDI
from satcfdi.exceptions import ResponseError
from satcfdi.pacs import Accept, Document

from recaudo.plugins.sat_mx import backend as backend_module
from recaudo.plugins.sat_mx.fake_pac import FakePAC
from recaudo.plugins.sat_mx.pac import refusal_text
from recaudo.plugins.sat_mx.tables import SatDocument
from tests import test_sat_support
from tests.test_sat_support import Sat, invoice_request

sat = test_sat_support.sat


class Scripted(FakePAC):
    """Answers from a script, then stamps like the fake PAC."""

    def __init__(self, answers: list[Exception]) -> None:
        super().__init__()
        self.answers = answers
        self.sent: list[bytes] = []

    def stamp(self, cfdi: CFDI, accept: Accept = Accept.XML) -> Document:
        self.sent.append(cfdi.xml_bytes())
        if self.answers:
            raise self.answers.pop(0)
        return super().stamp(cfdi, accept)


def _use(monkeypatch: pytest.MonkeyPatch, pac: Any) -> None:
    monkeypatch.setattr(backend_module, "pac_for", lambda settings: pac)


async def test_a_refusal_fails_the_document_with_the_pacs_code_and_message(
    sat: Sat, monkeypatch: pytest.MonkeyPatch
) -> None:
    pac = Scripted([ResponseError("705 - XML con caracteres no válidos")])
    _use(monkeypatch, pac)
    result = await sat.backend.issue(sat.ctx, invoice_request(sat, 1))
    assert not result.ok and result.error == "705: XML con caracteres no válidos"
    assert result.document is not None and result.document.status == "failed"
    # Staff fix it; the retry (same key) builds again with the same folio.
    retry = await sat.backend.issue(sat.ctx, invoice_request(sat, 1))
    assert retry.ok and retry.document is not None
    assert retry.document.id == result.document.id and retry.document.folio == "1"


async def test_an_outage_raises_and_the_retry_resends_the_same_sealed_xml(
    sat: Sat, monkeypatch: pytest.MonkeyPatch
) -> None:
    pac = Scripted([requests.ConnectionError("PAC unreachable")])
    _use(monkeypatch, pac)
    with pytest.raises(requests.ConnectionError):
        await sat.backend.issue(sat.ctx, invoice_request(sat, 2))
    row = await sat.scope.objects(SatDocument).first()
    assert row is not None and row.status == "pending" and row.xml and not row.uuid
    retry = await sat.backend.issue(sat.ctx, invoice_request(sat, 2))
    assert retry.ok and retry.document is not None and retry.document.folio == "1"
    assert len(pac.sent) == 2 and pac.sent[0] == pac.sent[1]


def test_refusal_text_keeps_the_pacs_words() -> None:
    assert refusal_text(
        ResponseError("305 - La fecha de emisión no está dentro de la vigencia")
    ) == ("305: La fecha de emisión no está dentro de la vigencia")
    assert refusal_text(ResponseError("Comprobante rechazado")) == "Comprobante rechazado"


class AlreadyStamped(Scripted):
    """A PAC that stamped the first time but whose answer was lost, like Finkok's 307."""

    def __init__(self) -> None:
        super().__init__([])
        self.first: Document | None = None

    def stamp(self, cfdi: CFDI, accept: Accept = Accept.XML) -> Document:
        if self.first is None:
            self.first = super().stamp(cfdi, accept)
            raise requests.Timeout("answer lost")
        raise ResponseError("307 - El CFDI contiene un timbre previo")

    def stamped(self, cfdi: CFDI, accept: Accept = Accept.XML) -> Document:
        assert self.first is not None
        return self.first


async def test_already_stamped_on_retry_recovers_the_first_stamp(
    sat: Sat, monkeypatch: pytest.MonkeyPatch
) -> None:
    pac = AlreadyStamped()
    _use(monkeypatch, pac)
    with pytest.raises(requests.Timeout):
        await sat.backend.issue(sat.ctx, invoice_request(sat, 3))
    retry = await sat.backend.issue(sat.ctx, invoice_request(sat, 3))
    assert retry.ok and pac.first is not None and retry.uuid == pac.first.document_id
    assert await sat.scope.count(SatDocument) == 1


async def test_refresh_asks_sats_status_service_for_a_real_pacs_document(
    sat: Sat, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recaudo.core.platform.context import build_context

    issued = await sat.backend.issue(sat.ctx, invoice_request(sat, 4))
    assert issued.document is not None
    row = await sat.scope.get(SatDocument, issued.document.id)
    assert row is not None
    row.pac = "finkok"
    await sat.scope.save(row)
    asked: list[str] = []

    class Status:
        def status(self, cfdi: CFDI) -> dict[str, str]:
            asked.append(str(cfdi["Complemento"]["TimbreFiscalDigital"]["UUID"]))
            return {"Estado": "Cancelado", "EstatusCancelacion": "Cancelado sin aceptación"}

    monkeypatch.setattr(backend_module, "status_service", lambda settings: Status())
    ctx = build_context(sat.ctx.tenant, "sat_mx", {**sat.ctx.settings, "pac": "finkok"})
    doc = await sat.backend.refresh(ctx, issued.document.id)
    assert asked == [issued.uuid] and doc.status == "cancelled" and doc.cancelled_at
