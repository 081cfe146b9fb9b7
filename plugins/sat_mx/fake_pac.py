"""A fake PAC that stamps locally — for development mode and tests ONLY.

It is a fake and says so: the TimbreFiscalDigital it adds is signed with SAT's public *test*
CSD (EKU9003173C9, not SAT's own certificate) and carries no fiscal validity whatsoever. It lets
the demo and the tests run the whole flow (sign, validate, stamp, cancel) without the internet.

Like a real PAC it refuses, with a code and a Spanish message, what SAT would refuse: an XML
that fails the CFDI 4.0 schema, a seal that does not verify, a certificate not valid at the
CFDI's Fecha, a receptor RFC that is not well formed. The codes follow the style of SAT's
validation matrix (``CFDI40xxx``); they are this fake's, documented in docs/einvoicing-sat.md.

It is deterministic: the UUID is uuid5 of the sha256 of the sealed XML, and FechaTimbrado is the
CFDI's Fecha, so sending the same sealed XML twice returns the same stamped XML (as a real PAC
answers "already stamped" with the same UUID).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree
from satcfdi.cfdi import CFDI
from satcfdi.exceptions import ResponseError, SchemaValidationError
from satcfdi.models import Certificate, Signer
from satcfdi.pacs import PAC, Accept, CancelationAcknowledgment, CancelReason, Document, Environment

from recaudo.plugins.sat_mx.parties import rfc_problem
from recaudo.plugins.sat_mx.schema import validated_xml

TEST_CSD = Path(__file__).parent / "test_csd"
TEST_CSD_PASSWORD = "12345678a"  # noqa: S105 - SAT publishes it with the test CSD
PAC_RFC = "SAT970701NN3"
TFD_TAG = "{http://www.sat.gob.mx/TimbreFiscalDigital}TimbreFiscalDigital"
CFDI_NS = "http://www.sat.gob.mx/cfd/4"
#: CFDI dates are local time; SAT's reference zone for checking a certificate's validity.
MEXICO = ZoneInfo("America/Mexico_City")


@cache
def test_signer() -> Signer:
    """SAT's test CSD, loaded once per process (decrypting the key costs ~0.1 s)."""
    return Signer.load(
        certificate=(TEST_CSD / "EKU9003173C9.cer").read_bytes(),
        key=(TEST_CSD / "EKU9003173C9.key").read_bytes(),
        password=TEST_CSD_PASSWORD,
    )


def refuse(code: str, message: str) -> ResponseError:
    """A refusal shaped like satcfdi's PAC clients raise it: ``"<code> - <message>"``."""
    return ResponseError(f"{code} - {message}")


class FakePAC(PAC):
    """Stamps and cancels locally (see the module docstring). Never for a real business."""

    RFC = PAC_RFC

    def __init__(self) -> None:
        super().__init__(Environment.TEST)
        self._signer = test_signer()

    def stamp(self, cfdi: CFDI, accept: Accept = Accept.XML) -> Document:
        try:
            root = validated_xml(cfdi)
        except SchemaValidationError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "XML inválido"
            raise refuse("CFDI40100", f"El XML no cumple con el esquema del SAT: {first}") from None
        if cfdi.get("Complemento") and "TimbreFiscalDigital" in cfdi["Complemento"]:
            raise refuse("CFDI40107", "El CFDI contiene un timbre previo.")
        self._check_seal(cfdi)
        receptor = str(cfdi["Receptor"]["Rfc"])
        if problem := rfc_problem(receptor):
            raise refuse("CFDI40143", f"El RFC del receptor {receptor} no es válido: {problem}.")
        sealed = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        digest = hashlib.sha256(sealed).hexdigest()
        fiscal_id = str(uuid.uuid5(uuid.NAMESPACE_OID, digest)).upper()
        tfd = self._timbre(fiscal_id, cfdi["Fecha"], str(cfdi["Sello"]))
        complemento = root.find(f"{{{CFDI_NS}}}Complemento")
        if complemento is None:
            complemento = etree.SubElement(root, f"{{{CFDI_NS}}}Complemento")
        complemento.append(tfd.to_xml())
        xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        return Document(document_id=fiscal_id, xml=xml)

    def _check_seal(self, cfdi: CFDI) -> None:
        try:
            cert = Certificate.load_certificate(base64.b64decode(str(cfdi["Certificado"])))
            sello = base64.b64decode(str(cfdi["Sello"]))
        except Exception:  # any garbage here is the same refusal
            raise refuse("CFDI40102", "El certificado o el sello no se pueden leer.") from None
        if not cert.verify_sha256(cfdi.cadena_original().encode(), sello):
            raise refuse(
                "CFDI40102",
                "El resultado de la digestión debe ser igual al resultado de la desencripción "
                "del sello.",
            )
        if str(cert.rfc) != str(cfdi["Emisor"]["Rfc"]):
            raise refuse("CFDI40105", "El RFC del emisor no corresponde al del certificado.")
        fecha: datetime = cfdi["Fecha"]
        when = fecha.replace(tzinfo=MEXICO) if fecha.tzinfo is None else fecha
        x509 = cert.certificate.to_cryptography()
        if not x509.not_valid_before_utc <= when <= x509.not_valid_after_utc:
            raise refuse(
                "CFDI40104",
                "La fecha de emisión no está dentro de la vigencia del CSD del emisor "
                f"(vigente del {x509.not_valid_before_utc:%Y-%m-%d} "
                f"al {x509.not_valid_after_utc:%Y-%m-%d}).",
            )

    def _timbre(self, fiscal_id: str, fecha: datetime, sello: str) -> CFDI:
        tfd = CFDI(
            {
                "Version": "1.1",
                "UUID": fiscal_id,
                "FechaTimbrado": fecha,
                "RfcProvCertif": PAC_RFC,
                "SelloCFD": sello,
                "NoCertificadoSAT": self._signer.certificate_number,
                "SelloSAT": "",
            }
        )
        tfd.tag = TFD_TAG
        tfd["SelloSAT"] = self._signer.sign_sha256(tfd.cadena_original().encode())
        return tfd

    def cancel(
        self,
        cfdi: CFDI,
        reason: CancelReason,
        substitution_id: str | None = None,
        signer: Signer | None = None,
    ) -> CancelationAcknowledgment:
        """Accepted at once (a real cancellation may wait for the receiver's acceptance)."""
        if reason == CancelReason.COMPROBANTE_EMITIDO_CON_ERRORES_CON_RELACION and not (
            substitution_id
        ):
            raise refuse("CANC108", "El motivo 01 requiere el folio fiscal que sustituye.")
        return CancelationAcknowledgment(code="201")

    def status(self, cfdi: CFDI) -> dict[str, Any]:
        """The fake keeps no memory: the plugin's table is the truth (see ``refresh``)."""
        return {}
