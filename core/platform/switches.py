"""Switching a plugin on or off for a tenant, refusing what could not work.

Payment methods are enabled explicitly, one tenant at a time: a method is switched on only once it
is configured (bank details, provider credentials) and a pretend gateway (the sandbox) only for a
test tenant, so customers are never offered a method that cannot take their money.
"""

from __future__ import annotations

from typing import Any

from recaudo.core.payments.registry import all_methods
from recaudo.core.platform.host import get_host
from recaudo.core.platform.values import TenantInfo
from recaudo.tenants.plugin_config import plugin_settings, set_plugin
from recaudo.tenants.scoped import TenantScope


class PluginSwitchError(ValueError):
    """The plugin cannot be switched on for this tenant; the message says why."""


async def enable_plugin(
    scope: TenantScope,
    tenant: TenantInfo,
    plugin: str,
    settings: dict[str, Any] | None,
    secret_key: str,
) -> None:
    """Switch ``plugin`` on with ``settings`` (``None`` keeps the stored ones)."""
    record = get_host().records.get(plugin)
    if record is None or not record.ok:
        raise PluginSwitchError(f"plugin {plugin!r} is not installed or failed to load")
    methods = [method for owner, method in all_methods().values() if owner == plugin]
    if any(m.test_only for m in methods) and not tenant.test:
        raise PluginSwitchError(
            f"{plugin}: a pretend gateway, only for test tenants (tenants create --test)"
        )
    values = settings if settings is not None else await plugin_settings(scope, plugin, secret_key)
    errors = [e for m in methods for e in m.configuration_errors(values)]
    if errors:
        raise PluginSwitchError(f"{plugin} is not configured: " + "; ".join(errors))
    await set_plugin(scope, plugin, enabled=True, settings=settings, secret_key=secret_key)


async def disable_plugin(scope: TenantScope, plugin: str) -> None:
    """Switch ``plugin`` off; its settings are kept for when it is switched on again."""
    await set_plugin(scope, plugin, enabled=False)
