"""Customers hear what staff decided about their proof of payment or dispute.

The decision queues the message in its own transaction; a worker sends it through the tenant's
channel (here the email plugin, whose messages the development outbox keeps when no SMTP server
is configured) in the customer's language, with a one-time link back to the portal.
"""

from __future__ import annotations

import uuid

import pytest

from recaudo.core import config
from recaudo.core.access.staff import create_staff
from recaudo.core.casework import review as inbox
from recaudo.core.config import Settings
from recaudo.core.platform.host import PluginHost
from recaudo.core.tables import Customer, NotificationLog, OutboxJob
from recaudo.tenants.plugin_config import set_plugin
from tests.conftest import drain_jobs
from tests.portal_support import LINK_RE
from tests.test_staff_http import Side, seed


@pytest.fixture
async def side(database: str, host: PluginHost) -> Side:
    config.activate(
        Settings(env="development", database_url=database, secret_key="x" * 40, base_url="http://t")
    )
    s = await seed(f"news-{uuid.uuid4().hex[:6]}", "MX", "MXN")
    await set_plugin(s.scope, "email", enabled=True)
    return s


async def messages(side: Side) -> list[NotificationLog]:
    return await side.scope.objects(NotificationLog).order_by(NotificationLog.id)


async def test_a_confirmed_proof_is_announced_once(side: Side) -> None:
    user = await create_staff(side.scope, "caja@example.com", "clave-larga-123", "collector")
    await inbox.confirm_proof(side.scope, user, side.proof)
    await inbox.confirm_proof(side.scope, user, side.proof)  # a double click decides nothing new
    await drain_jobs()
    sent = await messages(side)
    assert len(sent) == 1
    assert sent[0].recipient == f"cliente@{side.slug}.example"
    assert sent[0].subject.startswith("Confirmamos tu pago")
    assert "$1,000.00" in sent[0].body_text  # the proof's amount, in the tenant's locale
    assert LINK_RE.search(sent[0].body_text), "a one-time link back to the portal"
    assert "<b>Uno</b>" not in sent[0].body_html  # the customer's name is escaped in HTML
    assert await side.scope.count(OutboxJob).where(OutboxJob.actor == "tell_customer") == 1


async def test_a_rejected_proof_says_why_in_the_customers_language(side: Side) -> None:
    await side.scope.update(Customer, {Customer.locale: "en"}).where(Customer.id == side.customer)
    user = await create_staff(side.scope, "caja@example.com", "clave-larga-123", "owner")
    await inbox.reject_proof(side.scope, user, side.proof, "The transfer never arrived")
    await drain_jobs()
    (sent,) = await messages(side)
    assert sent.subject.startswith("We could not confirm your proof of payment")
    assert "Reason: The transfer never arrived" in sent.body_text


async def test_a_dispute_decision_names_the_invoice(side: Side) -> None:
    user = await create_staff(side.scope, "caja@example.com", "clave-larga-123", "owner")
    await inbox.resolve_dispute(side.scope, user, side.dispute, "reject", "El monto es correcto")
    await drain_jobs()
    (sent,) = await messages(side)
    assert sent.subject.startswith("Revisamos tu aclaración")
    assert "factura F-1" in sent.body_text and "Motivo: El monto es correcto" in sent.body_text
    assert "/facturas/" not in sent.body_text  # the link hides where it leads until it is used


async def test_without_a_channel_nothing_is_sent_and_the_job_still_ends(side: Side) -> None:
    await set_plugin(side.scope, "email", enabled=False)
    user = await create_staff(side.scope, "caja@example.com", "clave-larga-123", "owner")
    await inbox.resolve_dispute(side.scope, user, side.dispute, "accept", "")
    assert set(await drain_jobs()) == {"done"}
    job = await side.scope.objects(OutboxJob).where(OutboxJob.actor == "tell_customer").first()
    assert job is not None and job.status == "done"
    assert await messages(side) == []
