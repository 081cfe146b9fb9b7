"""The KPI dashboard of the demo hardware store, on a 360 px phone and a 1280 × 800 desktop: it
fits (no sideways scroll), axe finds nothing, the three charts are drawn and visible, a card's
definition opens, the definitions page shows the formula, and a CSV download carries data."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, LiveServer
from tests.browser.test_layout_a11y import OVERFLOW_JS, PROBLEMS, accessible
from tests.browser.test_staff_browser import PHONE, SLUG, staff_log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DESKTOP = {"width": 1280, "height": 800}


def _fits(page: Any, where: str, width: int) -> None:
    result = page.evaluate(OVERFLOW_JS)
    if result["scroll"] > width or result["bad"]:
        PROBLEMS.append(f"{where} overflows at {width}px: {result['bad']}")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_dashboard_fits_shows_charts_definitions_and_downloads(
    browser: Any, live_server: LiveServer, viewport: dict[str, int]
) -> None:
    PROBLEMS.clear()
    width = viewport["width"]
    context = browser.new_context(
        viewport=viewport, locale="es-MX", bypass_csp=True, accept_downloads=True
    )  # bypass_csp: for axe
    page = context.new_page()
    staff_log_in(page, live_server, "cobranza")
    page.locator("#staff-nav").get_by_role("link", name="Indicadores").click()
    page.get_by_role("heading", name="Indicadores de cobranza").wait_for()
    for chart in ("#chart-aging", "#chart-dso", "#chart-weekly"):
        box = page.locator(chart).bounding_box()
        assert box is not None and box["width"] > 250 and box["height"] > 120, chart
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, chart
    assert page.locator("#chart-aging rect").count() == 5
    # Axis text stays readable on the phone: at least 9 px once scaled.
    size = page.locator("#chart-aging text").first.evaluate("t => t.getBoundingClientRect().height")
    assert size >= 9
    _fits(page, "indicadores", width)
    accessible(page, f"indicadores {width}")
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{width}.png"), full_page=True)

    card = page.locator("#kpi-dso")
    card.get_by_text("¿Qué mide?").click()
    assert card.locator("details p").first.is_visible()
    card.get_by_role("link", name="Fórmula y detalles").click()
    page.get_by_role("heading", name="Definiciones de los indicadores").wait_for()
    assert page.url.endswith("/indicadores/definiciones#dso")
    assert page.locator("dt#dso").is_visible() and page.locator(".formula").count() >= 5
    _fits(page, "definiciones", width)
    accessible(page, f"definiciones {width}")

    page.go_back()
    page.get_by_role("heading", name="Indicadores de cobranza").wait_for()
    with page.expect_download() as download:
        page.locator("#download-aging-csv").click()
    assert download.value.suggested_filename.startswith(f"indicadores-{SLUG}-aging-")
    text = open(download.value.path(), encoding="utf-8-sig").read()
    lines = text.strip().splitlines()
    assert lines[0].startswith("Tramo,") and len(lines) == 6

    # Filtering without JavaScript: the form is a plain GET.
    page.locator("#desde").fill("2026-01-01")
    page.locator("#hasta").fill("2025-01-01")
    page.get_by_role("button", name="Aplicar").click()
    page.locator("#filter-error").wait_for()
    _fits(page, "indicadores con error", width)
    context.close()
    found, PROBLEMS[:] = list(PROBLEMS), []
    assert not found, "\n".join(found)
