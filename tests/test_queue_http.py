"""The work queue page over HTTP: the ranked rows and what waits for a person; one-click call,
promise, note, task and collector forms, each recorded where the customer's history shows it,
answered with a 303 back to the queue; viewers, missing CSRF, bad input and other tenants' ids
change nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from recaudo.core.tables import (
    AuditEvent,
    ContactAttempt,
    Customer,
    CustomerNote,
    PaymentPromise,
    StaffUser,
    WorkTask,
)
from tests.test_staff_http import Side, World, client, post, signed_in
from tests.test_staff_http import world as world

# The tenant's today, not the machine's: tenant alfa is in Mexico City, hours behind UTC.
TODAY = datetime.now(ZoneInfo("America/Mexico_City")).date()


def _between(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end)]


async def _state(side: Side) -> tuple[int, ...]:
    """What any queue action could change in a tenant."""
    s = side.scope
    collectors = await s.select(Customer, Customer.collector_id)
    return (
        await s.count(CustomerNote),
        await s.count(PaymentPromise),
        await s.count(WorkTask),
        await s.count(ContactAttempt),
        await s.count(AuditEvent),
        sum(int(r["collector_id"] or 0) for r in collectors),
    )


async def _staff_id(side: Side, role: str) -> int:
    rows = await side.scope.select(StaffUser, StaffUser.id).where(
        StaffUser.email == side.email(role)
    )
    return int(rows[0]["id"])


def _actions(side: Side, customer: int, staff_id: int) -> list[tuple[str, dict[str, str]]]:
    base = f"{side.staff}/cola/clientes/{customer}"
    return [
        (f"{base}/llamada", {"resultado": "no_answer"}),
        (f"{base}/promesa", {"fecha": (TODAY + timedelta(days=3)).isoformat()}),
        (f"{base}/nota", {"body": "Dice que paga el viernes"}),
        (f"{base}/tarea", {"titulo": "Volver a llamar", "fecha": TODAY.isoformat()}),
        (f"{base}/cobrador", {"asignar": str(staff_id)}),
    ]


async def test_queue_lists_overdue_customers_and_what_waits(world: World) -> None:
    async with signed_in(world, world.a, "collector") as c:
        page = await c.get(f"{world.a.staff}/cola")
    assert page.status_code == 200
    text = page.text
    assert f'id="cliente-{world.a.customer}"' in text
    assert "Cliente &lt;b&gt;Uno&lt;/b&gt;" in text and "<b>Uno</b>" not in text
    assert 'data-overdue="150000"' in text
    assert f'id="cliente-{world.b.customer}"' not in text
    # what waits for a person: the seeded hardship request, plan proposal and chat
    hardship = _between(text, 'id="waiting-hardship"', 'id="waiting-plans"')
    assert "<strong>1</strong>" in hardship and f"/hardship/{world.a.hardship}" in hardship
    plans = _between(text, 'id="waiting-plans"', 'id="waiting-chats"')
    assert "<strong>1</strong>" in plans and f"/plans/{world.a.plan}" in plans
    chats = _between(text, 'id="waiting-chats"', 'id="waiting-bank"')
    assert "<strong>1</strong>" in chats and f"/chats/{world.a.customer}" in chats
    assert "<strong>0</strong>" in _between(text, 'id="waiting-tasks"', 'id="waiting-hardship"')
    assert 'name="_csrf_token"' in text


async def test_one_click_call_is_logged_in_the_history(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "collector") as c:
        response = await post(
            c,
            a,
            f"{a.staff}/cola/clientes/{a.customer}/llamada",
            {"resultado": "no_answer", "cobrador": "me"},
        )
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith(f"{a.staff}/cola?") and "aviso=llamada" in location
        assert "cobrador=me" in location
        shown = await c.get(f"{a.staff}/cola?aviso=llamada")
        customer = await c.get(f"{a.staff}/clientes/{a.customer}")
        contacts = await c.get(f"{a.staff}/recordatorios/envios?cliente={a.customer}")
    assert "Llamada registrada" in shown.text
    assert "Llamada de cobranza: No contestó." in customer.text
    attempts = await a.scope.select(ContactAttempt).where(ContactAttempt.customer == a.customer)
    assert [(r["kind"], r["status"], r["reason"]) for r in attempts] == [
        ("call", "sent", "no_answer")
    ]
    assert f'data-contact="{attempts[0]["id"]}"' in contacts.text or "No contestó" in contacts.text
    assert (
        await a.scope.count(AuditEvent).where(AuditEvent.action == "reminders.call_recorded") == 1
    )


async def test_a_planned_call_is_the_one_closed(world: World) -> None:
    from datetime import UTC, datetime

    a = world.a
    planned = ContactAttempt(
        customer=a.customer, key="etapa-1", kind="call", scheduled_for=datetime.now(UTC)
    )
    await a.scope.add(planned)
    async with signed_in(world, a, "collector") as c:
        response = await post(
            c, a, f"{a.staff}/cola/clientes/{a.customer}/llamada", {"resultado": "reached"}
        )
    assert response.status_code == 303
    assert await a.scope.count(ContactAttempt) == 1
    row = await a.scope.get(ContactAttempt, int(planned.id))
    assert row is not None and (row.status, row.reason) == ("sent", "reached")


async def test_promise_note_and_task_from_the_queue(world: World) -> None:
    a = world.a
    collector = await _staff_id(a, "collector")
    when = TODAY + timedelta(days=3)
    async with signed_in(world, a, "collector") as c:
        for url, data in _actions(a, a.customer, collector)[1:]:
            response = await post(c, a, url, data)
            assert response.status_code == 303, (url, response.text)
            assert f"{a.staff}/cola?" in response.headers["location"]
        customer = await c.get(f"{a.staff}/clientes/{a.customer}")
        tasks = await c.get(f"{a.staff}/tareas")
        queue = await c.get(f"{a.staff}/cola?cobrador=me")
    promises = await a.scope.select(PaymentPromise)
    assert [(p["amount"], p["promised_date"], p["status"]) for p in promises] == [
        (150_000, when, "pending")
    ]
    assert 'id="customer-promises"' in customer.text
    assert "Dice que paga el viernes" in customer.text
    task = (await a.scope.select(WorkTask))[0]
    assert (task["title"], task["assignee"], task["customer"]) == (
        "Volver a llamar",
        collector,
        a.customer,
    )
    assert "Volver a llamar" in tasks.text
    assert (await a.scope.get(Customer, a.customer)).collector_id == collector
    # the assigned account shows under "mis cuentas", its next action is today's task
    assert f'id="cliente-{a.customer}"' in queue.text
    assert 'data-next="task"' in queue.text
    mine = _between(queue.text, 'id="waiting-tasks"', 'id="waiting-hardship"')
    assert "<strong>1</strong>" in mine and "Volver a llamar" in mine


async def test_collector_from_the_customer_page(world: World) -> None:
    a = world.a
    collector = await _staff_id(a, "collector")
    async with signed_in(world, a, "owner") as c:
        page = await c.get(f"{a.staff}/clientes/{a.customer}")
        assert f'action="{a.staff}/cola/clientes/{a.customer}/cobrador"' in page.text
        response = await post(
            c,
            a,
            f"{a.staff}/cola/clientes/{a.customer}/cobrador",
            {"asignar": str(collector), "volver": "cliente"},
        )
        assert response.status_code == 303
        assert response.headers["location"] == f"{a.staff}/clientes/{a.customer}"
        again = await c.get(f"{a.staff}/clientes/{a.customer}")
        assert f'<option value="{collector}" selected>' in again.text
        cleared = await post(
            c, a, f"{a.staff}/cola/clientes/{a.customer}/cobrador", {"asignar": ""}
        )
    assert cleared.status_code == 303
    assert (await a.scope.get(Customer, a.customer)).collector_id is None
    audits = await a.scope.count(AuditEvent).where(
        AuditEvent.action == "customer.collector_assigned"
    )
    assert audits == 2


async def test_viewer_sees_but_cannot_act(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "viewer") as c:
        before = await _state(a)  # after the login's own audit event
        page = await c.get(f"{a.staff}/cola")
        assert page.status_code == 200 and f'id="cliente-{a.customer}"' in page.text
        assert "/cola/clientes/" not in page.text  # no action forms
        for url, data in _actions(a, a.customer, await _staff_id(a, "collector")):
            response = await post(c, a, url, data)
            assert response.status_code == 403, url
            assert "solo lectura" in response.text
    assert await _state(a) == before


async def test_csrf_is_required(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "owner") as c:
        before = await _state(a)
        for url, data in _actions(a, a.customer, await _staff_id(a, "collector")):
            response = await c.post(url, data=data, headers={"accept": "text/html"})
            assert response.status_code == 403, url
    assert await _state(a) == before


async def test_bad_input_is_a_400_that_changes_nothing(world: World) -> None:
    a = world.a
    base = f"{a.staff}/cola/clientes/{a.customer}"
    cases = [
        (f"{base}/llamada", {"resultado": "bogus"}, "Elige el resultado de la llamada."),
        (f"{base}/llamada", {"resultado": "note"}, "Escribe la nota."),
        (f"{base}/promesa", {"fecha": "mañana"}, "Elige una fecha válida."),
        (f"{base}/promesa", {"fecha": (TODAY - timedelta(days=1)).isoformat()}, "Elige una fecha"),
        (f"{base}/promesa", {"fecha": TODAY.isoformat(), "monto": "9999999"}, "El monto"),
        (f"{base}/nota", {"body": "  "}, ""),
        (f"{base}/tarea", {"titulo": "", "fecha": TODAY.isoformat()}, "Escribe qué hay que hacer."),
        (f"{base}/tarea", {"titulo": "x" * 201, "fecha": TODAY.isoformat()}, "200 caracteres"),
        (f"{base}/tarea", {"titulo": "Llamar", "fecha": "31/02/2026"}, "Elige una fecha válida."),
        (f"{base}/tarea", {"titulo": "Llamar", "fecha": TODAY.isoformat(), "tipo": "x"}, "tipo"),
    ]
    async with signed_in(world, a, "collector") as c:
        before = await _state(a)
        for url, data, message in cases:
            response = await post(c, a, url, data)
            assert response.status_code == 400, (url, data, response.status_code)
            assert message in response.text, (url, data)
    assert await _state(a) == before


async def test_other_tenants_ids_are_not_found(world: World) -> None:
    a, b = world.a, world.b
    their_staff = await _staff_id(b, "collector")
    my_staff = await _staff_id(a, "collector")
    async with signed_in(world, a, "owner") as c:
        before_a, before_b = await _state(a), await _state(b)
        # their customer under my URLs
        for url, data in _actions(a, b.customer, my_staff):
            response = await post(c, a, url, data)
            assert response.status_code == 404, url
        # my customer, their staff member
        base = f"{a.staff}/cola/clientes/{a.customer}"
        for url, data in [
            (f"{base}/cobrador", {"asignar": str(their_staff)}),
            (
                f"{base}/tarea",
                {"titulo": "x", "fecha": TODAY.isoformat(), "asignar": str(their_staff)},
            ),
        ]:
            response = await post(c, a, url, data)
            assert response.status_code == 404, url
    assert await _state(a) == before_a and await _state(b) == before_b


async def test_login_required(world: World) -> None:
    async with client(world) as c:
        response = await c.get(f"{world.a.staff}/cola")
    assert response.status_code == 303 and "/login" in response.headers["location"]


async def test_anonymous_post_changes_nothing(world: World) -> None:
    a = world.a
    before = await _state(a)
    async with client(world) as c:
        response: httpx.Response = await post(
            c, a, f"{a.staff}/cola/clientes/{a.customer}/nota", {"body": "hola"}
        )
    assert response.status_code in (303, 403)
    assert await _state(a) == before
