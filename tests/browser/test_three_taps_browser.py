"""From a reminder to paid in three taps, at 360 px, in a real browser against a live server.

A reminder-like message carrying ``pay_link`` (what the dunning engine sends) goes through the real
notification path into the development outbox. The customer opens it (tap 1), confirms the
sign-in (tap 2), lands on ``/pagar`` with exactly the reminder's invoices selected and the method
preselected, and presses "Pagar ahora" (tap 3): the provider's checkout. Taps on the provider's
page do not count; once approved, the statement shows the balance without those invoices.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SLUG = "ferreteria-norte"
EMAIL = "maria.lopez@example.com"
PHONE = {"width": 360, "height": 800}


def money(text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.]", "", text))


async def _send_reminder(base_url: str) -> list[int]:
    """The engine's reminder, minus the engine: two open invoices and their pay link, sent."""
    from recaudo.core.access.links import pay_link
    from recaudo.core.billing.statement import OPEN_STATUSES
    from recaudo.core.config import active
    from recaudo.core.messaging.notify import send_to_customer
    from recaudo.core.platform.values import OutgoingMessage
    from recaudo.core.tables import Customer, Invoice
    from recaudo.tenants.models import Tenant
    from recaudo.tenants.scoped import TenantScope
    from recaudo.tenants.service import tenant_info

    tenant = await Tenant.objects().where(Tenant.slug == SLUG).first()
    assert tenant is not None
    scope = TenantScope(int(tenant.id))
    customer = await scope.objects(Customer).where(Customer.email == EMAIL).first()
    assert customer is not None
    rows = await (
        scope.objects(Invoice)
        .where(Invoice.customer == customer.id, Invoice.status.is_in(list(OPEN_STATUSES)))
        .order_by(Invoice.due_date)
    )
    chosen = [int(r.id) for r in rows if r.balance > 0 and not r.disputed and r.plan_id is None]
    assert len(chosen) >= 3, "the demo customer owes several invoices"
    chosen = chosen[:2]  # a reminder about two of them, not everything owed
    link = await pay_link(scope, f"{base_url}/t/{SLUG}", int(customer.id), chosen)
    entry = await send_to_customer(
        scope,
        tenant_info(tenant),
        customer,
        OutgoingMessage(
            to="",
            subject="Recordatorio de pago",
            text=f"Tienes facturas vencidas. Paga aquí: {link}",
            kind="reminder",
            link=link,
        ),
        secret_key=active().secret_key,
        secrets=[link.rsplit("/", 1)[1]],
        keep_secrets_in_log=True,  # development: the outbox is the delivery
        only=("email",),
    )
    assert entry is not None and entry.status == "sent"
    return chosen


def test_from_reminder_to_provider_checkout_in_three_taps(
    browser: Any, live_server: LiveServer
) -> None:
    from recaudo.core.config import Settings, activate
    from tests.browser.conftest import SECRET

    activate(Settings(env="development", secret_key=SECRET, base_url=live_server.base_url))
    # Playwright's sync API owns this thread's event loop: the setup runs on a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        chosen = pool.submit(asyncio.run, _send_reminder(live_server.base_url)).result()
    context = browser.new_context(viewport=PHONE, locale="es-MX")
    page = context.new_page()
    portal = f"{live_server.base_url}/t/{SLUG}"

    # The mail client: the development outbox shows the message with its link.
    page.goto(f"{live_server.base_url}/dev/outbox?to={EMAIL}")
    link = page.locator("a.outbox-link").first.get_attribute("href") or ""
    assert "/acceso/" in link

    taps = 0
    page.goto(link)  # tap 1: open the link in the message
    taps += 1
    page.screenshot(path=str(ARTIFACTS / "three-taps-1-confirm-360.png"), full_page=True)
    page.get_by_role("button", name="Entrar").click()  # tap 2: confirm the sign-in
    taps += 1
    page.wait_for_url(re.compile(r".*/pagar\?.*"))
    selected = sorted(
        int(v)
        for v in page.locator('input[type=hidden][name="factura"]').evaluate_all(
            "els => els.map(e => e.value)"
        )
    )
    assert selected == sorted(chosen), "exactly the reminder's invoices are selected"
    total = money(page.locator("#pay-total").inner_text())
    assert page.locator("input[name=metodo]:checked").count() == 1, "a method is preselected"
    page.screenshot(path=str(ARTIFACTS / "three-taps-2-pay-360.png"), full_page=True)
    page.get_by_role("button", name="Pagar ahora").click()  # tap 3: pay
    taps += 1
    page.wait_for_url(re.compile(r".*/sandbox/checkout/.*"))
    assert taps <= 3

    # The provider's checkout (not Recaudo's page): approve, then back to the portal.
    statement = context.new_page()
    statement.goto(portal + "/estado-de-cuenta")
    before = money(statement.locator("#balance-due").inner_text())
    page.get_by_role("button", name="Aprobar pago").click()
    page.wait_for_url(re.compile(r".*/pagos/\d+$"))
    page.locator('#payment-state[data-status="approved"]').wait_for(timeout=20_000)
    statement.wait_for_function(
        "old => document.querySelector('#balance-due').innerText !== old",
        arg=statement.locator("#balance-due").inner_text(),
        timeout=20_000,
    )
    assert money(statement.locator("#balance-due").inner_text()) == before - total
    statement.screenshot(path=str(ARTIFACTS / "three-taps-3-statement-360.png"), full_page=True)
    context.close()
