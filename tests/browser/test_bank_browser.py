"""Reconciliation in a real browser at 360 px (demo tenant): upload an MT940 statement whose one
deposit names a demo invoice but pays more than it owes (so a person decides), open the review
queue, apply the proposal, see the invoice paid, undo, and see it open again."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, LiveServer
from tests.browser.test_layout_a11y import AXE
from tests.browser.test_staff_browser import PHONE, staff_log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# Demo invoice FER-2003: María Fernanda López García, 1,566.00 open. A deposit of 2,000.00 names
# it: more than it owes (the rest would be credit), so the engine leaves it to a person.
INVOICE = "FER-2003"


def _statement(today: date) -> bytes:
    day = today.strftime("%y%m%d")
    lines = [
        ":20:DEMO-NAVEGADOR",
        ":25:012580009876543210",
        ":28C:1/1",
        f":60F:C{day}MXN0,00",
        f":61:{day}{day[2:]}C2000,00NTRFNONREF//SPEI123",
        f":86:PAGO FACTURA {INVOICE}",
        f":62F:C{day}MXN2000,00",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def _fits(page: Any) -> None:
    """No sideways scroll at 360 px, and axe-core finds no WCAG 2 A/AA violation."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide at 360px"
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => {
          const only = {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}};
          const r = await axe.run(document, only);
          return r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')));
        }"""
    )
    assert not found, f"{page.url}: axe found {found}"


def test_upload_review_apply_and_undo(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport=PHONE, locale="es-MX", bypass_csp=True)
    page = context.new_page()
    staff_log_in(page, live_server)
    page.locator("#staff-nav").get_by_role("link", name="Conciliación").click()
    page.get_by_role("heading", name="Conciliación bancaria").wait_for()
    page.locator("#archivo").set_input_files(
        {"name": "estado.sta", "mimeType": "text/plain", "buffer": _statement(date.today())}
    )
    page.get_by_role("button", name="Importar estado de cuenta").click()
    summary = page.locator("#import-summary")
    summary.wait_for()
    assert "por revisar: 1" in summary.inner_text()
    _fits(page)
    page.screenshot(path=str(ARTIFACTS / "staff-bank-import-360.png"), full_page=True)

    page.get_by_role("link", name="Revisar los movimientos dudosos").click()
    page.wait_for_url(re.compile(r".*/conciliacion/movimientos\?estado=revision$"))
    rows = page.locator("#bank-lines tbody tr")
    assert rows.count() == 1 and "$2,000.00" in rows.first.inner_text()
    _fits(page)
    rows.first.get_by_role("link", name="$2,000.00").click()
    candidate = page.locator('[data-candidate="0"]')
    assert "María Fernanda López García" in candidate.inner_text()
    assert INVOICE in candidate.inner_text()
    _fits(page)
    page.screenshot(path=str(ARTIFACTS / "staff-bank-line-360.png"), full_page=True)

    page.locator("#apply-0").click()
    page.locator("#line-notice").wait_for()
    assert "Conciliados" in page.locator("#line-status").inner_text()
    line_url = page.url.split("?")[0]
    page.locator('[data-candidate="0"]').get_by_role("link", name=INVOICE).click()
    assert page.locator("#invoice-status").inner_text().startswith("Pagada")

    page.goto(line_url)
    page.locator("#undo summary").click()
    page.get_by_label("Motivo (opcional)").fill("Era de otra cuenta")
    page.get_by_label("Sí, quiero deshacerla").check()
    page.locator("#undo-button").click()
    notice = page.locator("#line-notice")
    notice.wait_for()
    assert "deshecha" in notice.inner_text()
    assert "Por revisar" in page.locator("#line-status").inner_text()
    _fits(page)
    page.locator('[data-candidate="0"]').get_by_role("link", name=INVOICE).click()
    assert not page.locator("#invoice-status").inner_text().startswith("Pagada")
    context.close()

    owner = browser.new_context(viewport=PHONE, locale="es-MX", bypass_csp=True)
    page = owner.new_page()
    staff_log_in(page, live_server, "admin")
    page.goto(f"{live_server.base_url}/t/ferreteria-norte/staff/conciliacion/ajustes")
    page.get_by_role("heading", name="Ajustes de conciliación").wait_for()
    _fits(page)
    page.screenshot(path=str(ARTIFACTS / "staff-bank-settings-360.png"), full_page=True)
    owner.close()
