"""Request → tenant. Every tenant page lives under ``/t/<slug>/``; subdomains and custom domains
are rewritten onto that prefix before routing, so handlers have one way to find their tenant.
"""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.types import ASGIApp, Receive, Scope, Send

from recaudo.tenants.models import Tenant
from recaudo.tenants.resolve import slug_from_host, tenant_by_host, tenant_by_slug
from recaudo.tenants.scoped import TenantScope

PREFIX_KEY = "recaudo.prefix"
# How stale a page may see its tenant (name, branding, policy, enabled plugins) when another
# process changed it; the process that made the change sees it at once.
PAGE_CACHE_SECONDS = 5.0
PLATFORM_PATHS = ("/t/", "/static/", "/health", "/hooks/", "/dev/", "/api/", "/schema")


class HostTenantRewrite:
    """ASGI wrapper: ``acme.base.host/x`` and ``pagos.acme.mx/x`` are served as ``/t/acme/x``."""

    def __init__(self, app: ASGIApp, base_host: str) -> None:
        self.app = app
        self.base_host = base_host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path: str = scope["path"]
            scope[PREFIX_KEY] = ""  # type: ignore[literal-required]
            if not path.startswith(PLATFORM_PATHS):
                host = _host_header(scope)
                slug = None
                if host:
                    slug = slug_from_host(host, self.base_host)
                    if slug is None and host.split(":")[0] not in (
                        self.base_host,
                        "127.0.0.1",
                        "localhost",
                    ):
                        tenant = await tenant_by_host(host, self.base_host)
                        slug = tenant.slug if tenant else None
                if slug:
                    scope["path"] = f"/t/{slug}{path}"
                    scope["raw_path"] = scope["path"].encode()
                    scope[PREFIX_KEY] = "host"  # type: ignore[literal-required]
        await self.app(scope, receive, send)


def _host_header(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"host":
            return value.decode("latin-1").lower()
    return ""


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
