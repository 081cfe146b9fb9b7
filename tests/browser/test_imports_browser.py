"""The import page in a real browser (360 px): a dry run listing a bad row, then an import whose
progress the page follows with htmx until it says done, without reloading."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, LiveServer
from tests.browser.test_staff_browser import PHONE, SLUG, staff_log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _upload(page: Any, server: LiveServer, name: str, content: bytes) -> None:
    page.goto(f"{server.base_url}/t/{SLUG}/staff/importar")
    page.get_by_label("Facturas").check()
    page.locator("#archivo").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": content}
    )
    page.get_by_role("button", name="Subir y elegir columnas").click()
    page.wait_for_url(re.compile(r".*/staff/importar/\d+$"))


def test_dry_run_then_import_with_progress(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE, locale="es-MX")
    page = context.new_page()
    staff_log_in(page, live_server)

    bad = (
        b"Folio;Cliente;Vencimiento;Importe\n"
        b"NAV-1;C-1001;2027-01-31;1500.00\n"
        b"NAV-2;C-1001;2027-01-31;no-es-numero\n"
    )
    _upload(page, live_server, "con-error.csv", bad)
    assert page.locator("#col3").input_value() == "amount"  # "Importe", recognised
    page.get_by_role("button", name="Revisar (simulación)").click()
    errors = page.locator("#import-errors")
    errors.wait_for(timeout=20_000)
    assert "no-es-numero" in errors.inner_text() and "3" in errors.inner_text()
    assert page.locator("#import-now").count() == 0
    page.screenshot(path=str(ARTIFACTS / "staff-import-errors-360.png"), full_page=True)

    rows = "".join(f"NAV-{i};C-100{1 + i % 3};2027-01-31;{i}.50\n" for i in range(10, 3010))
    _upload(
        page, live_server, "buenas.csv", ("Folio;Cliente;Vencimiento;Importe\n" + rows).encode()
    )
    page.get_by_role("button", name="Revisar (simulación)").click()
    page.locator("#import-ready").wait_for(timeout=30_000)
    assert "3000 filas revisadas" in page.locator("#import-ready").inner_text()
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Importar ahora").click()
    page.wait_for_load_state()
    assert page.locator("#import-progress").count() == 1 or page.locator("#import-done").count()
    page.evaluate("window.__sameDocument = true")  # set on the page the button led to
    done = page.locator("#import-done")
    done.wait_for(timeout=60_000)
    assert "Se importaron 3000 filas." in done.inner_text()
    assert page.evaluate("window.__sameDocument === true")  # htmx swapped it in, no reload
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide at 360px"
    page.screenshot(path=str(ARTIFACTS / "staff-import-done-360.png"), full_page=True)
    context.close()
