"""An independent check of a stamped CFDI, shared by the SAT tests: schema and both seals.

It does not use the plugin's code, nor satcfdi's object model: lxml validates against SAT's
XSDs (as shipped in satcfdi), SAT's XSLT builds the cadena original, and ``cryptography``
verifies the seal against the certificate the CFDI itself carries.
"""

from __future__ import annotations

import base64
from pathlib import Path

import satcfdi
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

SAT = Path(satcfdi.__file__).parent / "transform" / "schemas" / "www.sat.gob.mx" / "sitio_internet"
NS = {
    "cfdi": "http://www.sat.gob.mx/cfd/4",
    "tfd": "http://www.sat.gob.mx/TimbreFiscalDigital",
    "pago20": "http://www.sat.gob.mx/Pagos20",
}
TEST_CSD = Path(__file__).parents[1] / "plugins" / "sat_mx" / "test_csd" / "EKU9003173C9.cer"
TEST_CERT_B64 = base64.b64encode(TEST_CSD.read_bytes()).decode()
TEST_CERT_NUMBER = "30001000000500003416"
_xslts: dict[str, etree.XSLT] = {}
_schemas: list[etree.XMLSchema] = []


def _schema() -> etree.XMLSchema:
    """CFDI 4.0 with the complements we produce (its Complemento is a strict wildcard)."""
    if not _schemas:
        imports = "".join(
            f'<xs:import namespace="{ns}" schemaLocation="{(SAT / rel).as_uri()}"/>'
            for ns, rel in (
                (NS["cfdi"], "cfd/4/cfdv40.xsd"),
                (NS["tfd"], "cfd/TimbreFiscalDigital/TimbreFiscalDigitalv11.xsd"),
                (NS["pago20"], "cfd/Pagos/Pagos20.xsd"),
            )
        )
        wrapper = f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'
        _schemas.append(etree.XMLSchema(etree.fromstring(wrapper.encode())))
    return _schemas[0]


def _xslt(rel: str) -> etree.XSLT:
    if rel not in _xslts:
        _xslts[rel] = etree.XSLT(etree.parse(str(SAT / rel)))
    return _xslts[rel]


def _verify(cert_b64: str, data: bytes, seal_b64: str) -> None:
    cert = x509.load_der_x509_certificate(base64.b64decode(cert_b64))
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(base64.b64decode(seal_b64), data, padding.PKCS1v15(), hashes.SHA256())


def check_cfdi(xml: bytes) -> etree._Element:
    """Raises unless ``xml`` is a schema-valid CFDI 4.0 whose Sello verifies against its
    Certificado and whose TimbreFiscalDigital seals that Sello; returns the parsed root."""
    root = etree.fromstring(xml)
    _schema().assertValid(root)
    tfd = root.find("cfdi:Complemento/tfd:TimbreFiscalDigital", NS)
    assert tfd is not None, "no TimbreFiscalDigital"
    cadena = str(_xslt("cfd/4/cadenaoriginal_4_0/cadenaoriginal_4_0.xslt")(root))
    assert cadena.startswith("||4.0|"), cadena[:40]
    _verify(root.get("Certificado", ""), cadena.encode("utf-8"), root.get("Sello", ""))
    assert tfd.get("SelloCFD") == root.get("Sello")
    # The stamp seals the CFDI's seal: here with the test CSD (the fake PAC), as a PAC would
    # with SAT's certificate numbered NoCertificadoSAT.
    tfd_cadena = str(_xslt("cfd/TimbreFiscalDigital/cadenaoriginal_TFD_1_1.xslt")(tfd))
    assert tfd.get("NoCertificadoSAT") == TEST_CERT_NUMBER
    _verify(TEST_CERT_B64, tfd_cadena.encode("utf-8"), tfd.get("SelloSAT", ""))
    return root


def test_a_tampered_cfdi_fails_the_check() -> None:
    """The check itself can fail: change one amount of a genuine stamp and it refuses."""
    from datetime import datetime
    from decimal import Decimal

    import pytest
    from satcfdi.create.cfd import cfdi40

    from recaudo.plugins.sat_mx.fake_pac import FakePAC, test_signer

    signer = test_signer()
    comprobante = cfdi40.Comprobante(
        emisor=cfdi40.Emisor(
            rfc="EKU9003173C9", nombre="ESCUELA KEMPER URGATE", regimen_fiscal="601"
        ),
        lugar_expedicion="42501",
        receptor=cfdi40.Receptor(
            rfc="XAXX010101000",
            nombre="PUBLICO EN GENERAL",
            domicilio_fiscal_receptor="42501",
            regimen_fiscal_receptor="616",
            uso_cfdi="S01",
        ),
        conceptos=[
            cfdi40.Concepto(
                clave_prod_serv="01010101",
                cantidad=Decimal(1),
                clave_unidad="E48",
                descripcion="Prueba",
                valor_unitario=Decimal("10.00"),
            )
        ],
        forma_pago="03",
        metodo_pago="PUE",
        fecha=datetime(2026, 12, 1, 9, 0, 0),
    )
    comprobante.sign(signer)
    xml = FakePAC().stamp(comprobante).xml
    assert xml is not None
    check_cfdi(xml)
    tampered = xml.replace(b'Total="10.00"', b'Total="11.00"')
    assert tampered != xml
    with pytest.raises(Exception):  # noqa: B017 - schema or signature, either must refuse
        check_cfdi(tampered)
