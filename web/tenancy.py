"""Request → tenant. Every tenant page lives under ``/t/<slug>/``; subdomains and custom domains
are rewritten onto that prefix before routing, so handlers have one way to find their tenant.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.types import ASGIApp, Receive, Scope, Send

from recaudo.tenants.models import Tenant
from recaudo.tenants.resolve import resolve_host, tenant_by_slug
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.urls import parse_host, portal_base_url
from recaudo.web.deps import settings_of

PREFIX_KEY = "recaudo.prefix"
HOST_KEY = "recaudo.host"  # the tenant host the request was routed by, as we know it
HEALTH_PATH = "/health"
# How stale a page may see its tenant (name, branding, policy, enabled plugins) when another
# process changed it; the process that made the change sees it at once.
PAGE_CACHE_SECONDS = 5.0
PLATFORM_PATHS = ("/t/", "/static/", "/health", "/hooks/", "/dev/", "/api/", "/schema")


class HostTenantRewrite:
    """ASGI wrapper: ``acme.base.host/x`` and ``pagos.acme.mx/x`` are served as ``/t/acme/x``.

    It also refuses (400) a Host header that is not a plain ``host[:port]`` — e.g.
    ``acme.base.host:443@evil.example`` — except on ``/health``, which load balancers call with
    whatever Host they like. Matching uses the parsed host name; links are built from
    configuration (:func:`portal_base`), so nothing else in the header reaches a URL.
    """

    def __init__(self, app: ASGIApp, base_host: str) -> None:
        self.app = app
        self.base_host = base_host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path: str = scope["path"]
            scope[PREFIX_KEY] = ""  # type: ignore[literal-required]
            scope[HOST_KEY] = ""  # type: ignore[literal-required]
            hosts = _host_headers(scope)
            parsed = parse_host(hosts[0]) if len(hosts) == 1 else None
            if hosts and parsed is None and not path.startswith(HEALTH_PATH):
                await _bad_host(scope, receive, send)
                return
            if parsed is not None and not path.startswith(PLATFORM_PATHS):
                match = await resolve_host(parsed.hostname, self.base_host)
                if match is not None:
                    scope["path"] = f"/t/{match.slug}{path}"
                    scope["raw_path"] = scope["path"].encode()
                    scope[PREFIX_KEY] = "host"  # type: ignore[literal-required]
                    scope[HOST_KEY] = match.host  # type: ignore[literal-required]
        await self.app(scope, receive, send)


def _host_headers(scope: Scope) -> list[str]:
    return [value.decode("latin-1") for name, value in scope.get("headers", []) if name == b"host"]


BAD_HOST = b"400 Bad Request: the Host header must be a host name or address, optionally :port\n"


async def _bad_host(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        close: Any = {"type": "websocket.close", "code": 1008}
        await send(close)
        return
    start: Any = {
        "type": "http.response.start",
        "status": 400,
        "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(BAD_HOST)).encode()),
        ],
    }
    await send(start)
    body: Any = {"type": "http.response.body", "body": BAD_HOST}
    await send(body)


def portal_base(request: Request, tenant: Tenant) -> str:
    """Absolute portal root for links we send: from ``RECAUDO_BASE_URL`` and the host the
    rewrite matched (subdomain or stored custom domain), never from request headers."""
    via = str(request.scope.get(HOST_KEY, ""))  # type: ignore[misc]
    return portal_base_url(str(tenant.slug), settings_of(request), via)


def tenant_prefix(request: Request, tenant: Tenant) -> str:
    """The URL prefix links should use: ``""`` on a tenant's own host, else ``/t/<slug>``."""
    return "" if request.scope.get(PREFIX_KEY) == "host" else f"/t/{tenant.slug}"  # type: ignore[misc]


async def provide_tenant(slug: FromPath[str]) -> Tenant:
    tenant = await tenant_by_slug(slug, max_age=PAGE_CACHE_SECONDS)
    if tenant is None or tenant.status != "active":
        raise NotFoundException("Portal no encontrado")
    return tenant


async def provide_scope(tenant: NamedDependency[Tenant]) -> TenantScope:
    return TenantScope(int(tenant.id))
