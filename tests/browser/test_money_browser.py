"""The money pages on a 360 px phone (demo tenant): a collector records a cash payment with the
form (amount typed as the page shows money), writes off an invoice, creates a mensualidad and
attaches a PDF; every page fits the phone and passes axe (WCAG 2 A/AA)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import LiveServer
from tests.browser.test_layout_a11y import PROBLEMS, check
from tests.browser.test_staff_browser import PHONE, SLUG, staff_log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_money_pages_work_on_a_phone(browser: Any, live_server: LiveServer) -> None:
    PROBLEMS.clear()
    context = browser.new_context(viewport=PHONE, locale="es-MX", bypass_csp=True)
    page = context.new_page()
    staff_log_in(page, live_server)
    base = f"{live_server.base_url}/t/{SLUG}/staff"

    check(page, f"{base}/pagos")
    check(page, f"{base}/pagos/nuevo?cliente=C-1003")
    page.locator("#monto").fill("1,000.00")
    page.locator("input[name=medio][value=cash]").check()
    page.locator("#referencia").fill("Recibo de caja 0042")
    page.locator("input[name=facturas]").first.check()
    page.locator("#record-payment").click()
    page.wait_for_url(re.compile(r".*/staff/pagos/\d+$"))
    check(page)
    assert page.locator("#reference").inner_text() == "Recibo de caja 0042"
    invoice_link = page.locator("#allocations a").first.get_attribute("href")
    assert invoice_link

    check(page, live_server.base_url + invoice_link)  # the write-off page of that invoice
    if page.locator("#write-off").count():
        page.locator("#motivo").fill("Saldo menor incobrable")
        page.locator("#write-off").click()
        page.wait_for_url(re.compile(r".*/castigo$"))
        check(page)
        assert page.locator("#invoice-status").inner_text() == "Castigada"

    attachments = live_server.base_url + invoice_link.replace("/castigo", "/adjuntos")
    check(page, attachments)
    page.locator("#archivo").set_input_files(
        files=[{"name": "factura-erp.pdf", "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4\n% factura\n%%EOF\n"}]
    )  # fmt: skip
    page.locator("#upload").click()
    page.locator("#attachments").get_by_text("factura-erp.pdf").wait_for()
    check(page)

    check(page, f"{base}/mensualidades/nueva")
    page.locator("#cliente").fill("C-1003")
    page.locator("#descripcion").fill("Renta de andamios")
    page.locator("#monto").fill("2,500.00")
    page.locator("#create-recurring").click()
    page.wait_for_url(re.compile(r".*/staff/mensualidades/\d+$"))
    check(page)
    check(page, f"{base}/mensualidades")
    context.close()
    assert not PROBLEMS, "\n".join(PROBLEMS)
