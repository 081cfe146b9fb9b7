"""Collectors' tasks: create with validation, list (mine / a collector's / all, open / done,
overdue first), complete, cancel, reassign, audited; the ``/staff/tareas`` page and its forms;
viewers refused; other tenants' task, customer and staff ids are not found."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from recaudo.core.tables import AuditEvent, StaffUser, WorkTask
from recaudo.core.workspace import tasks
from recaudo.core.workspace.tasks import TaskError, TaskNotFound
from tests.test_staff_http import Side, World, post, signed_in
from tests.test_staff_http import world as world

TODAY = date.today()


async def _staff(side: Side, role: str) -> StaffUser:
    rows = await side.scope.objects(StaffUser).where(StaffUser.email == side.email(role))
    return rows[0]


async def test_create_defaults_to_the_creator_and_validates(world: World) -> None:
    a, b = world.a, world.b
    me = await _staff(a, "collector")
    owner = await _staff(a, "owner")
    viewer = await _staff(a, "viewer")
    row = await tasks.create_task(
        a.scope, me, TODAY, title="  Llamar   de nuevo ", due=TODAY.isoformat(), kind="call"
    )
    assert (row.title, row.assignee, row.kind, row.status) == (
        "Llamar de nuevo",
        me.id,
        "call",
        "open",
    )
    other = await tasks.create_task(
        a.scope,
        me,
        TODAY,
        title="Enviar estado",
        due=TODAY + timedelta(days=2),
        customer_id=a.customer,
        assignee_id=str(owner.id),
    )
    assert (other.assignee, other.customer) == (owner.id, a.customer)
    bad = [
        ({"title": "", "due": TODAY}, TaskError, "Escribe qué hay que hacer."),
        ({"title": "x" * 201, "due": TODAY}, TaskError, "200 caracteres"),
        ({"title": "x", "due": "ayer"}, TaskError, "Elige una fecha válida."),
        ({"title": "x", "due": TODAY - timedelta(days=1)}, TaskError, "desde hoy"),
        ({"title": "x", "due": TODAY, "kind": "siesta"}, TaskError, "tipo"),
        ({"title": "x", "due": TODAY, "assignee_id": viewer.id}, TaskError, "solo lectura"),
        ({"title": "x", "due": TODAY, "customer_id": b.customer}, TaskNotFound, "Cliente"),
        (
            {"title": "x", "due": TODAY, "assignee_id": (await _staff(b, "owner")).id},
            TaskNotFound,
            "Persona del equipo",
        ),
    ]
    for kwargs, error, message in bad:
        with pytest.raises(error, match=message):
            await tasks.create_task(a.scope, me, TODAY, **kwargs)  # type: ignore[arg-type]
    assert await a.scope.count(WorkTask) == 2 and await b.scope.count(WorkTask) == 0
    assert await a.scope.count(AuditEvent).where(AuditEvent.action == "task.created") == 2


async def test_list_close_and_reassign(world: World) -> None:
    a = world.a
    me = await _staff(a, "collector")
    owner = await _staff(a, "owner")
    later = await tasks.create_task(
        a.scope, me, TODAY, title="Luego", due=TODAY + timedelta(days=5)
    )
    soon = await tasks.create_task(a.scope, me, TODAY, title="Hoy", due=TODAY)
    late = WorkTask(assignee=me.id, title="Atrasada", due_date=TODAY - timedelta(days=3))
    await a.scope.add(late)
    theirs = await tasks.create_task(a.scope, owner, TODAY, title="De owner", due=TODAY)
    mine = await tasks.list_tasks(a.scope, TODAY, assignee_id=int(me.id))
    assert [t.title for t in mine] == ["Atrasada", "Hoy", "Luego"]
    assert [t.overdue for t in mine] == [True, False, False]
    assert len(await tasks.list_tasks(a.scope, TODAY)) == 4
    due = await tasks.list_tasks(a.scope, TODAY, assignee_id=int(me.id), due_by=TODAY)
    assert [t.title for t in due] == ["Atrasada", "Hoy"]

    await tasks.complete_task(a.scope, me, soon.id)
    await tasks.cancel_task(a.scope, me, later.id)
    with pytest.raises(TaskError, match="ya no está abierta"):
        await tasks.complete_task(a.scope, me, soon.id)
    with pytest.raises(TaskError, match="ya no está abierta"):
        await tasks.reassign_task(a.scope, me, later.id, owner.id)
    await tasks.reassign_task(a.scope, me, theirs.id, me.id)
    assert [t.title for t in await tasks.list_tasks(a.scope, TODAY, assignee_id=int(me.id))] == [
        "Atrasada",
        "De owner",
    ]
    done = await tasks.list_tasks(a.scope, TODAY, status="done")
    assert [t.title for t in done] == ["Hoy"] and not done[0].overdue
    actions = [r["action"] for r in await a.scope.select(AuditEvent, AuditEvent.action)]
    assert {"task.done", "task.cancelled", "task.reassigned"} <= set(actions)


async def test_other_tenants_task_is_not_found(world: World) -> None:
    a, b = world.a, world.b
    theirs = await tasks.create_task(
        b.scope, await _staff(b, "owner"), TODAY, title="Suya", due=TODAY
    )
    me = await _staff(a, "owner")
    for action in (tasks.complete_task, tasks.cancel_task):
        with pytest.raises(TaskNotFound):
            await action(a.scope, me, theirs.id)
    with pytest.raises(TaskNotFound):
        await tasks.reassign_task(a.scope, me, theirs.id, me.id)
    with pytest.raises(TaskNotFound):
        await tasks.assign_collector(a.scope, me, b.customer, me.id)
    row = await b.scope.get(WorkTask, int(theirs.id))
    assert row is not None and (row.status, row.assignee) == ("open", theirs.assignee)


async def test_tasks_page_and_forms(world: World) -> None:
    a = world.a
    owner = await _staff(a, "owner")
    async with signed_in(world, a, "collector") as c:
        created = await post(
            c,
            a,
            f"{a.staff}/tareas",
            {"titulo": "Revisar <script>x</script>", "fecha": TODAY.isoformat(), "cliente": "C-1"},
        )
        assert created.status_code == 303
        assert created.headers["location"].startswith(f"{a.staff}/tareas?")
        page = await c.get(created.headers["location"])
        assert "Tarea creada." in page.text
        assert (
            "Revisar &lt;script&gt;x&lt;/script&gt;" in page.text and "<script>x" not in page.text
        )
        task = (await a.scope.select(WorkTask))[0]
        assert task["customer"] == a.customer
        assert f'href="{a.staff}/clientes/{a.customer}"' in page.text
        # the owner's list does not show it; "todo el equipo" does
        assert (
            f'data-task="{task["id"]}"'
            not in (await c.get(f"{a.staff}/tareas?responsable={owner.id}")).text
        )
        assert (
            f'data-task="{task["id"]}"' in (await c.get(f"{a.staff}/tareas?responsable=all")).text
        )
        moved = await post(
            c, a, f"{a.staff}/tareas/{task['id']}/reasignar", {"asignar": str(owner.id)}
        )
        assert moved.status_code == 303
        assert (await a.scope.get(WorkTask, task["id"])).assignee == owner.id
        done = await post(c, a, f"{a.staff}/tareas/{task['id']}/hecha", {"responsable": "all"})
        assert done.status_code == 303 and "responsable=all" in done.headers["location"]
        finished = await c.get(f"{a.staff}/tareas?responsable=all&estado=done")
        assert f'data-task="{task["id"]}"' in finished.text
        unknown = await post(
            c,
            a,
            f"{a.staff}/tareas",
            {"titulo": "x", "fecha": TODAY.isoformat(), "cliente": "NO-EXISTE"},
        )
        assert unknown.status_code == 400 and "No hay un cliente con ese número." in unknown.text
    assert await a.scope.count(WorkTask) == 1


async def test_viewer_and_other_tenant_on_task_routes(world: World) -> None:
    a, b = world.a, world.b
    theirs = await tasks.create_task(
        b.scope, await _staff(b, "owner"), TODAY, title="Suya", due=TODAY
    )
    mine = await tasks.create_task(a.scope, await _staff(a, "owner"), TODAY, title="Mía", due=TODAY)
    their_staff = await _staff(b, "collector")
    async with signed_in(world, a, "viewer") as c:
        page = await c.get(f"{a.staff}/tareas?responsable=all")
        assert page.status_code == 200 and "Mía" in page.text and 'id="new-task"' not in page.text
        for url in (f"{a.staff}/tareas/{mine.id}/hecha", f"{a.staff}/tareas/{mine.id}/cancelar"):
            assert (await post(c, a, url)).status_code == 403
        assert (
            await post(c, a, f"{a.staff}/tareas", {"titulo": "x", "fecha": TODAY.isoformat()})
        ).status_code == 403
    async with signed_in(world, a, "owner") as c:
        for url, data in [
            (f"{a.staff}/tareas/{theirs.id}/hecha", {}),
            (f"{a.staff}/tareas/{theirs.id}/cancelar", {}),
            (
                f"{a.staff}/tareas/{theirs.id}/reasignar",
                {"asignar": str((await _staff(a, "owner")).id)},
            ),
            (f"{a.staff}/tareas/{mine.id}/reasignar", {"asignar": str(their_staff.id)}),
            (
                f"{a.staff}/tareas",
                {"titulo": "x", "fecha": TODAY.isoformat(), "asignar": str(their_staff.id)},
            ),
        ]:
            assert (await post(c, a, url, data)).status_code == 404, url
        listed = await c.get(f"{a.staff}/tareas?responsable={their_staff.id}")
        assert "Suya" not in listed.text
    assert (await b.scope.get(WorkTask, int(theirs.id))).status == "open"
    row = await a.scope.get(WorkTask, int(mine.id))
    assert row is not None and (row.status, row.assignee) == ("open", mine.assignee)
    assert await a.scope.count(WorkTask) == 1
