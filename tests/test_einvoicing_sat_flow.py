"""End to end with the real ``sat_mx`` plugin, SAT's public test CSD and the local fake PAC:
an invoice issued PPD by the job, a manual payment's complement (type P) listed, an undone
payment's complement cancelled. The plugin's own tests check the XML in depth."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from recaudo.core import config
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.config import Settings
from recaudo.core.einvoicing import service
from recaudo.core.payments.ledger import record_staff_payment
from recaudo.core.payments.settlement import undo_payment
from recaudo.core.platform.host import PluginHost
from recaudo.core.tables import Invoice
from recaudo.demo import _fiscal_data, _rfc
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope
from tests.conftest import drain_jobs, make_tenant

pytestmark = pytest.mark.slow


@pytest.fixture
def sat_running(settings: Settings, host: PluginHost, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The process as a development worker has it: configuration active, plugins started."""
    if host.get("sat_mx") is None:
        pytest.fail("the sat_mx plugin is not installed (pip install -e . to register it)")
    from recaudo.plugins.sat_mx import settings as sat_settings

    monkeypatch.setattr(config, "_active", None)
    monkeypatch.setitem(sat_settings._mode, "development", False)
    config.activate(settings)
    host.results("recaudo_startup", settings=settings)
    return settings


async def test_ppd_invoice_payment_complement_and_undo(sat_running: Settings) -> None:
    from recaudo.plugins.sat_mx.demo import demo_settings

    scope = TenantScope(int((await make_tenant("ferreteria")).id))
    await set_plugin(
        scope, "sat_mx", enabled=True, settings=demo_settings(),
        secret_key=sat_running.secret_key,
    )  # fmt: skip
    name, tax_id = "Construcciones Alameda SA de CV", _rfc("CAL050101AB")
    customer = await create_customer(scope, NewCustomer("C-1", name, tax_id, "MX"), "MX")
    await _fiscal_data(scope, int(customer.id), 0, name, tax_id)
    today = date.today()
    invoice = await create_invoice(
        scope,
        NewInvoice(
            int(customer.id),
            "FER-1",
            today,
            today + timedelta(days=30),
            "MXN",
            (NewLine("Cemento gris 50 kg", 4, 24_500),),
            tax=15_680,
        ),
    )
    await drain_jobs()
    [doc] = await service.list_documents(scope)
    assert (doc.kind, doc.type_code, doc.status, doc.payment_terms) == (
        "invoice",
        "I",
        "issued",
        "PPD",
    )
    row = await scope.get(Invoice, invoice.id)
    assert row is not None and row.einvoice_uuid == doc.fiscal_id
    assert "<cfdi:Comprobante" in row.einvoice_xml and 'MetodoPago="PPD"' in row.einvoice_xml

    payment = await record_staff_payment(
        scope,
        customer_id=int(customer.id),
        currency="MXN",
        amount=50_000,
        method="banktransfer",
        reference="SPEI-1",
        invoice_ids=[int(invoice.id)],
    )
    await drain_jobs()
    [complement] = await service.list_documents(scope, kind="payment")
    assert (complement.type_code, complement.status) == ("P", "issued")
    assert complement.payment_id == payment.id and invoice.id in complement.invoice_ids
    xml = (await service.document_file(scope, complement.id, "xml")).content.decode()
    assert "pago20:Pagos" in xml and doc.fiscal_id in xml

    await undo_payment(scope, int(payment.id), reason="no era de este cliente")
    await drain_jobs()
    after = await service.get_document(scope, complement.id)
    assert after.status in ("cancelled", "cancel_pending")
    live = await service.list_documents(scope, kind="payment", status="issued")
    assert live == [], "an undone payment keeps no live complement"
