"""An owner changes the display name and the primary colour in Ajustes → Marca on a phone, and
the portal shows both at once (the header's background is the new colour)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, LiveServer
from tests.browser.test_layout_a11y import OVERFLOW_JS, PROBLEMS, accessible
from tests.browser.test_staff_browser import PHONE, SLUG, staff_log_in

PAGES = ("ajustes", "ajustes/marca", "ajustes/dominios", "ajustes/pagos", "ajustes/planes")
PAGES += ("ajustes/ayuda", "auditoria")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_owner_branding_change_shows_in_the_portal(browser: Any, live_server: LiveServer) -> None:
    staff = browser.new_context(viewport=PHONE, locale="es-MX", bypass_csp=True)  # for axe
    desk = staff.new_page()
    staff_log_in(desk, live_server, "admin")
    desk.goto(f"{live_server.base_url}/t/{SLUG}/staff/ajustes")
    desk.get_by_role("link", name="Marca").click()
    desk.get_by_role("heading", name="Marca").wait_for()
    desk.get_by_label("Nombre visible").fill("Ferretería del Norte Renovada")
    desk.locator("#primary_color").fill("#0b5d1e")
    desk.get_by_role("button", name="Guardar marca").click()
    desk.locator("#saved").wait_for()
    desk.screenshot(path=str(ARTIFACTS / "settings-branding-360.png"), full_page=True)
    width = desk.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width

    visitor = browser.new_context(viewport=PHONE, locale="es-MX")
    portal = visitor.new_page()
    portal.goto(f"{live_server.base_url}/t/{SLUG}/")
    portal.get_by_text("Ferretería del Norte Renovada").first.wait_for()
    header = portal.evaluate(
        "() => getComputedStyle(document.querySelector('.site-header')).backgroundColor"
    )
    assert header == "rgb(11, 93, 30)", header

    # Every settings page fits a phone and passes axe (WCAG 2 A/AA), in Spanish and English.
    PROBLEMS.clear()
    for lang in ("es", "en"):
        for path in PAGES:
            desk.goto(f"{live_server.base_url}/t/{SLUG}/staff/{path}?lang={lang}")
            result = desk.evaluate(OVERFLOW_JS)
            if result["scroll"] > PHONE["width"] or result["bad"]:
                PROBLEMS.append(f"{path} ({lang}) overflows: {result['bad']}")
            accessible(desk, f"{path} ({lang})")
    desk.screenshot(path=str(ARTIFACTS / "settings-audit-360.png"), full_page=True)
    found, PROBLEMS[:] = list(PROBLEMS), []
    assert not found, "\n".join(found)
    staff.close()
    visitor.close()
