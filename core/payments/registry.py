"""Which payment methods exist, which plugin offers each, and which a tenant may use."""

from __future__ import annotations

from typing import Any

from recaudo.core.payments.method import PaymentMethod
from recaudo.core.platform.host import get_host
from recaudo.core.platform.values import TenantInfo
from recaudo.tenants.plugin_config import enabled_plugins, plugin_settings
from recaudo.tenants.scoped import TenantScope


def all_methods() -> dict[str, tuple[str, PaymentMethod]]:
    """``{method name: (plugin name, method)}`` for every installed payment method."""
    return {
        method.name: (plugin, method)
        for plugin, method in get_host().provided("recaudo_payment_methods")
        if isinstance(method, PaymentMethod)
    }


def method_for_plugin(plugin: str) -> PaymentMethod | None:
    """The payment method a plugin offers under its own name (webhooks are addressed by plugin)."""
    for name, (owner, method) in all_methods().items():
        if owner == plugin and name == plugin:
            return method
    for owner, method in all_methods().values():
        if owner == plugin:
            return method
    return None


def methods_for_tenant(
    tenant: TenantInfo, enabled: list[str], currency: str
) -> list[tuple[str, PaymentMethod]]:
    """Methods of enabled plugins that accept the tenant's country and the currency, in order.

    Test-only methods (the sandbox) are left out unless the tenant is a test tenant.
    """
    return [
        (plugin, method)
        for plugin, method in all_methods().values()
        if plugin in enabled
        and (tenant.test or not method.test_only)
        and method.available_for(tenant, currency)
    ]


async def usable_methods(
    scope: TenantScope, tenant: TenantInfo, currency: str, secret_key: str
) -> list[tuple[str, PaymentMethod, dict[str, Any]]]:
    """The methods a customer may be offered now: enabled, allowed and fully configured.

    Returns ``(plugin, method, settings)`` with the plugin's settings (secrets decrypted).
    """
    enabled = await enabled_plugins(scope)
    out = []
    for plugin, method in methods_for_tenant(tenant, enabled, currency):
        settings = await plugin_settings(scope, plugin, secret_key)
        if not method.configuration_errors(settings):
            out.append((plugin, method, settings))
    return out
