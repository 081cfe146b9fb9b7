"""Back after "Salir" in a real browser: the statement is not shown again from the cache.

Signed-in pages are sent with ``Cache-Control: no-store``, so the browser must ask the server,
which sends a visitor without a session to the front door.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import LiveServer
from tests.browser.test_portal_browser import SLUG, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_back_after_logout_does_not_show_the_statement(
    browser: Any, live_server: LiveServer
) -> None:
    context = browser.new_context(locale="es-MX")
    page = context.new_page()
    page.goto(f"{live_server.base_url}/t/{SLUG}/")
    assert page.get_by_text("modo de prueba").first.is_visible()  # the demo is a test tenant
    log_in(page, live_server, "compras@alameda.example")
    assert page.get_by_text("Construcciones Alameda").first.is_visible()
    page.get_by_role("button", name="Salir").click()
    page.wait_for_url(re.compile(rf".*/t/{SLUG}/$"))
    page.go_back()
    page.wait_for_load_state()
    assert "Construcciones Alameda" not in page.content()
    assert page.get_by_role("button", name="Recibir enlace de acceso").is_visible()
    context.close()
