"""The tenant's portal front door and its theme stylesheet."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Response, Template

from recaudo.core.access.links import safe_target
from recaudo.core.messaging.branding import theme_css
from recaudo.tenants.models import Tenant
from recaudo.web.templating import render, tenant_look


@get("/", name="portal:home", operation_id="portal_home")
async def portal_home(request: Request, tenant: NamedDependency[Tenant]) -> Template:
    wanted = request.query_params.get("siguiente")
    next_page = safe_target(wanted) if isinstance(wanted, str) else ""
    return await render(request, "portal/home.html", tenant, next_page=next_page)


@get("/theme.css", name="portal:theme", operation_id="portal_theme")
async def portal_theme(tenant: NamedDependency[Tenant]) -> Response[str]:
    _, branding = await tenant_look(tenant)
    return Response(
        theme_css(branding),
        media_type="text/css",
        headers={"cache-control": "public, max-age=300"},
    )
