"""Customer and staff in two real browser contexts against the live server (demo tenant).

A chat message typed in the portal reaches the staff inbox, and the staff answer appears in the
customer's open chat without a reload (htmx polling). A proof of payment uploaded in the portal
and confirmed in the back office lowers the customer's balance by its amount. Screenshots of the
staff pages at 360 px and desktop widths land in ``test-artifacts/``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, LiveServer
from tests.browser.test_portal_browser import log_in, money

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SLUG = "ferreteria-norte"
PHONE = {"width": 360, "height": 800}
DESKTOP = {"width": 1280, "height": 900}
STAFF_PASSWORD = "demo-recaudo-2026"


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"staff-{name}.png"), full_page=True)


def staff_log_in(page: Any, server: LiveServer, role: str = "cobranza") -> None:
    page.goto(f"{server.base_url}/t/{SLUG}/staff/")
    page.wait_for_url(re.compile(r".*/staff/login.*"))
    page.get_by_label("Correo", exact=True).fill(f"{role}@{SLUG}.example")
    page.get_by_label("Contraseña").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.get_by_role("heading", name="Bandeja").wait_for()


def test_chat_message_reaches_staff_and_the_answer_reaches_the_customer(
    browser: Any, live_server: LiveServer
) -> None:
    customer = browser.new_context(viewport=PHONE, locale="es-MX")
    portal = customer.new_page()
    log_in(portal, live_server, "compras@alameda.example")
    portal.goto(f"{live_server.base_url}/t/{SLUG}/ayuda/chat")
    portal.get_by_label("Tu mensaje").fill("Hola, ¿puedo pagar la factura en dos partes?")
    portal.get_by_role("button", name="Enviar").click()
    portal.locator("#chat-log").get_by_text("¿puedo pagar la factura en dos partes?").wait_for()

    staff = browser.new_context(viewport=PHONE, locale="es-MX")
    desk = staff.new_page()
    staff_log_in(desk, live_server)
    assert desk.locator('[data-count="chats"]').inner_text() == "1"
    shot(desk, "inbox-360")
    desk.get_by_role("link", name="Construcciones Alameda SA de CV").click()
    desk.get_by_text("¿puedo pagar la factura en dos partes?").wait_for()
    desk.get_by_label("Tu respuesta").fill("Claro: te propongo dos pagos, hoy y el día 15.")
    desk.get_by_role("button", name="Enviar respuesta").click()
    desk.locator("#chat-log").get_by_text("te propongo dos pagos").wait_for()
    shot(desk, "chat-360")

    # The customer's page was left open: the answer arrives by polling, no reload.
    portal.locator("#chat-log").get_by_text("te propongo dos pagos").wait_for(timeout=15_000)
    # …and is read out by screen readers from the stable live region, not the redrawn list.
    assert "te propongo dos pagos" in portal.locator("#chat-news").inner_text()
    portal.screenshot(path=str(ARTIFACTS / "staff-chat-customer-side-360.png"), full_page=True)

    desk.goto(f"{live_server.base_url}/t/{SLUG}/staff/")
    assert desk.locator('[data-count="chats"]').inner_text() == "0"
    desk.set_viewport_size(DESKTOP)
    shot(desk, "inbox-desktop")
    customer.close()
    staff.close()


def test_proof_uploaded_by_the_customer_and_confirmed_by_staff_lowers_the_balance(
    browser: Any, live_server: LiveServer
) -> None:
    customer = browser.new_context(viewport=PHONE, locale="es-MX")
    portal = customer.new_page()
    log_in(portal, live_server, "taller.guero@example.com")
    before = money(portal.locator("#balance-due").inner_text())
    portal.goto(f"{live_server.base_url}/t/{SLUG}/comprobantes")
    portal.locator("#archivo").set_input_files(
        files=[
            {
                "name": "transferencia-bbva.pdf",
                "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4\n% comprobante de transferencia\n%%EOF\n",
            }
        ]
    )
    portal.get_by_label(re.compile("Monto pagado")).fill("1000")
    portal.get_by_role("button", name="Enviar comprobante").click()
    portal.wait_for_url(re.compile(r".*/estado-de-cuenta\?aviso=comprobante$"))
    assert money(portal.locator("#balance-due").inner_text()) == before

    staff = browser.new_context(viewport=DESKTOP, locale="es-MX")
    desk = staff.new_page()
    staff_log_in(desk, live_server)
    desk.goto(f"{live_server.base_url}/t/{SLUG}/staff/?tab=proofs")
    desk.get_by_role("link", name="Taller Mecánico El Güero").click()
    desk.get_by_role("heading", name="Comprobante de pago").wait_for()
    with desk.expect_download() as download:
        desk.get_by_role("link", name="transferencia-bbva.pdf").click()
    # Saved under a name of our own, typed by the file's bytes, never the customer's name.
    assert re.fullmatch(r"comprobante-\d+\.pdf", download.value.suggested_filename)
    shot(desk, "proof-desktop")
    desk.get_by_role("button", name="Confirmar pago").click()
    assert desk.locator("#status").inner_text() == "Confirmado"
    shot(desk, "proof-confirmed-desktop")
    desk.set_viewport_size(PHONE)
    shot(desk, "proof-confirmed-360")

    portal.goto(f"{live_server.base_url}/t/{SLUG}/estado-de-cuenta")
    assert money(portal.locator("#balance-due").inner_text()) == before - Decimal("1000")
    portal.goto(f"{live_server.base_url}/t/{SLUG}/comprobantes")
    assert portal.get_by_text("Confirmado").first.is_visible()
    customer.close()
    staff.close()
