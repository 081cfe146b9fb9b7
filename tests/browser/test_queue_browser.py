"""On a phone (360 px): a collector opens the work queue, which fits and passes axe, logs a call
outcome on the first row in one click and sees the confirmation; the tasks page fits too."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveServer
from tests.browser.test_layout_a11y import PROBLEMS, check
from tests.browser.test_staff_browser import PHONE, SLUG, staff_log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_collector_logs_a_call_from_the_queue(browser: Any, live_server: LiveServer) -> None:
    PROBLEMS.clear()
    context = browser.new_context(viewport=PHONE, locale="es-MX", bypass_csp=True)  # for axe
    desk = context.new_page()
    staff_log_in(desk, live_server)  # the demo's collector
    desk.get_by_role("link", name="Cola de trabajo").first.click()
    desk.get_by_role("heading", name="Cola de trabajo", level=1).wait_for()
    check(desk)
    first = desk.locator("#queue > li").first
    customer = first.get_attribute("data-customer")
    first.locator("summary", has_text="Registrar una promesa de pago").click()
    first.locator("summary", has_text="Crear una tarea").click()
    check(desk)  # the opened forms fit too
    first.get_by_role("button", name="No contestó").click()
    desk.locator("#saved").get_by_text("Llamada registrada").wait_for()
    assert desk.url.endswith(f"#cliente-{customer}")
    check(desk)
    desk.goto(f"{live_server.base_url}/t/{SLUG}/staff/clientes/{customer}")
    assert "Llamada de cobranza: No contestó." in desk.locator("#timeline").inner_text()
    check(desk, f"{live_server.base_url}/t/{SLUG}/staff/tareas")
    context.close()
    found, PROBLEMS[:] = list(PROBLEMS), []
    assert not found, "\n".join(found)
