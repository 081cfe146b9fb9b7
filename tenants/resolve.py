"""Find a request's tenant: ``/t/<slug>/`` prefix, ``<slug>.<base host>`` or a custom domain.

The path prefix works everywhere (tests, the demo, a single-host install); subdomains and custom
domains are what a production deployment uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from recaudo.core.common.local_cache import LocalCache
from recaudo.tenants.models import Tenant, TenantDomain

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
RESERVED_SLUGS = frozenset({"www", "api", "admin", "static", "hooks", "health", "t", "dev"})


def valid_slug(slug: str) -> bool:
    return bool(SLUG_RE.match(slug)) and slug not in RESERVED_SLUGS


def slug_from_host(host: str, base_host: str) -> str | None:
    """``acme.recaudo.example`` → ``acme`` when the base host is ``recaudo.example``."""
    host = host.split(":", 1)[0].lower().rstrip(".")
    suffix = "." + base_host.lower()
    if host.endswith(suffix):
        candidate = host[: -len(suffix)]
        if "." not in candidate and valid_slug(candidate):
            return candidate
    return None


# Portal pages ask for their tenant on every request; a few seconds of reuse saves a query each.
_by_slug: LocalCache[str, Tenant] = LocalCache("tenants by slug", max_entries=1_000)


async def tenant_by_slug(slug: str, max_age: float = 0) -> Tenant | None:
    """The tenant, possibly as this process read it up to ``max_age`` seconds ago.

    Callers that decide something lasting (webhooks, the CLI) keep the default 0: a fresh read.
    The returned row may be shared with other requests: read it, never modify it in place.
    Unknown slugs are never cached, so a new tenant is served at once.
    """
    if not valid_slug(slug):
        return None
    if max_age > 0:
        cached = _by_slug.get(slug, max_age)
        if cached is not None:
            return cached
    tenant = await Tenant.objects().where(Tenant.slug == slug).first()
    if tenant is not None:
        _by_slug.put(slug, tenant)
    return tenant


LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


@dataclass(frozen=True)
class HostMatch:
    """A tenant found from a request's host, and that host as we know it (not as it was sent)."""

    slug: str
    host: str  # ``<slug>.<base host>`` or the domain as stored in ``tenant_domain``


async def resolve_host(hostname: str, base_host: str) -> HostMatch | None:
    """The tenant served at ``hostname`` (already validated, without port), if any."""
    hostname = hostname.lower().rstrip(".")
    base = base_host.lower()
    slug = slug_from_host(hostname, base)
    if slug:
        return HostMatch(slug, f"{slug}.{base}")
    if not hostname or hostname == base or hostname in LOCAL_HOSTS:
        return None
    row = (
        await TenantDomain.select(TenantDomain.domain, TenantDomain.tenant.slug.as_alias("slug"))
        .where(TenantDomain.domain == hostname)
        .first()
    )
    if row is None:
        return None
    return HostMatch(str(row["slug"]), str(row["domain"]))


def forget_tenant(slug: str) -> None:
    """Drop this process's cached row of a tenant (after a settings change): the next request
    reads it afresh, so the change shows at once here and within a few seconds elsewhere."""
    _by_slug.forget(slug)
