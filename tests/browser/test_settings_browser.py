"""An owner changes the display name and the primary colour in Ajustes → Marca on a phone, and
the portal shows both at once (the header's background is the new colour)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, LiveServer
from tests.browser.test_staff_browser import PHONE, SLUG, staff_log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_owner_branding_change_shows_in_the_portal(browser: Any, live_server: LiveServer) -> None:
    staff = browser.new_context(viewport=PHONE, locale="es-MX")
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
    staff.close()
    visitor.close()
