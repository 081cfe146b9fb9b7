"""Every portal and staff page of both demo tenants on a 360 px phone: nothing sticks out sideways,
and axe-core (vendored in ``tests/browser/vendor``) finds no WCAG 2 A/AA violation.

The walk creates what the staff pages show (a contact ticket, a chat, a dispute, a proof of
payment, a pending bank transfer, a "No puedo pagar" request) through the portal itself, then
opens every inbox tab and each item. Pages are also checked in English where words get longer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"width": 360, "height": 800}
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
PASSWORD = "demo-recaudo-2026"
TENANTS = [
    ("ferreteria-norte", "maria.lopez@example.com"),
    ("clinica-andina", "juan.restrepo@example.com"),
]

OVERFLOW_JS = (Path(__file__).parent / "layout_probe.js").read_text()


PROBLEMS: list[str] = []  # every page is checked; the test then lists all that failed


def fits(page: Any, where: str) -> None:
    """The page is no wider than the phone: no sideways scroll and no box beyond the edges."""
    result = page.evaluate(OVERFLOW_JS)
    if result["scroll"] > PHONE["width"] or result["bad"]:
        PROBLEMS.append(f"{where} overflows (scrollWidth {result['scroll']}): {result['bad']}")


def accessible(page: Any, where: str) -> None:
    """axe-core finds no WCAG 2 A/AA violation on the page as shown."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => {
          const only = {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}};
          const r = await axe.run(document, only);
          return r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')));
        }"""
    )
    if found:
        PROBLEMS.append(f"{where}: axe found {found}")


def check(page: Any, url: str | None = None, *, axe: bool = True) -> None:
    if url is not None:
        page.goto(url)
    where = page.url
    path = re.sub(r"/acceso/[^/?]+", "/acceso/enlace", where.split("/t/", 1)[-1])
    name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"layout-{name[:80]}.png"), full_page=True)
    fits(page, where)
    if axe:
        accessible(page, where)


def portal_log_in(page: Any, server: LiveServer, slug: str, email: str) -> None:
    page.goto(f"{server.base_url}/t/{slug}/")
    page.locator("#contact").fill(email)
    page.locator("form[action$='/acceso'] button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/acceso$"))
    check(page)  # "check your messages"
    link = ""
    for _ in range(40):
        page.goto(f"{server.base_url}/dev/outbox?to={email}")
        anchors = page.locator("a.outbox-link")
        if anchors.count():
            link = anchors.first.get_attribute("href") or ""
            break
        page.wait_for_timeout(100)
    assert "/acceso/" in link
    page.goto(link)
    check(page)  # the confirmation page
    page.locator("form[action*='/acceso/'] button[type=submit]").click()
    try:
        # A loaded 2-core CI box, with the in-process workers sealing the demo's CFDIs, has once
        # taken longer than Playwright's default 30 s here; when it fails, say where we ended up.
        page.wait_for_url(re.compile(r".*/estado-de-cuenta$"), timeout=60_000)
    except Exception as exc:
        body = page.locator("body").inner_text(timeout=5_000)[:500]
        raise AssertionError(f"login did not reach the statement: at {page.url}: {body}") from exc


def staff_log_in(page: Any, server: LiveServer, slug: str) -> None:
    page.goto(f"{server.base_url}/t/{slug}/staff/login")
    check(page)
    page.locator("#email").fill(f"admin@{slug}.example")
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action$='/login'] button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/staff/?(\?.*)?$"))


@pytest.mark.parametrize(("slug", "email"), TENANTS)
def test_every_page_fits_a_phone_and_passes_axe(
    browser: Any, live_server: LiveServer, slug: str, email: str
) -> None:
    portal = f"{live_server.base_url}/t/{slug}"
    PROBLEMS.clear()
    context = browser.new_context(viewport=PHONE, locale="es-MX", bypass_csp=True)
    page = context.new_page()

    # Signed out: front door, help with the contact form (a long address, as people have).
    check(page, portal + "/")
    check(page, portal + "/?lang=en")
    check(page, portal + "/ayuda?lang=en")
    assert page.get_by_text("How do I pay my invoices?").is_visible()  # the demo FAQ in English
    check(page, portal + "/ayuda?lang=es")
    page.locator("#nombre").fill("Guadalupe Hernández de la Fuente")
    page.locator("#contacto").fill(
        "guadalupe.hernandez.delafuente.contabilidad@empresa-ejemplo.example"
    )
    page.locator("#asunto").fill("Factura duplicada en el estado de cuenta del mes pasado")
    page.locator("#mensaje").fill("Me llegó dos veces la misma factura, ¿me ayudan a revisarla?")
    page.locator("form[action$='/ayuda/contacto'] button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/ayuda\?enviado=1$"))
    check(page)
    check(page, portal + "/acceso/no-existe")

    portal_log_in(page, live_server, slug, email)
    check(page)  # statement
    check(page, portal + "/estado-de-cuenta?lang=en")
    page.goto(portal + "/estado-de-cuenta?lang=es")
    invoice_url = page.locator("#live a[href*='/facturas/']").first.get_attribute("href")
    assert invoice_url
    check(page, live_server.base_url + invoice_url)
    check(page, live_server.base_url + invoice_url + "/documento", axe=False)
    check(page, live_server.base_url + invoice_url + "/aclaracion")
    page.locator("input[name=motivo]").first.check()
    page.locator("#mensaje").fill("El monto no coincide con la cotización.")
    page.locator("form[action$='/aclaracion'] button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/estado-de-cuenta\?aviso=disputa$"))
    check(page)

    boxes = page.locator("#live input[name=factura]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.locator("#live form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/pagar\?.*"))
    check(page)
    check(page, portal + "/pagar?monto=1&lang=en")
    check(page, portal + "/pagar?monto=1&lang=es")
    page.locator("#monto").fill("100")
    page.locator("input[name=metodo][value=banktransfer]").check()
    page.locator("#pay-button").click()
    page.wait_for_url(re.compile(r".*/pagos/\d+$"))
    check(page)  # pending bank transfer with its instructions
    check(page, portal + "/pagos")
    check(page, portal + "/pagos?lang=en")
    page.goto(portal + "/pagos?lang=es")

    check(page, portal + "/comprobantes")
    page.locator("#archivo").set_input_files(
        files=[
            {
                "name": "comprobante-de-transferencia-bancaria-interbancaria-spei.pdf",
                "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4\n% comprobante\n%%EOF\n",
            }
        ]
    )
    page.locator("#monto").fill("250")
    page.locator("form[action$='/comprobantes'] button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/estado-de-cuenta\?aviso=comprobante$"))
    check(page, portal + "/comprobantes")
    check(page, portal + "/preferencias")
    check(page, portal + "/ayuda")
    check(page, portal + "/ayuda/chat")
    page.locator("#mensaje").fill("Hola, ¿puedo pagar en dos partes la consulta del especialista?")
    page.locator("#chat-form button[type=submit]").click()
    page.locator("#chat-log").get_by_text("en dos partes").wait_for()
    check(page)
    check(page, portal + "/no-puedo-pagar")
    check(page, portal + "/no-puedo-pagar/opciones?motivo=lost_income")
    check(page, portal + "/no-puedo-pagar/opciones?motivo=lost_income&lang=en")
    page.goto(portal + "/no-puedo-pagar/opciones?motivo=lost_income&lang=es")
    page.locator("#mensaje-revision").fill("Me quedé sin trabajo este mes.")
    page.locator("form[action$='/revision'] button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/estado-de-cuenta\?aviso=revision$"))
    page.goto(portal + "/no-puedo-pagar/opciones?motivo=illness")
    page.locator("#accept-plan").click()  # a plan within the tenant's limits, accepted at once
    page.wait_for_url(re.compile(r".*/estado-de-cuenta\?aviso=plan$"))
    check(page)  # the statement with the plan's installments
    check(page, portal + "/estado-de-cuenta?lang=en")
    page.goto(portal + "/estado-de-cuenta?lang=es")

    staff = browser.new_context(viewport=PHONE, locale="es-MX", bypass_csp=True)
    desk = staff.new_page()
    staff_log_in(desk, live_server, slug)
    base = f"{portal}/staff"
    for tab in ("chats", "proofs", "disputes", "hardship", "tickets"):
        check(desk, f"{base}/?tab={tab}")
        links = desk.locator("#inbox-panel section a[href*='/staff/']")
        assert links.count(), f"nothing in the {tab} tab"
        href = links.first.get_attribute("href")
        check(desk, live_server.base_url + str(href))
    check(desk, f"{base}/?tab=tickets&lang=en")
    check(desk, f"{base}/trabajos?lang=es")
    staff.close()
    context.close()
    assert not PROBLEMS, "\n".join(PROBLEMS)


def test_ticked_invoices_stay_ticked_when_the_statement_refreshes(
    browser: Any, live_server: LiveServer
) -> None:
    slug = "ferreteria-norte"
    portal = f"{live_server.base_url}/t/{slug}"
    context = browser.new_context(viewport=PHONE, locale="es-MX", bypass_csp=True)
    page = context.new_page()
    portal_log_in(page, live_server, slug, "compras@alameda.example")
    boxes = page.locator("#live input[name=factura]")
    boxes.nth(0).check()
    boxes.nth(2).check()
    page.evaluate("() => { window.oldLive = document.getElementById('live'); }")

    other = context.new_page()  # the same customer starts a payment in another tab
    other.goto(portal + "/pagar?monto=1")
    other.locator("#monto").fill("100")
    other.locator("input[name=metodo][value=banktransfer]").check()
    other.locator("#pay-button").click()
    other.wait_for_url(re.compile(r".*/pagos/\d+$"))

    # The statement redraws itself (htmx polling) and the ticks are still there.
    page.wait_for_function(
        "() => document.getElementById('live') !== window.oldLive", timeout=20_000
    )
    assert boxes.nth(0).is_checked() and boxes.nth(2).is_checked()
    assert not boxes.nth(1).is_checked()
    # Screen readers hear a short notice from the stable live region, not the whole statement.
    assert (
        page.locator("#statement-news").inner_text().strip() == "Tu estado de cuenta se actualizó."
    )
    page.locator("#live form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/pagar\?.*"))
    assert page.url.count("factura=") == 2
    context.close()


FOCUSED_JS = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {tag: el.tagName.toLowerCase(), type: el.type || '', name: el.name || '',
          value: el.value || '', text: (el.innerText || '').trim(),
          ring: style.outlineStyle + ' ' + style.outlineWidth};
}"""


def tab_to(page: Any, wanted: Any, limit: int = 60) -> dict[str, str]:
    """Press Tab until the focused element is the one wanted; its focus ring must show."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_JS)
        if wanted(focused):
            assert focused["ring"] == "solid 3px", focused
            return dict(focused)
    raise AssertionError("never reached by keyboard")


def test_paying_with_the_keyboard_alone(browser: Any, live_server: LiveServer) -> None:
    slug = "clinica-andina"
    PROBLEMS.clear()
    context = browser.new_context(viewport=PHONE, locale="es-CO", bypass_csp=True)
    page = context.new_page()
    portal_log_in(page, live_server, slug, "ana.martinez@example.com")
    tab_to(page, lambda f: f["name"] == "factura")
    page.keyboard.press("Space")
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Pagar seleccionadas")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/pagar\?factura=\d+&seleccion=1$"))
    tab_to(page, lambda f: f["name"] == "metodo")
    for _ in range(4):  # arrow keys move between the methods; pick the sandbox card
        if page.evaluate(FOCUSED_JS)["value"] == "sandbox":
            break
        page.keyboard.press("ArrowDown")
    assert page.evaluate(FOCUSED_JS)["value"] == "sandbox"
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Pagar ahora")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/sandbox/checkout/.*"))
    check(page)
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Aprobar pago")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/pagos/\d+$"))
    page.locator('#payment-state[data-status="approved"]').wait_for(timeout=20_000)
    check(page)  # the receipt
    check(page, page.url + "?lang=en")
    assert PROBLEMS == [], "\n".join(PROBLEMS)
    context.close()
