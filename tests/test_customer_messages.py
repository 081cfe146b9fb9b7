"""Messages the customer expects: each sent once, in their language and the tenant's form of
address, with a one-time link that opens the exact page; tenant and customer text escaped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from recaudo.core.access.staff import create_staff
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.casework.review.chats import answer_chat
from recaudo.core.messaging import customer_messages
from recaudo.core.payments.manual import record_manual_payment
from recaudo.core.tables import ChatMessage, Customer, NotificationLog, OutboxJob
from recaudo.core.tenant_settings.tenant_rows import json_dict, write_tenant_json
from recaudo.workers.customer_messages import queue_statements
from tests.clock_support import drain_at
from tests.conftest import drain_jobs
from tests.portal_support import LINK_RE, Env, open_env, post_form


@pytest.fixture
async def env(database: str) -> AsyncIterator[Env]:
    env = await open_env(database)
    await drain_jobs()  # the shop's backdated invoices: records, not news
    yield env
    await env.client.aclose()


async def sent(env: Env, kind: str) -> list[NotificationLog]:
    return await (
        env.shop.scope.objects(NotificationLog)
        .where(NotificationLog.kind == kind)
        .order_by(NotificationLog.id)
    )


async def new_invoice(env: Env, number: str = "F-NUEVA", customer: int = 0) -> int:
    today = datetime.now(ZoneInfo(str(env.shop.tenant.timezone))).date()
    invoice = await create_invoice(
        env.shop.scope,
        NewInvoice(
            customer_id=customer or int(env.customer.id),
            number=number,
            issue_date=today,
            due_date=today + timedelta(days=15),
            currency="MXN",
            lines=(NewLine("Consulta <b>general</b>", 1, 123_450),),
            description="Consulta <b>general</b>",
        ),
    )
    return int(invoice.id)


async def open_link(env: Env, text: str) -> str:
    """Follow the message's link like the customer: open it, confirm, land somewhere."""
    match = LINK_RE.search(text)
    assert match, text
    path = match.group(0).split("http://testserver", 1)[1]
    client = await env.new_client()
    try:
        page = await client.get(path)
        assert page.status_code == 200, page.text
        response = await post_form(client, path)
        assert response.status_code == 303, response.text
        return str(response.headers["location"])
    finally:
        await client.aclose()


async def set_branding(env: Env, **values: str) -> None:
    tenant_id = int(env.shop.tenant.id)
    current = json_dict(env.shop.tenant.branding)
    env.shop.tenant = await write_tenant_json(tenant_id, "branding", {**current, **values})


async def test_a_new_invoice_is_announced_once_with_a_link_to_it(env: Env) -> None:
    invoice_id = await new_invoice(env)
    await drain_jobs()
    # The same event again (a re-run of the invoice job) queues nothing new.
    assert not await customer_messages.invoice_issued(
        env.shop.scope, invoice_id, int(env.customer.id)
    )
    await drain_jobs()
    (message,) = await sent(env, "invoice_issued")
    assert message.recipient == env.customer.email
    assert message.subject.startswith("Tu factura F-NUEVA")
    assert "Emitimos tu factura F-NUEVA por $1,234.50" in message.body_text
    assert "<b>general</b>" not in message.body_html  # tenant text escaped
    assert "&lt;b&gt;general&lt;/b&gt;" in message.body_html
    assert await open_link(env, message.body_text) == f"{env.shop.prefix}/facturas/{invoice_id}"
    key = customer_messages.message_key("invoice_issued", invoice_id)
    assert await env.shop.scope.count(OutboxJob).where(OutboxJob.key == key) == 1


async def test_the_tenants_usted_and_the_customers_english(env: Env) -> None:
    await set_branding(env, address_form="usted")
    await new_invoice(env, "F-USTED")
    other = env.shop.customers[1]
    await env.shop.scope.update(Customer, {Customer.locale: "en"}).where(Customer.id == other.id)
    await new_invoice(env, "F-EN", customer=int(other.id))
    await drain_jobs()
    spanish, english = await sent(env, "invoice_issued")
    assert spanish.subject.startswith("Su factura F-USTED")
    assert "Emitimos su factura F-USTED" in spanish.body_text
    assert "abra este enlace" in spanish.body_text
    assert english.subject.startswith("Your invoice F-EN")
    assert "We issued your invoice F-EN" in english.body_text


async def test_a_voided_invoice_before_sending_is_not_announced(env: Env) -> None:
    from recaudo.core.tables import Invoice

    invoice_id = await new_invoice(env)
    await env.shop.scope.update(Invoice, {Invoice.status: "void"}).where(Invoice.id == invoice_id)
    await drain_jobs()
    assert await sent(env, "invoice_issued") == []


async def test_a_payment_receipt_lists_the_invoices_paid(env: Env) -> None:
    first, second, _later = env.invoice_ids()
    payment = await record_manual_payment(
        env.shop.scope,
        customer_id=int(env.customer.id),
        currency="MXN",
        amount=150_000,
        method="cash",
        reference="REC-<9>",
        invoice_ids=[first, second],
        actor="staff:test",
    )
    await drain_jobs()
    assert not await customer_messages.payment_receipt(
        env.shop.scope, int(payment.id), int(env.customer.id)
    )
    (receipt,) = await sent(env, "payment_receipt")
    text = receipt.body_text
    assert "Recibimos tu pago de $1,500.00" in text
    assert "Medio de pago: Efectivo" in text
    assert f"F-{env.customer.number.split('-')[1]}-00: $1,000.00" in text
    assert "$500.00" in text
    assert "REC-&lt;9&gt;" in receipt.body_html or "#" in receipt.body_html
    assert await open_link(env, text) == f"{env.shop.prefix}/estado-de-cuenta"


async def test_the_demos_seeded_payments_send_no_receipt(env: Env) -> None:
    from recaudo.core.payments.ledger import record_staff_payment

    first, _second, _later = env.invoice_ids()
    await record_staff_payment(
        env.shop.scope,
        customer_id=int(env.customer.id),
        currency="MXN",
        amount=100_000,
        method="banktransfer",
        reference="DEMO-1",
        invoice_ids=[first],
        source="demo",
    )
    await drain_jobs()
    assert await sent(env, "payment_receipt") == [], "history is not news"


async def test_a_chat_answer_is_mailed_once_per_burst(env: Env) -> None:
    scope = env.shop.scope
    staff = await create_staff(scope, "caja@example.com", "clave-larga-123", "collector")
    customer_id = int(env.customer.id)
    await scope.add(ChatMessage(customer=customer_id, sender="customer", body="¿Hola?"))
    await answer_chat(scope, staff, customer_id, "Un momento <b>por favor</b>")
    await answer_chat(scope, staff, customer_id, "Listo: ya quedó <i>aplicado</i>")
    assert await drain_jobs() == [], "answers wait a little before they are mailed"
    await drain_at(datetime.now(UTC) + timedelta(minutes=3))
    (message,) = await sent(env, "chat_answered")
    assert "Listo: ya quedó" in message.body_text and "Un momento" not in message.body_text
    assert "<i>aplicado</i>" not in message.body_html
    assert await open_link(env, message.body_text) == f"{env.shop.prefix}/ayuda/chat"

    # The customer writes back before the delay ends: they read it in the chat, no e-mail.
    await answer_chat(scope, staff, customer_id, "¿Algo más?")
    await scope.add(ChatMessage(customer=customer_id, sender="customer", body="No, gracias"))
    await drain_at(datetime.now(UTC) + timedelta(minutes=3))
    assert len(await sent(env, "chat_answered")) == 1


async def test_an_upcoming_charge_from_autopay_is_sent_once(env: Env) -> None:
    invoice_id = env.invoice_ids()[2]
    payload = {
        "invoice_ids": [invoice_id],
        "amount": 25_000,
        "currency": "MXN",
        "charge_date": "2026-12-15",
        "instrument_label": "Visa •••• 4242",
    }
    key = f"autopay:upcoming:{invoice_id}:2026-12-15"
    for _ in range(2):
        await customer_messages.enqueue_message(
            env.shop.scope, "upcoming_charge", int(env.customer.id), key, **payload
        )
    await drain_jobs()
    (message,) = await sent(env, "upcoming_charge")
    assert "cargaremos $250.00 a Visa •••• 4242" in message.body_text
    assert "15 dic 2026" in message.body_text
    assert await open_link(env, message.body_text) == f"{env.shop.prefix}/pago-automatico"


async def test_autopay_giving_up_opens_the_pay_page_with_those_invoices(env: Env) -> None:
    first, second, _ = env.invoice_ids()
    payload = {
        "invoice_ids": [second, first],
        "amount": 150_000,
        "currency": "MXN",
        "instrument_label": "Visa •••• 4242",
    }
    await customer_messages.enqueue_message(
        env.shop.scope, "autopay_failed", int(env.customer.id), "autopay_failed:x", **payload
    )
    await drain_jobs()
    (message,) = await sent(env, "autopay_failed")
    assert message.subject.startswith("No pudimos hacer el cargo automático")
    assert "No pudimos cobrar $1,500.00 a Visa •••• 4242" in message.body_text
    landed = await open_link(env, message.body_text)
    assert landed == f"{env.shop.prefix}/pagar?factura={first}&factura={second}"


async def test_the_monthly_statement_is_off_by_default_and_once_a_month(env: Env) -> None:
    zone = ZoneInfo(str(env.shop.tenant.timezone))
    first_day = datetime(2026, 12, 1, 9, 0, tzinfo=zone)
    assert await queue_statements(first_day) == 0
    policy = json_dict(env.shop.tenant.policy)
    tenant_id = int(env.shop.tenant.id)
    await write_tenant_json(tenant_id, "policy", {**policy, "messages_statement": True})
    assert await queue_statements(datetime(2026, 12, 10, 9, 0, tzinfo=zone)) == 0
    queued = await queue_statements(first_day)
    assert queued == 2  # both customers owe
    assert await queue_statements(first_day + timedelta(hours=5)) == 0
    await drain_jobs()
    messages = await sent(env, "statement")
    assert len(messages) == 2
    assert "Total pendiente: $1,750.00" in messages[0].body_text
    assert await open_link(env, messages[0].body_text) == f"{env.shop.prefix}/estado-de-cuenta"


async def test_without_email_and_without_consent_nothing_goes_by_sms(env: Env) -> None:
    await env.shop.scope.update(Customer, {Customer.email: ""}).where(
        Customer.id == env.customer.id
    )
    await new_invoice(env)
    assert "done" in await drain_jobs()
    assert await sent(env, "invoice_issued") == []


def test_statement_setting_reads_the_policy() -> None:
    from recaudo.tenants.models import Tenant

    assert not customer_messages.statement_enabled(Tenant(policy={}))
    assert customer_messages.statement_enabled(Tenant(policy={"messages_statement": True}))
