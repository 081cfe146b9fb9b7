"""The demo's Mexican tenant issues CFDIs out of the box: ``sat_mx`` on with SAT's test CSD and
the fake PAC, customers with fiscal data, and its invoices documented by the jobs."""

from __future__ import annotations

import pytest

from recaudo.core import config
from recaudo.core.config import Settings
from recaudo.core.einvoicing import service
from recaudo.core.platform.host import PluginHost
from recaudo.core.tables import Customer
from recaudo.demo import seed_demo
from recaudo.tenants.plugin_config import enabled_plugins
from recaudo.tenants.resolve import tenant_by_slug
from recaudo.tenants.scoped import TenantScope
from tests.conftest import drain_jobs

pytestmark = pytest.mark.slow


async def test_ferreteria_issues_its_invoices_and_complements(
    settings: Settings, host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recaudo.plugins.sat_mx import settings as sat_settings

    monkeypatch.setattr(config, "_active", None)
    monkeypatch.setitem(sat_settings._mode, "development", False)
    config.activate(settings)
    host.results("recaudo_startup", settings=settings)
    await seed_demo(settings)
    tenant = await tenant_by_slug("ferreteria-norte")
    assert tenant is not None
    scope = TenantScope(int(tenant.id))
    assert "sat_mx" in await enabled_plugins(scope)
    rows = await scope.select(
        Customer,
        Customer.fiscal_name,
        Customer.fiscal_regime,
        Customer.fiscal_postal_code,
        Customer.fiscal_use,
    ).order_by(Customer.number)
    assert [(r["fiscal_name"], r["fiscal_regime"], r["fiscal_use"]) for r in rows] == [
        ("CONSTRUCCIONES ALAMEDA", "601", "G03"),
        ("MARÍA FERNANDA LÓPEZ GARCÍA", "612", "G03"),
        ("TALLER MECÁNICO EL GÜERO", "601", "G03"),
    ]
    assert all(len(r["fiscal_postal_code"]) == 5 for r in rows)

    await drain_jobs(max_rounds=40)
    docs = await service.list_documents(scope, limit=1000)
    invoices = [d for d in docs if d.kind == "invoice"]
    assert invoices and all(d.status == "issued" for d in invoices), [d.error for d in invoices]
    assert {d.payment_terms for d in invoices} == {"PUE", "PPD"}
    assert any(d.kind == "payment" and d.type_code == "P" for d in docs), "partial payments"
    other = await tenant_by_slug("clinica-andina")
    assert other is not None
    assert await service.list_documents(TenantScope(int(other.id))) == []
