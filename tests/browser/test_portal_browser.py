"""The customer portal in a real browser (Playwright + Debian's chromium) against a live server.

One customer logs in with a one-time link read from the development outbox, pays two invoices
with the sandbox gateway, and sees the balance change, including on a second tab that was left
open (htmx polling, no reload). Another presses "No puedo pagar" and accepts a plan. Screenshots
at 360 px and desktop widths land in ``test-artifacts/``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SLUG = "ferreteria-norte"
PHONE = {"width": 360, "height": 800}
DESKTOP = {"width": 1280, "height": 900}


def money(text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.]", "", text))


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"portal-{name}.png"), full_page=True)


def log_in(page: Any, server: LiveServer, email: str) -> None:
    """Front door → message in the dev outbox → confirm → statement."""
    portal = f"{server.base_url}/t/{SLUG}"
    page.goto(portal + "/")
    page.get_by_label("Correo, teléfono o número de cliente").fill(email)
    page.get_by_role("button", name="Recibir enlace de acceso").click()
    page.get_by_role("heading", name="Revisa tus mensajes").wait_for()
    link = ""
    for _ in range(40):  # the message is sent right after the answer
        page.goto(f"{server.base_url}/dev/outbox?to={email}")
        anchors = page.locator("a.outbox-link")
        if anchors.count():
            link = anchors.first.get_attribute("href") or ""
            break
        page.wait_for_timeout(100)
    assert "/acceso/" in link, "no one-time link in the development outbox"
    page.goto(link)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(re.compile(r".*/estado-de-cuenta$"))


def test_log_in_and_pay_two_invoices_with_the_sandbox(
    browser: Any, live_server: LiveServer
) -> None:
    context = browser.new_context(viewport=PHONE, locale="es-MX")
    page = context.new_page()
    page.goto(f"{live_server.base_url}/t/{SLUG}/")
    shot(page, "home-360")
    log_in(page, live_server, "maria.lopez@example.com")
    shot(page, "statement-360")
    before = money(page.locator("#balance-due").inner_text())

    watcher = context.new_page()  # a tab left open on the statement
    watcher.goto(f"{live_server.base_url}/t/{SLUG}/estado-de-cuenta")

    boxes = page.locator("input[name=factura]")
    assert boxes.count() >= 2
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="Pagar seleccionadas").click()
    page.wait_for_url(re.compile(r".*/pagar\?.*"))
    total = money(page.locator("#pay-total").inner_text())
    page.get_by_label(re.compile("Tarjeta de prueba")).check()
    shot(page, "pay-360")
    page.get_by_role("button", name="Pagar ahora").click()
    page.wait_for_url(re.compile(r".*/sandbox/checkout/.*"))
    page.get_by_role("button", name="Aprobar pago").click()
    page.wait_for_url(re.compile(r".*/pagos/\d+$"))
    page.locator('#payment-state[data-status="approved"]').wait_for(timeout=20_000)
    shot(page, "receipt-360")

    watcher.wait_for_function(
        "old => document.querySelector('#balance-due').innerText !== old",
        arg=watcher.locator("#balance-due").inner_text(),
        timeout=20_000,
    )
    assert money(watcher.locator("#balance-due").inner_text()) == before - total

    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.base_url}/t/{SLUG}/estado-de-cuenta")
    assert money(page.locator("#balance-due").inner_text()) == before - total
    shot(page, "statement-desktop")
    context.close()


def test_no_puedo_pagar_and_accept_a_plan(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE, locale="es-MX")
    page = context.new_page()
    log_in(page, live_server, "taller.guero@example.com")
    page.get_by_role("link", name="No puedo pagar").click()
    page.get_by_label("Bajaron mis ingresos o perdí mi trabajo").check()
    shot(page, "hardship-360")
    page.get_by_role("button", name="Ver mis opciones").click()
    page.locator("#plan-preview").wait_for()
    shot(page, "hardship-options-360")
    page.get_by_role("button", name="Aceptar este plan").click()
    page.wait_for_url(re.compile(r".*/estado-de-cuenta\?aviso=plan$"))
    assert page.get_by_role("heading", name="Tu plan de pagos").is_visible()
    assert page.get_by_text("En plan de pagos").first.is_visible()
    shot(page, "plan-360")
    page.set_viewport_size(DESKTOP)
    shot(page, "plan-desktop")
    # The same page in English.
    page.goto(f"{live_server.base_url}/t/{SLUG}/estado-de-cuenta?lang=en")
    assert page.get_by_role("heading", name="Your payment plan").is_visible()
    context.close()
