"""Credit and forecast in a real browser at 360 px: from a demo customer's page to their credit
page, a decision saved without JavaScript-only controls, and the forecast page. Every page must fit
the phone and pass axe (``tests/browser/test_layout_a11y.check``)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import LiveServer
from tests.browser.test_layout_a11y import PHONE, PROBLEMS, check, staff_log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SLUG = "ferreteria-norte"


def test_credit_decision_and_forecast_fit_a_phone(browser: Any, live_server: LiveServer) -> None:
    PROBLEMS.clear()
    context = browser.new_context(viewport=PHONE, locale="es-MX", bypass_csp=True)
    page = context.new_page()
    staff_log_in(page, live_server, SLUG)
    base = f"{live_server.base_url}/t/{SLUG}/staff"
    page.goto(f"{base}/clientes")
    page.locator("a[href*='/clientes/']").filter(has_not_text="Nuevo").first.click()
    page.wait_for_url(re.compile(r".*/clientes/\d+$"))
    page.locator("#credit-link").click()
    page.wait_for_url(re.compile(r".*/clientes/\d+/credito$"))
    check(page)
    assert page.locator("#credit-reasons li").count() >= 1
    page.locator("input[name=decision][value=adjusted]").check()
    page.locator("#credit-limit").fill("25,000.00")
    page.locator("#credit-days").fill("21")
    page.locator("#credit-note").fill("Revisado por teléfono")
    page.locator("#credit-submit").click()
    page.wait_for_url(re.compile(r".*/credito\?guardado=1$"))
    check(page)
    assert "$25,000.00" in page.locator("#credit-history").inner_text()
    check(page, f"{base}/indicadores/pronostico")
    assert page.locator("tr[data-week]").count() >= 8
    context.close()
    assert not PROBLEMS, "\n".join(PROBLEMS)
