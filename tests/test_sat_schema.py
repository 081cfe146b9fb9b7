"""SAT's XSD check: a document that breaks the schema is refused before any PAC sees it, and
the compiled schema is reused (compiling it was most of the cost of issuing a CFDI)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from satcfdi.create.cfd import cfdi40
from satcfdi.exceptions import ResponseError, SchemaValidationError

from recaudo.plugins.sat_mx import schema
from recaudo.plugins.sat_mx.fake_pac import FakePAC
from recaudo.plugins.sat_mx.fake_pac import test_signer as sat_test_signer


def comprobante(folio: str = "7") -> cfdi40.Comprobante:
    signer = sat_test_signer()
    doc = cfdi40.Comprobante(
        emisor=cfdi40.Emisor(rfc=signer.rfc, nombre=signer.legal_name, regimen_fiscal="601"),
        lugar_expedicion="42501",
        receptor=cfdi40.Receptor(
            rfc="EKU9003173C9",
            nombre="ESCUELA KEMPER URGATE",
            uso_cfdi="G03",
            domicilio_fiscal_receptor="42501",
            regimen_fiscal_receptor="601",
        ),
        conceptos=[
            cfdi40.Concepto(
                clave_prod_serv="01010101",
                cantidad=Decimal(2),
                clave_unidad="E48",
                descripcion="Varilla corrugada 3/8",
                valor_unitario=Decimal("189.90"),
                objeto_imp="01",
            )
        ],
        moneda="MXN",
        serie="A",
        folio=folio,
        metodo_pago="PUE",
        forma_pago="03",
    )
    doc.sign(signer)
    return doc


def test_a_conforming_cfdi_passes_and_the_compiled_schema_is_reused() -> None:
    schema._local.__dict__.pop("schemas", None)  # this thread may have validated others before
    first = schema.validated_xml(comprobante())
    assert first.get("LugarExpedicion") == "42501" and first.get("Sello")
    compiled = dict(schema._local.schemas)
    schema.validated_xml(comprobante())
    assert schema._local.schemas == compiled  # same objects: nothing compiled again
    assert len(compiled) == 1


def test_a_cfdi_that_breaks_the_schema_is_refused_with_lxmls_reason() -> None:
    with pytest.raises(SchemaValidationError) as caught:
        schema.validated_xml(comprobante(folio="9" * 41))  # Folio: at most 40
    assert "Folio" in str(caught.value)


def test_the_fake_pac_refuses_a_non_conforming_cfdi_like_a_pac_does() -> None:
    with pytest.raises(ResponseError) as caught:
        FakePAC().stamp(comprobante(folio="9" * 41))
    assert str(caught.value).startswith("CFDI40100 - El XML no cumple con el esquema del SAT")
