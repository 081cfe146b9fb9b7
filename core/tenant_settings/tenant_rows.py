"""Writing a tenant's own row (branding, policy) and making every page of this process see it.

The tenant row is read through a short-lived cache (:mod:`recaudo.tenants.resolve`); after a
change it is forgotten so the next request of this process reads the new values at once (other
processes within ``PAGE_CACHE_SECONDS``).
"""

from __future__ import annotations

from typing import Any

from recaudo.core.common.jsonfield import loads
from recaudo.tenants.models import Tenant
from recaudo.tenants.resolve import forget_tenant


async def fresh_tenant(tenant_id: int) -> Tenant:
    row = await Tenant.objects().where(Tenant.id == tenant_id).first()
    if row is None:  # the tenant was deleted while the page was open
        raise LookupError("tenant not found")
    return row


def json_dict(raw: Any) -> dict[str, Any]:
    value = loads(raw, {}) or {}
    return dict(value) if isinstance(value, dict) else {}


async def write_tenant_json(tenant_id: int, column: str, value: dict[str, Any]) -> Tenant:
    """Store ``value`` in the tenant's ``branding`` or ``policy`` column and drop cached copies."""
    if column not in ("branding", "policy"):
        raise ValueError(column)
    target = Tenant.branding if column == "branding" else Tenant.policy
    await Tenant.update({target: value}).where(Tenant.id == tenant_id)
    tenant = await fresh_tenant(tenant_id)
    forget_tenant(str(tenant.slug))
    return tenant
