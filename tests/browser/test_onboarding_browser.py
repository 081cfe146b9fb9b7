"""From nothing to a first online payment, in a real browser, without touching code.

``recaudo tenants create --test --owner-email`` prints the owner's one-time link. The owner opens
it on a phone-sized screen, sets a password, puts the business's name on the portal, checks the
payment method, adds a customer and an invoice in the back office. The customer then signs in to
the portal with the one-time link from the development outbox, sees the new business's name and
the invoice, and pays it with the sandbox gateway; back on the staff home the checklist says
branding, customers and the first online payment are done.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, SECRET, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"width": 360, "height": 800}
SLUG = "panaderia-luna"
CUSTOMER_EMAIL = "cliente.luna@example.com"


def _create_tenant(server: LiveServer) -> str:
    from recaudo.core import db

    env = {
        **{k: v for k, v in os.environ.items() if k != "RECAUDO_SMTP_URL"},
        "RECAUDO_DATABASE_URL": db._engine_url,  # the live server's database
        "RECAUDO_BASE_URL": server.base_url,
        "RECAUDO_SECRET_KEY": SECRET,
        "RECAUDO_ENV": "development",
        "RECAUDO_BROKER_URL": "embedded",
    }
    made = subprocess.run(
        [sys.executable, "-m", "recaudo.cli", "tenants", "create", SLUG, "--name", "Panadería",
         "--country", "MX", "--currency", "MXN", "--test", "--owner-email",
         "dueno@luna.example", "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return str(json.loads(made.stdout)["owner_invitation"]["link"])


def _checklist(page: Any) -> dict[str, str]:
    items = page.locator("#onboarding-checklist li[data-item]")
    return {
        items.nth(i).get_attribute("data-item"): items.nth(i).get_attribute("data-done")
        for i in range(items.count())
    }


def _portal_link(page: Any, server: LiveServer) -> str:
    """The sign-in message's link (the customer may also have the new invoice's announcement,
    whose link opens that invoice instead)."""
    for _ in range(50):  # the message is sent right after the answer
        page.goto(f"{server.base_url}/dev/outbox?to={CUSTOMER_EMAIL}")
        anchors = page.locator("article", has_text="Tu enlace de acceso").locator("a.outbox-link")
        if anchors.count():
            return anchors.first.get_attribute("href") or ""
        page.wait_for_timeout(100)
    return ""


def test_nothing_to_first_online_payment(browser: Any, live_server: LiveServer) -> None:
    link = _create_tenant(live_server)
    staff = f"{live_server.base_url}/t/{SLUG}/staff"
    owner = browser.new_context(viewport=PHONE, locale="es-MX")
    page = owner.new_page()

    # 1. the owner accepts the invitation and sees what is left to do
    page.goto(link)
    page.get_by_label("Tu nombre").fill("Dueño Luna")
    page.get_by_label("Contraseña nueva").fill("harina-y-levadura-2026")
    page.get_by_label("Repite la contraseña").fill("harina-y-levadura-2026")
    page.get_by_role("button", name="Crear mi cuenta y entrar").click()
    page.get_by_role("heading", name="Primeros pasos").wait_for()
    before = _checklist(page)
    assert before["customers"] == "no" and before["first_payment"] == "no"

    # 2. branding: the portal's name
    page.goto(f"{staff}/ajustes/marca")
    page.locator("#display_name").fill("Panadería Luna")
    page.get_by_role("button", name="Guardar marca").click()
    page.wait_for_load_state()

    # 3. a payment method: a test tenant's sandbox, switched on from the page if it is not yet
    page.goto(f"{staff}/ajustes/pagos")
    state = page.locator("#estado-sandbox")
    if state.inner_text().strip() != "Activo":
        page.locator("#metodo-sandbox").get_by_role("button", name="Activar").click()
        page.wait_for_load_state()
    assert page.locator("#estado-sandbox").inner_text().strip() == "Activo"

    # 4. a customer and an invoice, typed in the back office
    page.goto(f"{staff}/clientes/nuevo")
    page.locator("#f-number").fill("C-001")
    page.locator("#f-name").fill("Cafetería Esquina")
    page.locator("#f-email").fill(CUSTOMER_EMAIL)
    page.locator("#save-customer").click()
    page.wait_for_url(re.compile(r".*/clientes/\d+$"))
    page.goto(f"{staff}/facturas/nueva")
    page.locator("#f-cliente").fill("C-001")
    page.locator("#f-numero").fill("F-0001")
    page.locator("#f-emision").fill(date.today().isoformat())
    page.locator("#f-moneda").fill("MXN")
    page.locator("#f-linea-0-descripcion").fill("Pan dulce, docena")
    page.locator("#f-linea-0-precio").fill("250.00")
    page.locator("#save-invoice").click()
    page.wait_for_url(re.compile(r".*/facturas/\d+$"))
    page.screenshot(path=str(ARTIFACTS / "onboarding-invoice-360.png"), full_page=True)

    # 5. the customer signs in to the new portal and pays online
    customer = browser.new_context(viewport=PHONE, locale="es-MX")
    portal = customer.new_page()
    portal.goto(f"{live_server.base_url}/t/{SLUG}/")
    assert "Panadería Luna" in portal.content()
    portal.get_by_label("Correo, teléfono o número de cliente").fill(CUSTOMER_EMAIL)
    portal.get_by_role("button", name="Recibir enlace de acceso").click()
    portal.get_by_role("heading", name="Revisa tus mensajes").wait_for()
    access = _portal_link(portal, live_server)
    assert "/acceso/" in access, "no one-time link for the customer in the development outbox"
    portal.goto(access)
    portal.get_by_role("button", name="Entrar").click()
    portal.wait_for_url(re.compile(r".*/estado-de-cuenta$"))
    assert "F-0001" in portal.content()
    portal.locator("input[name=factura]").first.check()
    portal.get_by_role("button", name="Pagar seleccionadas").click()
    portal.wait_for_url(re.compile(r".*/pagar\?.*"))
    portal.get_by_label(re.compile("Tarjeta de prueba")).check()
    portal.get_by_role("button", name="Pagar ahora").click()
    portal.wait_for_url(re.compile(r".*/sandbox/checkout/.*"))
    portal.get_by_role("button", name="Aprobar pago").click()
    portal.wait_for_url(re.compile(r".*/pagos/\d+$"))
    portal.locator('#payment-state[data-status="approved"]').wait_for(timeout=20_000)
    portal.screenshot(path=str(ARTIFACTS / "onboarding-paid-360.png"), full_page=True)
    customer.close()

    # 6. back on the staff home: branding, a method, customers and the first payment are done
    page.goto(f"{staff}/")
    page.get_by_role("heading", name="Primeros pasos").wait_for()
    after = _checklist(page)
    assert after == {
        "branding": "yes",
        "payment_method": "yes",
        "customers": "yes",
        "team": "no",  # nobody else invited yet
        "first_payment": "yes",
    }
    page.goto(f"{staff}/facturas")
    assert "F-0001" in page.content()
    owner.close()
