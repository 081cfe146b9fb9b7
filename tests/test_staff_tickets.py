"""Contact-form tickets can be answered: staff reply from the inbox, the reply is recorded on
the ticket and audited, and a worker e-mails it through the tenant's channel."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from recaudo.core import config
from recaudo.core.platform.host import get_host
from recaudo.core.tables import AuditEvent, NotificationLog, OutboxJob, Ticket, TicketReply
from recaudo.tenants.plugin_config import set_plugin
from tests import test_staff_http
from tests.conftest import drain_jobs
from tests.test_staff_http import World, post, signed_in

world = test_staff_http.world  # the two-tenant fixture of the staff HTTP tests


@pytest.fixture
def mail() -> Iterator[Callable[[str], None]]:
    """Start the channels as a process in a run mode without SMTP would (development: the dev
    outbox is the delivery; production: messages wait for a server); put things back after."""
    before = config.active()

    def start(env: str) -> None:
        settings = replace(before, env=env, smtp_url="")
        config.activate(settings)
        get_host().hook.recaudo_startup(settings=settings)

    yield start
    config.activate(before)
    get_host().hook.recaudo_startup(settings=before)


async def test_a_reply_is_recorded_audited_and_emailed_once(
    world: World, mail: Callable[[str], None]
) -> None:
    a = world.a
    mail("development")
    await set_plugin(a.scope, "email", enabled=True)
    async with signed_in(world, a, "collector") as c:
        page = await c.get(f"{a.staff}/tickets/{a.ticket}")
        assert "Responder por correo a ana@example.com" in page.text
        response = await post(
            c,
            a,
            f"{a.staff}/tickets/{a.ticket}/reply",
            {"body": "Ya anulamos la factura duplicada."},
        )
        assert response.status_code == 303
        queued = await c.get(f"{a.staff}/tickets/{a.ticket}")
        assert "Ya anulamos la factura duplicada." in queued.text and "En cola" in queued.text
        assert set(await drain_jobs()) == {"done"}
        assert await drain_jobs() == []  # nothing left: the reply is sent once
        sent_page = await c.get(f"{a.staff}/tickets/{a.ticket}")
    assert "Enviada" in sent_page.text
    (reply,) = await a.scope.objects(TicketReply)
    assert reply.status == "sent" and reply.recipient == "ana@example.com"
    (message,) = await a.scope.objects(NotificationLog)
    assert message.recipient == "ana@example.com" and message.subject.startswith(
        "Re: Factura duplicada"
    )
    assert "Ya anulamos la factura duplicada." in message.body_text
    assert "Me llegó dos veces." in message.body_text  # the original message is quoted
    event = await a.scope.objects(AuditEvent).where(AuditEvent.action == "ticket.replied")
    assert len(event) == 1 and "ana@example.com" in str(event[0].data)
    assert await a.scope.count(OutboxJob).where(OutboxJob.actor == "reply_ticket") == 1


async def test_replies_need_text_an_address_and_a_role_that_acts(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "viewer") as c:
        forbidden = await post(c, a, f"{a.staff}/tickets/{a.ticket}/reply", {"body": "Hola"})
        assert forbidden.status_code == 403
    await a.scope.update(Ticket, {Ticket.contact: "55 1234 5678", Ticket.customer: None}).where(
        Ticket.id == a.ticket
    )
    async with signed_in(world, a) as c:
        empty = await post(c, a, f"{a.staff}/tickets/{a.ticket}/reply", {"body": "  "})
        assert empty.status_code == 400 and "Escribe una respuesta" in empty.text
        nowhere = await post(c, a, f"{a.staff}/tickets/{a.ticket}/reply", {"body": "Hola"})
        assert nowhere.status_code == 400 and "no tiene un correo" in nowhere.text
        other = await post(c, a, f"{a.staff}/tickets/{world.b.ticket}/reply", {"body": "Hola"})
        assert other.status_code == 404
    assert await a.scope.count(TicketReply) == 0


async def test_without_an_email_channel_the_reply_says_so(world: World) -> None:
    a = world.a
    await set_plugin(a.scope, "email", enabled=False)
    async with signed_in(world, a) as c:
        await post(c, a, f"{a.staff}/tickets/{a.ticket}/reply", {"body": "Hola"})
        await drain_jobs()
        page = await c.get(f"{a.staff}/tickets/{a.ticket}")
    assert (await a.scope.objects(TicketReply))[0].status == "no_channel"
    assert "Sin canal de correo" in page.text


async def test_in_production_without_smtp_the_reply_waits_for_the_server(
    world: World, mail: Callable[[str], None]
) -> None:
    a = world.a
    mail("production")
    await set_plugin(a.scope, "email", enabled=True)
    async with signed_in(world, a) as c:
        await post(c, a, f"{a.staff}/tickets/{a.ticket}/reply", {"body": "Hola"})
        await drain_jobs()
        page = await c.get(f"{a.staff}/tickets/{a.ticket}")
    assert (await a.scope.objects(TicketReply))[0].status == "waiting"
    assert "Esperando el servidor de correo" in page.text
