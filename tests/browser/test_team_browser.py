"""Onboarding in a real browser: ``recaudo tenants create --owner-email`` prints a one-time link;
the owner opens it on a phone-sized screen, chooses a password and lands on the staff home with
the checklist of first steps. A screenshot lands in ``test-artifacts/``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, SECRET, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"width": 360, "height": 800}


def _database_url() -> str:
    from recaudo.core import db

    return db._engine_url  # the live server's database (configured by its app)


def test_owner_invitation_to_the_checklist(browser: Any, live_server: LiveServer) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("RECAUDO_SMTP_URL",)},
        "RECAUDO_DATABASE_URL": _database_url(),
        "RECAUDO_BASE_URL": live_server.base_url,
        "RECAUDO_SECRET_KEY": SECRET,
        "RECAUDO_ENV": "development",
        "RECAUDO_BROKER_URL": "embedded",
    }
    made = subprocess.run(
        [sys.executable, "-m", "recaudo.cli", "tenants", "create", "panaderia-sol", "--name",
         "Panadería Sol", "--country", "MX", "--currency", "MXN", "--owner-email",
         "duena@panaderia.example", "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    link = json.loads(made.stdout)["owner_invitation"]["link"]
    assert link.startswith(f"{live_server.base_url}/t/panaderia-sol/staff/invitacion/")

    context = browser.new_context(viewport=PHONE, locale="es-MX")
    page = context.new_page()
    page.goto(link)
    page.get_by_role("heading", name="Únete al equipo").wait_for()
    assert "duena@panaderia.example" in page.content()
    page.get_by_label("Tu nombre").fill("Dueña Sol")
    page.get_by_label("Contraseña nueva").fill("pan-de-cada-dia-2026")
    page.get_by_label("Repite la contraseña").fill("pan-de-cada-dia-2026")
    page.get_by_role("button", name="Crear mi cuenta y entrar").click()
    page.get_by_role("heading", name="Primeros pasos").wait_for()
    checklist = page.locator("#onboarding-checklist")
    assert checklist.locator('[data-done="no"]').count() == 5  # nothing done yet
    assert checklist.get_by_role("link", name="Invita a tu equipo").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the staff home scrolls sideways at 360 px ({width} px)"
    page.screenshot(path=str(ARTIFACTS / "team-onboarding-checklist-360.png"), full_page=True)
    # the team page and the 2FA enrolment, on the same phone-sized screen
    for path, name, shot in (
        ("/equipo", "Equipo", "team-360"),
        ("/cuenta/seguridad", "Seguridad de tu cuenta", "security-360"),
    ):
        page.goto(f"{live_server.base_url}/t/panaderia-sol/staff{path}")
        page.get_by_role("heading", name=name, exact=True).wait_for()
        if path == "/cuenta/seguridad":
            page.get_by_role("button", name="Activar verificación en dos pasos").click()
            page.locator("#totp-secret").wait_for()
            assert page.locator(".totp-qr svg").count() == 1
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} scrolls sideways at 360 px ({width} px)"
        page.screenshot(path=str(ARTIFACTS / f"team-{shot}.png"), full_page=True)
    # the link worked once
    page.goto(link)
    page.get_by_role("heading", name="Enlace no válido").wait_for()
    context.close()
