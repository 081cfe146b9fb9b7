"""On a phone (360 px): an owner edits a reminder's text and the preview follows as they type
(htmx), showing markup as text and warning about an unknown field; a customer reads the
messages Recaudo sent them in the portal."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, LiveServer
from tests.browser.test_layout_a11y import OVERFLOW_JS, PROBLEMS, accessible
from tests.browser.test_portal_browser import log_in
from tests.browser.test_staff_browser import PHONE, SLUG, staff_log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _fits(page: Any, where: str) -> None:
    result = page.evaluate(OVERFLOW_JS)
    if result["scroll"] > PHONE["width"] or result["bad"]:
        PROBLEMS.append(f"{where} overflows: {result['bad']}")


def test_stage_preview_follows_typing_and_portal_lists_messages(
    browser: Any, live_server: LiveServer
) -> None:
    PROBLEMS.clear()
    staff = browser.new_context(viewport=PHONE, locale="es-MX", bypass_csp=True)  # for axe
    desk = staff.new_page()
    staff_log_in(desk, live_server, "admin")
    desk.get_by_role("link", name="Recordatorios").first.click()
    desk.get_by_role("heading", name="Recordatorios").wait_for()
    _fits(desk, "recordatorios")
    accessible(desk, "recordatorios")
    desk.get_by_role("link", name="Vence hoy").first.click()
    desk.get_by_role("heading", name="Vence hoy").wait_for()
    desk.locator("#forma").select_option("tu")
    desk.locator("#preview-for").get_by_text("Tú (informal)").wait_for()
    body = desk.locator("#es_tu_body")
    body.fill("<b>Hola</b> {nombre}: debes {total} {campo_raro}")
    desk.locator("#preview-body").get_by_text("<b>Hola</b> Ana Pérez: debes").wait_for()
    assert desk.locator("#preview-body b").count() == 0  # shown as text, not as markup
    desk.locator("#unknown-placeholders").get_by_text("{campo_raro}").wait_for()
    _fits(desk, "etapa")
    accessible(desk, "etapa")
    desk.screenshot(path=str(ARTIFACTS / "reminders-stage-preview-360.png"), full_page=True)
    # Nothing was saved by previewing: the stored text is back on reload.
    desk.reload()
    assert "{campo_raro}" not in desk.locator("#es_tu_body").input_value()
    for path in ("recordatorios/envios", "recordatorios/llamadas"):
        desk.goto(f"{live_server.base_url}/t/{SLUG}/staff/{path}")
        _fits(desk, path)
        accessible(desk, path)
    staff.close()

    visitor = browser.new_context(viewport=PHONE, locale="es-MX", bypass_csp=True)
    portal = visitor.new_page()
    log_in(portal, live_server, "maria.lopez@example.com")
    portal.goto(f"{live_server.base_url}/t/{SLUG}/preferencias")
    portal.get_by_role("link", name="Ver los mensajes que te enviamos").click()
    portal.get_by_role("heading", name="Mensajes que te enviamos").wait_for()
    # the sign-in link she just asked for is the newest message
    assert portal.locator("#messages tbody tr").count() >= 1
    assert "Correo electrónico" in portal.locator("#messages tbody tr").first.inner_text()
    _fits(portal, "mensajes")
    accessible(portal, "mensajes")
    portal.screenshot(path=str(ARTIFACTS / "portal-messages-360.png"), full_page=True)
    visitor.close()
    found, PROBLEMS[:] = list(PROBLEMS), []
    assert not found, "\n".join(found)
