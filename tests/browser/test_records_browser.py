"""Records in a real browser at 360 px: a collector creates a customer and an invoice in the back
office, and the customer sees that invoice in their portal. Every records page on the way must
fit the phone and pass axe (``tests/browser/test_layout_a11y.check``)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import LiveServer
from tests.browser.test_layout_a11y import PHONE, PROBLEMS, check, portal_log_in, staff_log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SLUG = "ferreteria-norte"


def test_customer_and_invoice_made_in_the_back_office_reach_the_portal(
    browser: Any, live_server: LiveServer
) -> None:
    PROBLEMS.clear()
    staff = browser.new_context(viewport=PHONE, locale="es-MX", bypass_csp=True)
    desk = staff.new_page()
    staff_log_in(desk, live_server, SLUG)
    base = f"{live_server.base_url}/t/{SLUG}/staff"
    check(desk, f"{base}/clientes")
    desk.locator("#new-customer").click()
    desk.wait_for_url(re.compile(r".*/clientes/nuevo$"))
    check(desk)
    desk.locator("#f-number").fill("NAV-1")
    desk.locator("#f-name").fill("Navegador Pruebas SA")
    desk.locator("#f-email").fill("navegador@example.com")
    desk.locator("#f-tax_id").fill("GODE561231GR8")
    desk.locator("#f-segment").fill("Mayoreo")
    desk.locator("#f-tags").fill("vip, norte")
    desk.locator("#save-customer").click()
    desk.wait_for_url(re.compile(r".*/clientes/\d+$"))
    check(desk)
    desk.locator("#new-invoice").click()
    desk.wait_for_url(re.compile(r".*/facturas/nueva\?cliente=\d+$"))
    check(desk)
    assert desk.locator("#f-cliente").input_value() == "NAV-1"
    desk.locator("#f-numero").fill("NAV-F-1")
    desk.locator("#f-linea-0-descripcion").fill("Varilla corrugada")
    desk.locator("#f-linea-0-cantidad").fill("3")
    desk.locator("#f-linea-0-precio").fill("1,250.00")
    desk.locator("#f-tasa").fill("16")
    desk.locator("#save-invoice").click()
    desk.wait_for_url(re.compile(r".*/facturas/\d+$"))
    check(desk)
    assert "4,350.00" in desk.locator("#invoice-total").inner_text()  # 3 × 1,250 + 16 %
    check(desk, f"{base}/facturas")
    staff.close()

    customer = browser.new_context(viewport=PHONE, locale="es-MX", bypass_csp=True)
    page = customer.new_page()
    portal_log_in(page, live_server, SLUG, "navegador@example.com")
    page.wait_for_url(re.compile(r".*/estado-de-cuenta$"))
    page.get_by_text("NAV-F-1").first.wait_for()
    assert "4,350.00" in page.content()
    customer.close()
    assert not PROBLEMS, "\n".join(PROBLEMS)
