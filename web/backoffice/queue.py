"""The work queue (``/staff/cola``) and the collectors' tasks (``/staff/tareas``).

Thin: the ranking and the next action live in :mod:`recaudo.core.workspace.queue`, tasks and
assignments in :mod:`recaudo.core.workspace.tasks`. The one-click forms of a queue row reuse
the services the rest of the back office uses (the contact log's call outcome, the staff
promise, the customer note), then answer with a 303 back to the queue and a confirmation
(``aviso``), so they work without JavaScript and a reload never repeats them.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.billing.customers import CustomerError, add_note
from recaudo.core.billing.errors import RecordNotFound, actor_name
from recaudo.core.billing.listing import segments
from recaudo.core.casework import review as inbox
from recaudo.core.collections import contact_log, promises
from recaudo.core.tables import Customer, StaffUser
from recaudo.core.workspace import queue, tasks
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.amounts import read_amount
from recaudo.web.backoffice.common import form_data, staff_base, staff_page
from recaudo.web.backoffice.records_common import as_http
from recaudo.web.portal.common import tenant_today

NOTICES = ("llamada", "promesa", "nota", "tarea", "cobrador")
TASK_NOTICES = ("creada", "hecha", "cancelada", "reasignada")


def _back(request: Request, form: dict[str, str], notice: str, customer_id: int) -> Redirect:
    """303 to the queue with the filters the row was shown under (or to the customer page)."""
    if form.get("volver") == "cliente":
        return Redirect(f"{staff_base(request)}/clientes/{customer_id}", status_code=303)
    filters = queue.QueueFilters.from_query(form)
    query = urlencode({**filters.query(), "aviso": notice})
    return Redirect(f"{staff_base(request)}/cola?{query}#cliente-{customer_id}", status_code=303)


async def _customer(scope: TenantScope, customer_id: int) -> Customer:
    row = await scope.get(Customer, customer_id)
    if row is None:
        raise inbox.NotFound("Cliente no encontrado.")
    return row


@get("/cola", name="staff:queue", operation_id="staff_queue")
async def queue_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    filters = queue.QueueFilters.from_query(request.query_params)
    today = tenant_today(tenant)
    page = await queue.queue_page(
        tenant_scope, filters, staff, today, str(tenant.currency), str(tenant.timezone)
    )
    notice = str(request.query_params.get("aviso") or "")
    return await staff_page(
        request,
        "staff/workspace/queue.html",
        tenant,
        staff,
        page=page,
        filters=filters,
        filter_query=filters.query(),
        today=today,
        team=await tasks.team(tenant_scope),
        segments=await segments(tenant_scope),
        waiting=await queue.waiting(tenant_scope, staff, today),
        outcomes=contact_log.OUTCOMES,
        kinds=tasks.KINDS,
        notice=notice if notice in NOTICES else "",
        previous_link="?" + urlencode(filters.query(page.page - 1)),
        next_link="?" + urlencode(filters.query(page.page + 1)),
    )


@post(
    "/cola/clientes/{customer_id:int}/llamada",
    name="staff:queue_call",
    operation_id="staff_queue_call",
)
async def queue_call(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    customer_id: FromPath[int],
) -> Redirect:
    """A call's outcome, written to the contact log and the customer's history."""
    form = await form_data(request)
    await queue.log_call(
        tenant_scope,
        acting_staff,
        customer_id,
        form.get("resultado", "")[:30],
        form.get("nota", "")[: contact_log.MAX_NOTE + 1],
    )
    return _back(request, form, "llamada", customer_id)


@post(
    "/cola/clientes/{customer_id:int}/promesa",
    name="staff:queue_promise",
    operation_id="staff_queue_promise",
)
async def queue_promise(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    customer_id: FromPath[int],
) -> Redirect:
    """A promise to pay the row's past-due invoices by a date (amount blank: all of it)."""
    customer = await _customer(tenant_scope, customer_id)
    form = await form_data(request)
    today = tenant_today(tenant)
    try:
        when = date.fromisoformat(form.get("fecha", "").strip()[:10])
    except ValueError:
        raise inbox.InboxError("Elige una fecha válida.") from None
    currency = str(tenant.currency)
    amount: int | None = None
    typed = form.get("monto", "").strip()
    if typed:
        money, problem = read_amount(request, tenant, typed, currency)
        if money is None:
            raise inbox.InboxError(problem)
        amount = money.amount
    invoice_ids = await queue.overdue_invoice_ids(tenant_scope, int(customer.id), today, currency)
    try:
        await promises.staff_promise(
            tenant_scope,
            int(customer.id),
            today,
            invoice_ids=invoice_ids,
            promised_date=when,
            amount=amount,
            note=form.get("nota", "")[: promises.MAX_NOTE],
            actor=actor_name(acting_staff),
        )
    except promises.PromiseError as exc:
        raise inbox.InboxError(str(exc)) from None
    return _back(request, form, "promesa", customer_id)


@post(
    "/cola/clientes/{customer_id:int}/nota",
    name="staff:queue_note",
    operation_id="staff_queue_note",
)
async def queue_note(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    customer_id: FromPath[int],
) -> Redirect:
    customer = await _customer(tenant_scope, customer_id)
    form = await form_data(request)
    try:
        await add_note(tenant_scope, int(customer.id), form.get("body", ""), acting_staff)
    except (CustomerError, RecordNotFound) as exc:
        raise as_http(request, tenant, exc) from None
    return _back(request, form, "nota", customer_id)


@post(
    "/cola/clientes/{customer_id:int}/tarea",
    name="staff:queue_task",
    operation_id="staff_queue_task",
)
async def queue_task(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    customer_id: FromPath[int],
) -> Redirect:
    customer = await _customer(tenant_scope, customer_id)
    form = await form_data(request)
    await tasks.create_task(
        tenant_scope,
        acting_staff,
        tenant_today(tenant),
        title=form.get("titulo", ""),
        due=form.get("fecha", ""),
        kind=form.get("tipo", "") or "follow_up",
        customer_id=int(customer.id),
        assignee_id=form.get("asignar", ""),
    )
    return _back(request, form, "tarea", customer_id)


@post(
    "/cola/clientes/{customer_id:int}/cobrador",
    name="staff:queue_collector",
    operation_id="staff_queue_collector",
)
async def queue_collector(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    customer_id: FromPath[int],
) -> Redirect:
    """Who works the account (empty: nobody); from a queue row or the customer page."""
    form = await form_data(request)
    await tasks.assign_collector(tenant_scope, acting_staff, customer_id, form.get("asignar", ""))
    return _back(request, form, "cobrador", customer_id)


# --- tasks --------------------------------------------------------------------------------------


@get("/tareas", name="staff:tasks", operation_id="staff_tasks")
async def tasks_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    filters = tasks.TaskFilters.from_query(request.query_params)
    today = tenant_today(tenant)
    notice = str(request.query_params.get("aviso") or "")
    return await staff_page(
        request,
        "staff/workspace/tasks.html",
        tenant,
        staff,
        filters=filters,
        rows=await tasks.list_tasks(
            tenant_scope, today, assignee_id=filters.assignee(staff), status=filters.status
        ),
        team=await tasks.team(tenant_scope),
        kinds=tasks.KINDS,
        today=today,
        notice=notice if notice in TASK_NOTICES else "",
    )


def _tasks_back(request: Request, form: dict[str, str], notice: str) -> Redirect:
    filters = tasks.TaskFilters.from_query(form)
    query = urlencode({"responsable": filters.who, "estado": filters.status, "aviso": notice})
    return Redirect(f"{staff_base(request)}/tareas?{query}", status_code=303)


async def _customer_by_number(scope: TenantScope, number: str) -> int | None:
    text = number.strip()[:64]
    if not text:
        return None
    rows = await scope.select(Customer, Customer.id).where(Customer.number == text).limit(1)
    if not rows:
        raise inbox.InboxError("No hay un cliente con ese número.")
    return int(rows[0]["id"])


@post("/tareas", name="staff:task_create", operation_id="staff_task_create")
async def task_create(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
) -> Redirect:
    form = await form_data(request)
    await tasks.create_task(
        tenant_scope,
        acting_staff,
        tenant_today(tenant),
        title=form.get("titulo", ""),
        due=form.get("fecha", ""),
        kind=form.get("tipo", "") or "follow_up",
        customer_id=await _customer_by_number(tenant_scope, form.get("cliente", "")),
        assignee_id=form.get("asignar", ""),
        note=form.get("nota", ""),
    )
    return _tasks_back(request, form, "creada")


@post("/tareas/{task_id:int}/hecha", name="staff:task_done", operation_id="staff_task_done")
async def task_done(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    task_id: FromPath[int],
) -> Redirect:
    form = await form_data(request)
    await tasks.complete_task(tenant_scope, acting_staff, task_id)
    return _tasks_back(request, form, "hecha")


@post("/tareas/{task_id:int}/cancelar", name="staff:task_cancel", operation_id="staff_task_cancel")
async def task_cancel(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    task_id: FromPath[int],
) -> Redirect:
    form = await form_data(request)
    await tasks.cancel_task(tenant_scope, acting_staff, task_id)
    return _tasks_back(request, form, "cancelada")


@post(
    "/tareas/{task_id:int}/reasignar",
    name="staff:task_reassign",
    operation_id="staff_task_reassign",
)
async def task_reassign(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    task_id: FromPath[int],
) -> Redirect:
    form = await form_data(request)
    await tasks.reassign_task(tenant_scope, acting_staff, task_id, form.get("asignar", ""))
    return _tasks_back(request, form, "reasignada")


ROUTES = [
    queue_page,
    queue_call,
    queue_promise,
    queue_note,
    queue_task,
    queue_collector,
    tasks_page,
    task_create,
    task_done,
    task_cancel,
    task_reassign,
]
