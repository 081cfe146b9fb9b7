"""The 404 page: a tenant's page that does not exist still looks like the tenant's portal.

Litestar calls exception handlers synchronously, but the page needs the tenant row and its
branding (database reads). :class:`NotFoundPage` is the handler's response; it does the reads
when it is sent, in the visitor's language (Spanish unless they chose otherwise), and falls back
to a plain Spanish page if anything goes wrong on the way.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request
from litestar.response import Response
from litestar.types import Receive, Scope, Send
from markupsafe import escape

from recaudo.tenants.resolve import tenant_by_slug
from recaudo.web.templating import page_context
from recaudo.web.tenancy import PAGE_CACHE_SECONDS

log = logging.getLogger(__name__)
TENANT_PATH = re.compile(r"^/t/([^/]+)")
GENERIC = {"Not Found", "No encontrado", ""}
FALLBACK = (
    '<!doctype html><html lang="es"><meta charset="utf-8"><title>Página no encontrada</title>'
    '<link rel="stylesheet" href="/static/css/app.css"><main class="container">'
    "<h1>Página no encontrada</h1><p>{0}</p></main></html>"
)


async def render_not_found(request: Request, detail: str) -> str:
    match = TENANT_PATH.match(str(request.scope.get("path", "")))
    tenant = await tenant_by_slug(match.group(1), max_age=PAGE_CACHE_SECONDS) if match else None
    context = await page_context(request, tenant)
    context["detail"] = "" if detail in GENERIC else detail
    template = "portal/not_found.html" if tenant is not None else "platform/not_found.html"
    engine = request.app.template_engine
    if engine is None:
        raise RuntimeError("the app has no template engine")
    return str(engine.get_template(template).render(**context))


class NotFoundPage(Response[str]):
    """A 404 HTML page rendered when sent (see the module docstring)."""

    def __init__(self, detail: str) -> None:
        super().__init__("", status_code=404, media_type="text/html")
        self.detail = detail

    def to_asgi_response(self, app: Any, request: Request, **kwargs: Any) -> Any:
        async def send_page(scope: Scope, receive: Receive, send: Send) -> None:
            try:
                html = await render_not_found(request, self.detail)
            except Exception:
                log.exception("could not render the 404 page of %s", request.url.path)
                html = FALLBACK.format(escape(self.detail if self.detail not in GENERIC else ""))
            page = Response(html, status_code=404, media_type="text/html")
            await page.to_asgi_response(app, request, **kwargs)(scope, receive, send)

        return send_page
