"""Which payment methods exist, which plugin offers each, and which a tenant may use."""

from __future__ import annotations

from recaudo.core.payments.method import PaymentMethod
from recaudo.core.plugin_api import TenantInfo
from recaudo.core.plugin_host import get_host


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
    """Methods of enabled plugins that accept the tenant's country and the currency, in order."""
    return [
        (plugin, method)
        for plugin, method in all_methods().values()
        if plugin in enabled and method.available_for(tenant, currency)
    ]
