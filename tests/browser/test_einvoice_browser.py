"""E-invoicing in a real browser at 360 px (demo tenant ferreteria-norte: sat_mx with SAT's public
test CSD and the local fake PAC): staff open an invoice, issue its CFDI from the panel (or find
it issued by the workers), download the stamped XML, see the cancel form and the "Facturación"
list; the customer then finds the CFDI links on the invoice in the portal and downloads the
XML. Every page fits 360 px without sideways scrolling and passes axe-core (WCAG 2 A/AA)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, LiveServer
from tests.browser.test_bank_browser import _fits
from tests.browser.test_portal_browser import log_in
from tests.browser.test_staff_browser import PHONE, staff_log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SLUG = "ferreteria-norte"
INVOICE = "FER-2001"  # María Fernanda López García's, open
UUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$", re.I)


def _issued_uuid(page: Any) -> str:
    """The panel's UUID once the document is issued (the workers may be issuing it already)."""
    for _ in range(50):
        uuid = page.locator("#cfdi .einvoice-uuid")
        if uuid.count():
            return str(uuid.first.inner_text()).strip()
        button = page.locator("#issue-cfdi")
        if button.count():
            button.click()
            page.wait_for_load_state()
        else:
            page.wait_for_timeout(200)
            page.reload()
    raise AssertionError(
        "the invoice's CFDI was never issued: " + page.locator("#cfdi").inner_text()
    )


def test_issue_download_and_the_portal_link(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE, locale="es-MX", bypass_csp=True)
    page = context.new_page()
    staff_log_in(page, live_server)
    page.goto(f"{live_server.base_url}/t/{SLUG}/staff/facturas")
    page.get_by_role("link", name=INVOICE, exact=True).first.click()
    page.get_by_role("heading", name=f"Factura {INVOICE}").wait_for()
    page.get_by_role("heading", name="Factura electrónica (CFDI)").wait_for()
    invoice_url = page.url
    uuid = _issued_uuid(page)
    assert UUID.match(uuid), uuid
    panel = page.locator("#cfdi")
    assert "Emitido" in panel.inner_text()
    assert page.locator("#issue-cfdi").count() == 0
    panel.get_by_text("Cancelar comprobante").click()  # the cancel form opens
    assert panel.get_by_label("Motivo de cancelación (SAT)").is_visible()
    _fits(page)
    page.screenshot(path=str(ARTIFACTS / "staff-einvoice-panel-360.png"), full_page=True)

    with page.expect_download() as download:
        panel.locator("a.einvoice-xml").first.click()
    xml = open(download.value.path(), "rb").read()
    assert b"cfdi:Comprobante" in xml and uuid.encode().upper() in xml.upper()

    page.locator("#staff-nav").get_by_role("link", name="Facturación").click()
    page.get_by_role("heading", name="Facturación electrónica").wait_for()
    assert uuid in page.locator("#einvoice-table").inner_text()
    _fits(page)
    page.screenshot(path=str(ARTIFACTS / "staff-einvoices-360.png"), full_page=True)
    invoice_id = invoice_url.rsplit("/", 1)[1].split("#", 1)[0]
    context.close()

    customer = browser.new_context(viewport=PHONE, locale="es-MX", bypass_csp=True)
    portal = customer.new_page()
    log_in(portal, live_server, "maria.lopez@example.com")
    portal.goto(f"{live_server.base_url}/t/{SLUG}/facturas/{invoice_id}")
    cfdi = portal.locator("#cfdi")
    cfdi.wait_for()
    assert uuid in cfdi.inner_text()
    _fits(portal)
    portal.screenshot(path=str(ARTIFACTS / "portal-einvoice-360.png"), full_page=True)
    with portal.expect_download() as download:
        portal.locator("#cfdi-xml").click()
    assert b"cfdi:Comprobante" in open(download.value.path(), "rb").read()
    with portal.expect_download() as download:
        portal.locator("#cfdi-pdf").click()
    assert open(download.value.path(), "rb").read().startswith(b"%PDF")
    customer.close()
