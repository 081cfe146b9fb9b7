"""Owner settings page for REST API keys: ``/staff/ajustes/api``.

Owners only (``owner_staff``): list the keys (name, scope, prefix, last use, revoked), create one
(its full value is shown once, on the answer to the POST, and never again) and revoke one.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.access.apikeys import (
    ApiKeyError,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from recaudo.core.tables import API_KEY_SCOPES, StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.backoffice.common import form_data, staff_base, staff_page

TEMPLATE = "staff/apikeys.html"


def _actor(user: StaffUser) -> str:
    return f"staff:{user.id}"


async def _page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    owner: StaffUser,
    status_code: int = 200,
    **context: Any,
) -> Template:
    return await staff_page(
        request,
        TEMPLATE,
        tenant,
        owner,
        status_code=status_code,
        keys=await list_api_keys(scope),
        scopes=API_KEY_SCOPES,
        **context,
    )


@get("/ajustes/api", name="staff:apikeys", operation_id="staff_apikeys")
async def apikeys_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template:
    return await _page(request, tenant, tenant_scope, owner_staff)


@post("/ajustes/api", name="staff:apikeys_create", operation_id="staff_apikeys_create")
async def apikeys_create(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template:
    form = await form_data(request)
    name = form.get("name", "")
    key_scope = form.get("scope", "")
    try:
        issued = await create_api_key(
            tenant_scope, key_scope=key_scope, name=name, actor=_actor(owner_staff)
        )
    except ApiKeyError as exc:
        field = "scope" if str(exc).startswith("scope") else "name"
        return await _page(
            request,
            tenant,
            tenant_scope,
            owner_staff,
            status_code=400,
            error_field=field,
            form={"name": name, "scope": key_scope},
        )
    return await _page(request, tenant, tenant_scope, owner_staff, status_code=201, new_key=issued)


@post(
    "/ajustes/api/{key_id:int}/revocar",
    name="staff:apikeys_revoke",
    operation_id="staff_apikeys_revoke",
)
async def apikeys_revoke(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
    key_id: FromPath[int],
) -> Redirect:
    try:
        await revoke_api_key(tenant_scope, key_id, _actor(owner_staff))
    except LookupError:
        raise NotFoundException("Esa clave de API no existe.") from None
    return Redirect(f"{staff_base(request)}/ajustes/api", status_code=303)


ROUTES: list[Any] = [apikeys_page, apikeys_create, apikeys_revoke]
