"""The platform's own front page (the base host, not a tenant's portal)."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from recaudo.web.templating import render


@get("/", name="platform:home", operation_id="platform_home")
async def platform_home(request: Request) -> Template:
    # Tenants are not listed: which businesses use this installation is theirs to tell.
    return await render(request, "platform/home.html")
