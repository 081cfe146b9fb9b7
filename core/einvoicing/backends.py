"""Which e-invoicing backend documents a tenant's invoices, and the context it acts through.

A tenant has at most one: the first plugin it has enabled that offers an
:class:`~recaudo.core.platform.extensions.EInvoiceBackend` for the tenant's country (a backend
with no countries serves any). Reads (lists, files) work with incomplete settings, so documents
already issued stay visible; issuing and cancelling need a complete configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

from recaudo.core.platform.context import PluginContext, context_for
from recaudo.core.platform.extensions import EInvoiceBackend
from recaudo.core.platform.host import get_host
from recaudo.core.platform.values import TenantInfo
from recaudo.tenants.models import Tenant
from recaudo.tenants.plugin_config import enabled_plugins
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info

HOOK = "recaudo_einvoice_backends"


@dataclass(frozen=True)
class Bound:
    """A tenant's backend with the context it acts through."""

    plugin: str
    backend: EInvoiceBackend
    ctx: PluginContext

    @property
    def name(self) -> str:
        return str(self.backend.name)

    def problems(self) -> list[str]:
        """Why this tenant cannot issue yet (settings missing or no longer valid)."""
        return list(self.ctx.settings_errors) + list(
            self.backend.configuration_errors(self.ctx.settings)
        )


async def tenant_of(scope: TenantScope) -> TenantInfo:
    row = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    if row is None:
        raise LookupError(f"tenant {scope.tenant_id} not found")
    return tenant_info(row)


async def find_backend(
    scope: TenantScope, info: TenantInfo | None = None
) -> tuple[str, EInvoiceBackend] | None:
    """``(plugin, backend)`` the tenant has enabled, or ``None``."""
    enabled = await enabled_plugins(scope)
    if not enabled:
        return None
    offered = [
        (plugin, item)
        for plugin, item in get_host().provided(HOOK)
        if isinstance(item, EInvoiceBackend)
    ]
    if not offered:
        return None
    country = (info or await tenant_of(scope)).country.upper()
    for plugin in enabled:  # the tenant's order of enablement
        for owner, backend in offered:
            countries = tuple(c.upper() for c in (backend.countries or ()))
            if owner == plugin and (not countries or country in countries):
                return owner, backend
    return None


async def bound_backend(scope: TenantScope) -> Bound | None:
    """The tenant's backend and its context, or ``None`` when it has none."""
    info = await tenant_of(scope)
    found = await find_backend(scope, info)
    if found is None:
        return None
    plugin, backend = found
    return Bound(plugin, backend, await context_for(info, plugin))
