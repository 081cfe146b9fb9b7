"""The context a plugin's job or event handler receives: one function, swappable.

``recaudo.core.platform.context.context_for`` builds the real :class:`PluginContext`. Until it
is present this module builds an interim one with the same core attributes (``tenant``,
``plugin``, ``settings``, ``db``, ``log``), so workers code against the agreed call
``await plugin_context(tenant_id, plugin)`` either way. Tests may replace :data:`factory`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from recaudo.core.platform.values import TenantInfo
from recaudo.tenants.scoped import TenantScope

log = logging.getLogger("recaudo.plugins")


@dataclass(frozen=True)
class InterimContext:
    """What a plugin handler gets while ``core/platform/context.py`` is not there."""

    tenant: TenantInfo
    plugin: str
    settings: Mapping[str, Any]
    db: TenantScope
    log: logging.LoggerAdapter[logging.Logger]


async def _interim(tenant_id: int, plugin: str) -> InterimContext:
    from recaudo.core.config import active
    from recaudo.tenants.models import Tenant
    from recaudo.tenants.plugin_config import plugin_settings
    from recaudo.tenants.service import tenant_info

    tenant = await Tenant.objects().where(Tenant.id == tenant_id).first()
    if tenant is None:
        raise LookupError(f"tenant {tenant_id} does not exist")
    scope = TenantScope(tenant_id)
    try:
        secret_key = active().secret_key
    except RuntimeError:  # a worker driven by a test without a started app
        secret_key = ""
    settings = await plugin_settings(scope, plugin, secret_key) if secret_key else {}
    adapter = logging.LoggerAdapter(log, {"tenant": tenant.slug, "plugin": plugin})
    return InterimContext(tenant_info(tenant), plugin, settings, scope, adapter)


async def _default(tenant_id: int, plugin: str) -> Any:
    try:
        from recaudo.core.platform.context import (  # type: ignore[import-not-found,unused-ignore]
            context_for,
        )
    except ImportError:
        return await _interim(tenant_id, plugin)
    return await context_for(tenant_id, plugin)


#: ``await factory(tenant_id, plugin)`` -> the context handed to a plugin's handler.
factory: Callable[[int, str], Awaitable[Any]] = _default


async def plugin_context(tenant_id: int, plugin: str) -> Any:
    """The context for ``plugin`` acting for tenant ``tenant_id``."""
    return await factory(tenant_id, plugin)
