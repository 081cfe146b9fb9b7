"""Proof uploads that are too big, in a real browser against a live uvicorn server.

Over the 5 MB file limit the form comes back with the message next to the file field and the
typed amount kept. Over the request body limit Litestar refuses the body before the handler
runs; the browser must still land on the form with the message, not on a JSON error.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import LiveServer
from tests.browser.test_portal_browser import PHONE, SLUG, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PNG = b"\x89PNG\r\n\x1a\n"
MB = 1024 * 1024


def _submit(page: Any, server: LiveServer, size: int) -> None:
    page.goto(f"{server.base_url}/t/{SLUG}/comprobantes")
    page.locator("#monto").fill("1500.50")
    page.locator("#archivo").set_input_files(
        {"name": "foto.png", "mimeType": "image/png", "buffer": PNG + b"\0" * size}
    )
    page.get_by_role("button", name="Enviar comprobante").click()
    page.wait_for_load_state()


def test_too_big_uploads_get_the_form_back(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE, locale="es-MX")
    page = context.new_page()
    log_in(page, live_server, "maria.lopez@example.com")

    _submit(page, live_server, 6 * MB)
    error = page.locator("#proof-error")
    assert "El archivo pesa más de 5 MB" in error.inner_text()
    assert page.locator("#monto").input_value() == "1500.50"
    assert page.locator("#archivo").get_attribute("aria-describedby") == "proof-error"

    _submit(page, live_server, 20 * MB)
    page.wait_for_url(re.compile(r".*/comprobantes\?aviso=archivo-grande$"))
    assert "El archivo pesa más de 5 MB" in page.locator("#proof-error").inner_text()
    context.close()
