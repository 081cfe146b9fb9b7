"""Collectors' tasks (call back, send a statement, check a transfer) and who works each account.

Every function takes the tenant's :class:`TenantScope`, so a task, customer or staff id of
another tenant is simply "not found" (:class:`TaskNotFound`, a 404 in the back office). Bad
input raises :class:`TaskError` with a Spanish message and changes nothing. Every change is
written to the audit trail with the acting staff user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from recaudo.core.access.staff import can_act
from recaudo.core.billing.errors import actor_name
from recaudo.core.casework.review import InboxError, NotFound
from recaudo.core.common.audit import record
from recaudo.core.db import transaction
from recaudo.core.tables import Customer, StaffUser, WorkTask
from recaudo.tenants.scoped import TenantScope, as_id

#: What a task is about (stored code → Spanish label).
KINDS = {
    "follow_up": "Dar seguimiento",
    "call": "Llamar",
    "statement": "Enviar estado de cuenta",
    "check": "Revisar un pago",
    "other": "Otro",
}
STATUSES = ("open", "done", "cancelled")
MAX_TITLE = 200
MAX_NOTE = 500
MAX_DAYS_AHEAD = 730
MAX_ROWS = 200


class TaskError(InboxError):
    """Bad input about a task or an assignment (Spanish message, shown as it is)."""


class TaskNotFound(NotFound):
    """No such task, customer or staff user in this tenant."""


@dataclass(frozen=True)
class TaskRow:
    id: int
    title: str
    kind: str
    due_date: date
    status: str
    note: str
    customer_id: int | None
    customer_name: str
    assignee_id: int | None
    assignee_name: str
    overdue: bool


def parse_due(value: object, today: date) -> date:
    """A due date typed in a form: ISO, from today and within two years."""
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise TaskError("Elige una fecha válida.") from None
    if not today <= day <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise TaskError("Elige una fecha desde hoy y dentro de dos años.")
    return day


def _title(value: object) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise TaskError("Escribe qué hay que hacer.")
    if len(text) > MAX_TITLE:
        raise TaskError("El título admite hasta 200 caracteres.")
    return text


def _kind(value: object) -> str:
    code = str(value or "follow_up").strip()
    if code not in KINDS:
        raise TaskError("Elige el tipo de tarea.")
    return code


def _note(value: object) -> str:
    text = str(value or "").strip()
    if len(text) > MAX_NOTE:
        raise TaskError("La nota admite hasta 500 caracteres.")
    return text


async def team(scope: TenantScope) -> list[StaffUser]:
    """Active staff who can work accounts (owners and collectors), by name: the selects' options."""
    rows = await scope.objects(StaffUser).where(StaffUser.active == True).order_by(StaffUser.name)  # noqa: E712
    return [row for row in rows if can_act(str(row.role))]


async def staff_member(scope: TenantScope, staff_id: object) -> StaffUser:
    """An active owner or collector of this tenant; anyone else is not found."""
    pk = as_id(staff_id)
    row = await scope.get(StaffUser, pk) if pk else None
    if row is None or not row.active:
        raise TaskNotFound("Persona del equipo no encontrada.")
    if not can_act(str(row.role)):
        raise TaskError("Esa persona tiene un rol de solo lectura: no puede trabajar cuentas.")
    return row


async def _customer(scope: TenantScope, customer_id: object) -> Customer:
    pk = as_id(customer_id)
    row = await scope.get(Customer, pk) if pk else None
    if row is None:
        raise TaskNotFound("Cliente no encontrado.")
    return row


async def _task(scope: TenantScope, task_id: object) -> WorkTask:
    pk = as_id(task_id)
    row = await scope.get(WorkTask, pk) if pk else None
    if row is None:
        raise TaskNotFound("Tarea no encontrada.")
    return row


async def create_task(
    scope: TenantScope,
    actor: StaffUser,
    today: date,
    *,
    title: object,
    due: object,
    kind: object = "follow_up",
    customer_id: object = None,
    assignee_id: object = None,
    note: object = "",
) -> WorkTask:
    """A new open task; assigned to ``actor`` unless another team member is named."""
    text, code, day, memo = _title(title), _kind(kind), parse_due(due, today), _note(note)
    customer = await _customer(scope, customer_id) if customer_id not in (None, "") else None
    assignee = await staff_member(scope, assignee_id) if assignee_id not in (None, "") else actor
    row = WorkTask(
        customer=int(customer.id) if customer else None,
        assignee=int(assignee.id),
        title=text,
        kind=code,
        due_date=day,
        note=memo,
        created_by=actor_name(actor),
    )
    async with transaction():
        await scope.add(row)
        await record(
            scope,
            actor_name(actor),
            "task.created",
            f"task:{row.id}",
            customer=int(customer.id) if customer else None,
            assignee=int(assignee.id),
            due=day.isoformat(),
        )
    return row


async def _close(scope: TenantScope, actor: StaffUser, task_id: object, status: str) -> WorkTask:
    row = await _task(scope, task_id)
    async with transaction():
        changed = await (
            scope.update(
                WorkTask,
                {
                    WorkTask.status: status,
                    WorkTask.done_at: datetime.now(UTC),
                    WorkTask.done_by: actor_name(actor),
                },
            )
            .where(WorkTask.id == row.id, WorkTask.status == "open")
            .returning(WorkTask.id)
        )
        if not changed:
            raise TaskError("Esta tarea ya no está abierta.")
        await record(scope, actor_name(actor), f"task.{status}", f"task:{row.id}")
    row.status = status
    return row


async def complete_task(scope: TenantScope, actor: StaffUser, task_id: object) -> WorkTask:
    return await _close(scope, actor, task_id, "done")


async def cancel_task(scope: TenantScope, actor: StaffUser, task_id: object) -> WorkTask:
    return await _close(scope, actor, task_id, "cancelled")


async def reassign_task(
    scope: TenantScope, actor: StaffUser, task_id: object, assignee_id: object
) -> WorkTask:
    """Hand an open task to another owner or collector of the tenant."""
    row = await _task(scope, task_id)
    assignee = await staff_member(scope, assignee_id)
    if row.status != "open":
        raise TaskError("Esta tarea ya no está abierta.")
    async with transaction():
        await scope.update(WorkTask, {WorkTask.assignee: int(assignee.id)}).where(
            WorkTask.id == row.id
        )
        await record(
            scope,
            actor_name(actor),
            "task.reassigned",
            f"task:{row.id}",
            previous=row.assignee,
            assignee=int(assignee.id),
        )
    row.assignee = int(assignee.id)
    return row


async def assign_collector(
    scope: TenantScope, actor: StaffUser, customer_id: object, collector_id: object
) -> Customer:
    """Name who works the account (``None`` or ``""``: nobody); audited with the previous one."""
    customer = await _customer(scope, customer_id)
    collector = await staff_member(scope, collector_id) if collector_id not in (None, "") else None
    new = int(collector.id) if collector else None
    async with transaction():
        await scope.update(Customer, {Customer.collector_id: new}).where(Customer.id == customer.id)
        await record(
            scope,
            actor_name(actor),
            "customer.collector_assigned",
            f"customer:{customer.id}",
            previous=customer.collector_id,
            collector=new,
        )
    customer.collector_id = new
    return customer


@dataclass(frozen=True)
class TaskFilters:
    """Whose tasks (``me``, a staff id, or ``all``) and which state."""

    who: str = "me"
    status: str = "open"

    @classmethod
    def from_query(cls, params: Any) -> TaskFilters:
        who = str(params.get("responsable") or "me").strip()[:12]
        status = str(params.get("estado") or "open").strip()[:12]
        return cls(
            who=who if who in ("me", "all") or as_id(who) else "me",
            status=status if status in STATUSES else "open",
        )

    def assignee(self, me: StaffUser) -> int | None:
        """The staff id to list, ``None`` for everyone."""
        if self.who == "all":
            return None
        if self.who == "me":
            return int(me.id)
        return as_id(self.who)


async def list_tasks(
    scope: TenantScope,
    today: date,
    *,
    assignee_id: int | None = None,
    status: str = "open",
    due_by: date | None = None,
    limit: int = MAX_ROWS,
) -> list[TaskRow]:
    """Tasks of one assignee (``None``: everyone's), open ones by due date (overdue first),
    closed ones newest first; ``due_by`` keeps those due on or before that day."""
    query = scope.select(
        WorkTask,
        WorkTask.id,
        WorkTask.title,
        WorkTask.kind,
        WorkTask.due_date,
        WorkTask.status,
        WorkTask.note,
        WorkTask.customer,
        WorkTask.customer.name.as_alias("customer_name"),
        WorkTask.assignee,
        WorkTask.assignee.name.as_alias("assignee_name"),
        WorkTask.assignee.email.as_alias("assignee_email"),
    ).where(WorkTask.status == (status if status in STATUSES else "open"))
    if assignee_id is not None:
        query = query.where(WorkTask.assignee == assignee_id)
    if due_by is not None:
        query = query.where(WorkTask.due_date <= due_by)
    if status == "open":
        query = query.order_by(WorkTask.due_date).order_by(WorkTask.id)
    else:
        query = query.order_by(WorkTask.done_at, ascending=False).order_by(WorkTask.id)
    rows = await query.limit(max(1, min(limit, MAX_ROWS)))
    return [
        TaskRow(
            id=int(r["id"]),
            title=str(r["title"]),
            kind=str(r["kind"]),
            due_date=r["due_date"],
            status=str(r["status"]),
            note=str(r["note"] or ""),
            customer_id=int(r["customer"]) if r["customer"] is not None else None,
            customer_name=str(r["customer_name"] or ""),
            assignee_id=int(r["assignee"]) if r["assignee"] is not None else None,
            assignee_name=str(r["assignee_name"] or r["assignee_email"] or ""),
            overdue=r["status"] == "open" and r["due_date"] < today,
        )
        for r in rows
    ]
