"""Cancellation rules, the development-only fake PAC, settings checks and party validation."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from recaudo.plugins.sat_mx import settings as sat_settings
from recaudo.plugins.sat_mx.demo import demo_settings
from recaudo.plugins.sat_mx.parties import party_errors
from tests import test_sat_support
from tests.test_sat_support import CUSTOMER, Sat, invoice_request

sat = test_sat_support.sat

DATA = Path(__file__).parent / "data" / "sat"


async def test_cancel_01_needs_an_issued_replacement_of_this_tenant(sat: Sat) -> None:
    old = await sat.backend.issue(sat.ctx, invoice_request(sat, 1))
    assert old.document is not None
    refused = await sat.backend.cancel(sat.ctx, old.document.id, "01")
    assert not refused.ok and "requiere el UUID" in refused.error
    unknown = await sat.backend.cancel(
        sat.ctx, old.document.id, "01", "00000000-0000-0000-0000-000000000000"
    )
    assert not unknown.ok and "no es un CFDI timbrado" in unknown.error
    bad_reason = await sat.backend.cancel(sat.ctx, old.document.id, "05")
    assert not bad_reason.ok and "01, 02, 03 o 04" in bad_reason.error
    doc = await sat.backend.document(sat.ctx, old.document.id)
    assert doc is not None and doc.status == "issued"  # nothing changed on refusals

    new = await sat.backend.issue(
        sat.ctx, replace(invoice_request(sat, 1, key="invoice:1:2"), replaces=old.uuid)
    )
    assert new.ok and new.document is not None and new.document.replaces == old.uuid
    done = await sat.backend.cancel(sat.ctx, old.document.id, "01", new.uuid.lower())
    assert done.ok and done.document is not None
    assert done.document.status == "cancelled" and done.document.cancel_reason == "01"
    assert done.document.replaced_by == new.uuid and done.document.cancelled_at is not None
    # Cancelling again changes nothing.
    again = await sat.backend.cancel(sat.ctx, old.document.id, "02")
    assert again.ok and again.document is not None and again.document.cancel_reason == "01"
    refreshed = await sat.backend.refresh(sat.ctx, old.document.id)
    assert refreshed.status == "cancelled"


async def test_cancel_02_without_replacement(sat: Sat) -> None:
    doc = await sat.backend.issue(sat.ctx, invoice_request(sat, 2))
    assert doc.document is not None
    done = await sat.backend.cancel(sat.ctx, doc.document.id, "02")
    assert done.ok and done.document is not None and done.document.status == "cancelled"
    assert [d.id for d in await sat.backend.documents(sat.ctx, status="cancelled")] == [
        doc.document.id
    ]


async def test_fake_pac_is_refused_outside_development(sat: Sat) -> None:
    sat_settings.set_development(False)
    errors = sat.backend.configuration_errors(sat.ctx.settings)
    assert any("solo se permite en modo desarrollo" in e for e in errors)
    result = await sat.backend.issue(sat.ctx, invoice_request(sat, 3))
    assert not result.ok and "modo desarrollo" in result.error
    assert await sat.backend.documents(sat.ctx) == []


def test_demo_settings_are_complete_in_development() -> None:
    sat_settings.set_development(True)
    try:
        assert sat_settings.configuration_errors(demo_settings()) == []
    finally:
        sat_settings.set_development(False)


def test_settings_errors_name_what_is_wrong() -> None:
    sat_settings.set_development(True)
    try:
        good = demo_settings()
        wrong_password = sat_settings.configuration_errors({**good, "csd_password": "nope"})
        assert any("Contraseña de la llave CSD" in e for e in wrong_password)
        other_key = base64.b64encode((DATA / "eku9003173c9_expired.key").read_bytes()).decode()
        mismatch = sat_settings.configuration_errors({**good, "csd_key": other_key})
        assert any("no corresponde al certificado" in e for e in mismatch)
        other_rfc = sat_settings.configuration_errors({**good, "rfc": "AAA010101AAA"})
        assert any("es del RFC EKU9003173C9" in e for e in other_rfc)
        rates = sat_settings.configuration_errors({**good, "exchange_rates": "USD=abc"})
        assert any("Tipos de cambio" in e for e in rates)
        missing = sat_settings.configuration_errors({"pac": "fake"})
        assert any(e.startswith("RFC del emisor: falta") for e in missing)
        real = sat_settings.configuration_errors({**good, "pac": "finkok"})
        assert "Usuario del PAC: falta" in real
    finally:
        sat_settings.set_development(False)


def test_party_errors() -> None:
    assert party_errors(CUSTOMER) == []
    assert party_errors(replace(CUSTOMER, tax_id="XAXX010101000", regime="616", use="S01")) == []
    short = party_errors(replace(CUSTOMER, tax_id="ABC12"))
    assert any(e.startswith("RFC:") and "12 caracteres" in e for e in short)
    # A persona moral (12 characters) cannot have régimen 612 (personas físicas).
    moral = party_errors(replace(CUSTOMER, tax_id="EKU9003173C9"))
    assert "Régimen fiscal: 612 no aplica a una persona moral" in moral
    assert any("Régimen fiscal" in e for e in party_errors(replace(CUSTOMER, regime="999")))
    assert any("Código postal" in e for e in party_errors(replace(CUSTOMER, postal_code="640")))
    assert any("Nombre fiscal" in e for e in party_errors(replace(CUSTOMER, name=" ")))
    # D01 (honorarios médicos) is for personas físicas; CN01 only with régimen 605.
    assert party_errors(replace(CUSTOMER, use="D01")) == []
    assert any("CN01" in e for e in party_errors(replace(CUSTOMER, use="CN01")))
    assert any("Uso del CFDI" in e for e in party_errors(replace(CUSTOMER, use="ZZZ")))
    generic = party_errors(replace(CUSTOMER, tax_id="XAXX010101000", regime="612"))
    assert any("616" in e for e in generic)


def test_the_plugin_offers_its_backend_and_learns_the_mode_at_startup(host: Any) -> None:
    [backend] = [b for o, b in host.provided("recaudo_einvoice_backends") if o == "sat_mx"]
    assert backend.name == "sat_mx" and backend.countries == ("MX",)
    assert {f.name for f in backend.settings_schema} >= {"rfc", "csd_key", "pac", "auto_issue"}
    secrets = {f.name for f in backend.settings_schema if f.secret}
    assert secrets == {"csd_key", "csd_password", "pac_password"}
    for mode, expected in (("development", True), ("production", False)):
        plugin = host.get("sat_mx")
        plugin.recaudo_startup(SimpleNamespace(is_development=expected))
        assert sat_settings.is_development() is expected, mode
