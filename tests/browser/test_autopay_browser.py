"""Autopay in a real browser at 360 px: enroll on the sandbox's own "save card" page, see the
enrollment in the portal, cancel it. Screenshots land in ``test-artifacts/``."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, LiveServer
from tests.browser.test_portal_browser import PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"autopay-{name}.png"), full_page=True)


def fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} overflows at 360 px ({width})"


def test_enroll_with_a_test_card_then_cancel(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE, locale="es-MX")
    page = context.new_page()
    log_in(page, live_server, "taller.guero@example.com")
    page.get_by_role("link", name="Pago automático").click()
    page.wait_for_url(re.compile(r".*/pago-automatico$"))
    page.get_by_role("heading", name="Activar pago automático").wait_for()
    fits(page)
    shot(page, "page-360")

    page.get_by_label(re.compile("Facturas y cuotas")).check()
    page.get_by_label(re.compile("Acepto estas condiciones")).check()
    page.get_by_role("button", name="Continuar al medio de pago").click()
    page.wait_for_url(re.compile(r".*/sandbox/tarjetas/.*"))
    fits(page)
    page.get_by_label("Número de tarjeta").fill("4242 4242 4242 4242")
    page.get_by_label("Vencimiento (MM/AA)").fill("12/30")
    shot(page, "sandbox-card-360")
    page.get_by_role("button", name="Guardar tarjeta").click()

    page.wait_for_url(re.compile(r".*/pago-automatico\?aviso=inscrito$"))
    page.locator("#autopay-enrollment[data-status=active]").wait_for()
    assert "Visa •••• 4242" in page.locator("#autopay-card").inner_text()
    fits(page)
    shot(page, "enrolled-360")

    page.get_by_role("button", name="Cancelar pago automático").click()
    page.wait_for_url(re.compile(r".*/pago-automatico\?aviso=cancelado$"))
    assert page.locator("#autopay-enrollment").count() == 0
    page.get_by_role("heading", name="Activar pago automático").wait_for()
    context.close()
