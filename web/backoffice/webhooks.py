"""Outbound webhooks settings: /staff/ajustes/webhooks (owners manage; everyone reads the log).

Owners (``owner_staff``) add, switch on/off, delete endpoints, rotate secrets, send a test
``ping`` and resend deliveries. Collectors and viewers may read the endpoints and their delivery
log (it helps them answer "did the ERP get this payment?") but see no form and get a 403 on every
POST. A secret is shown once: in the answer to the POST that made it (pages are ``no-store``).
Another tenant's endpoint or delivery id, or junk, is a 404 on every route.
"""

from __future__ import annotations

import math
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from piccolo.query.functions.aggregate import Count

from recaudo.core.common.jsonfield import loads
from recaudo.core.tables import StaffUser, WebhookDelivery, WebhookEndpoint
from recaudo.core.webhooks import endpoints as hooks
from recaudo.core.webhooks import events
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.backoffice.common import staff_base, staff_page

PAGE_SIZE = 25
STATUSES = ("pending", "delivered", "failed", "dead")
NOT_FOUND = "Destino de webhook no encontrado."
DELIVERY_NOT_FOUND = "Entrega no encontrada."


def _actor(user: StaffUser) -> str:
    return f"staff:{user.id}"


async def _form(request: Request) -> tuple[dict[str, str], list[str]]:
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    chosen = [str(v) for v in form.getall("events")] if "events" in form else []
    return fields, chosen


async def _endpoint(scope: TenantScope, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await hooks.get_endpoint(scope, endpoint_id)
    if endpoint is None:
        raise NotFoundException(NOT_FOUND)
    return endpoint


def _base(request: Request) -> str:
    return f"{staff_base(request)}/ajustes/webhooks"


async def _list_page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    staff: StaffUser,
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    rows = await scope.objects(WebhookEndpoint).order_by(WebhookEndpoint.id)
    counts: dict[int, dict[str, int]] = {}
    for row in await scope.select(
        WebhookDelivery,
        WebhookDelivery.endpoint,
        WebhookDelivery.status,
        Count(alias="n"),
    ).group_by(WebhookDelivery.endpoint, WebhookDelivery.status):
        counts.setdefault(int(row["endpoint"]), {})[str(row["status"])] = int(row["n"])
    context.setdefault("form", {})
    context.setdefault("chosen", [])
    return await staff_page(
        request,
        "staff/webhooks/list.html",
        tenant,
        staff,
        status_code=status_code,
        endpoints=[(e, loads(e.events, []) or [], counts.get(int(e.id), {})) for e in rows],
        event_types=hooks.EVENT_TYPES,
        can_manage=staff.role == "owner",
        webhooks_base=_base(request),
        **context,
    )


@get("/ajustes/webhooks", name="staff:webhooks", operation_id="staff_webhooks")
async def webhooks_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    return await _list_page(request, tenant, tenant_scope, staff)


@post("/ajustes/webhooks", name="staff:webhooks_create", operation_id="staff_webhooks_create")
async def webhooks_create(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template:
    fields, chosen = await _form(request)
    if fields.get("all_events") == "1":
        chosen = ["*"]
    try:
        made = await hooks.create_endpoint(
            tenant_scope,
            fields.get("url", ""),
            chosen,
            fields.get("description", ""),
            _actor(owner_staff),
        )
    except hooks.WebhookError as exc:
        return await _list_page(
            request,
            tenant,
            tenant_scope,
            owner_staff,
            status_code=400,
            error=str(exc),
            form=fields,
            chosen=chosen,
        )
    return await _secret_page(request, tenant, owner_staff, made.endpoint, made.secret, 201)


async def _secret_page(
    request: Request,
    tenant: Tenant,
    staff: StaffUser,
    endpoint: WebhookEndpoint,
    secret: str,
    status_code: int = 200,
    rotated: bool = False,
) -> Template:
    return await staff_page(
        request,
        "staff/webhooks/secret.html",
        tenant,
        staff,
        status_code=status_code,
        endpoint=endpoint,
        secret=secret,
        rotated=rotated,
        webhooks_base=_base(request),
    )


@get(
    "/ajustes/webhooks/{endpoint_id:str}",
    name="staff:webhook",
    operation_id="staff_webhook",
)
async def webhook_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    endpoint_id: FromPath[str],
) -> Template:
    endpoint = await _endpoint(tenant_scope, endpoint_id)
    status = request.query_params.get("estado", "")
    status = status if status in STATUSES else ""
    event = request.query_params.get("evento", "")
    event = event if event in (*hooks.EVENT_TYPES, hooks.PING) else ""
    page_text = request.query_params.get("pagina", "1")
    page = int(page_text) if page_text.isdigit() and 0 < len(page_text) < 7 else 1
    query = tenant_scope.objects(WebhookDelivery).where(WebhookDelivery.endpoint == endpoint.id)
    counter = tenant_scope.count(WebhookDelivery).where(WebhookDelivery.endpoint == endpoint.id)
    if status:
        query = query.where(WebhookDelivery.status == status)
        counter = counter.where(WebhookDelivery.status == status)
    if event:
        query = query.where(WebhookDelivery.event_type == event)
        counter = counter.where(WebhookDelivery.event_type == event)
    total = await counter
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(page, pages)
    deliveries = (
        await query.order_by(WebhookDelivery.id, ascending=False)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return await staff_page(
        request,
        "staff/webhooks/detail.html",
        tenant,
        staff,
        endpoint=endpoint,
        events_chosen=loads(endpoint.events, []) or [],
        deliveries=deliveries,
        status=status,
        event=event,
        statuses=STATUSES,
        event_types=(*hooks.EVENT_TYPES, hooks.PING),
        page=page,
        pages=pages,
        total=total,
        can_manage=staff.role == "owner",
        webhooks_base=_base(request),
        rotating=endpoint.previous_secret and endpoint.previous_expires_at,
    )


@post(
    "/ajustes/webhooks/{endpoint_id:str}/estado",
    name="staff:webhook_active",
    operation_id="staff_webhook_active",
)
async def webhook_active(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    endpoint_id: FromPath[str],
) -> Redirect:
    endpoint = await _endpoint(tenant_scope, endpoint_id)
    fields, _chosen = await _form(request)
    wanted = fields.get("active")
    if wanted not in ("0", "1"):
        raise ValidationException("active: elige activar o desactivar.")
    await hooks.set_active(tenant_scope, endpoint, wanted == "1", _actor(owner_staff))
    return Redirect(f"{_base(request)}/{endpoint.id}", status_code=303)


@post(
    "/ajustes/webhooks/{endpoint_id:str}/eliminar",
    name="staff:webhook_delete",
    operation_id="staff_webhook_delete",
)
async def webhook_delete(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    endpoint_id: FromPath[str],
) -> Redirect:
    endpoint = await _endpoint(tenant_scope, endpoint_id)
    fields, _chosen = await _form(request)
    if fields.get("confirm") != "1":
        raise ValidationException(
            "confirm: marca la casilla para confirmar que quieres eliminarlo."
        )
    await hooks.delete_endpoint(tenant_scope, endpoint, _actor(owner_staff))
    return Redirect(_base(request), status_code=303)


@post(
    "/ajustes/webhooks/{endpoint_id:str}/rotar",
    name="staff:webhook_rotate",
    operation_id="staff_webhook_rotate",
)
async def webhook_rotate(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    endpoint_id: FromPath[str],
) -> Template:
    endpoint = await _endpoint(tenant_scope, endpoint_id)
    secret = await hooks.rotate_secret(tenant_scope, endpoint, _actor(owner_staff))
    return await _secret_page(request, tenant, owner_staff, endpoint, secret, rotated=True)


@post(
    "/ajustes/webhooks/{endpoint_id:str}/probar",
    name="staff:webhook_ping",
    operation_id="staff_webhook_ping",
)
async def webhook_ping(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    endpoint_id: FromPath[str],
) -> Redirect:
    endpoint = await _endpoint(tenant_scope, endpoint_id)
    await events.ping(tenant_scope, endpoint, _actor(owner_staff))
    return Redirect(f"{_base(request)}/{endpoint.id}", status_code=303)


@post(
    "/ajustes/webhooks/{endpoint_id:str}/entregas/{delivery_id:str}/reenviar",
    name="staff:webhook_resend",
    operation_id="staff_webhook_resend",
)
async def webhook_resend(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    endpoint_id: FromPath[str],
    delivery_id: FromPath[str],
) -> Redirect:
    endpoint = await _endpoint(tenant_scope, endpoint_id)
    delivery = await tenant_scope.get(WebhookDelivery, delivery_id)
    if delivery is None or int(delivery.endpoint) != int(endpoint.id):
        raise NotFoundException(DELIVERY_NOT_FOUND)
    await events.resend(tenant_scope, delivery, _actor(owner_staff))
    return Redirect(f"{_base(request)}/{endpoint.id}", status_code=303)


ROUTES: list[Any] = [
    webhooks_page,
    webhooks_create,
    webhook_page,
    webhook_active,
    webhook_delete,
    webhook_rotate,
    webhook_ping,
    webhook_resend,
]
