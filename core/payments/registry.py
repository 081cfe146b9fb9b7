"""Which payment methods exist, which plugin offers each, and which a tenant may use.

Every call into a method goes through :mod:`recaudo.core.platform.guard`: a method whose plugin
raises or hangs is left out of the pay page (or shows no fees / options), the others stay.
"""

from __future__ import annotations

from typing import Any

from recaudo.core.common.money import Money
from recaudo.core.payments.method import Fee, PaymentMethod
from recaudo.core.platform import guard
from recaudo.core.platform.context import PluginContext, context_for
from recaudo.core.platform.host import get_host
from recaudo.core.platform.values import TenantInfo
from recaudo.tenants.plugin_config import enabled_plugins
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
        and guard.call(
            plugin,
            "available_for",
            method.available_for,
            tenant,
            currency,
            fallback=False,
            tenant_id=tenant.id,
        )
    ]


def owner_of(method: PaymentMethod) -> str:
    """The plugin that offers ``method`` (its own name when no installed plugin does)."""
    found = all_methods().get(method.name)
    return found[0] if found is not None else method.name


def method_fees(
    plugin: str, method: PaymentMethod, amount: Money, settings: dict[str, Any], tenant_id: int
) -> list[Fee]:
    """The fees ``method`` adds to ``amount``; none shown when the plugin fails (recorded)."""
    none: list[Fee] = []
    return guard.call(
        plugin, "fees", method.fees, amount, settings, fallback=none, tenant_id=tenant_id
    )


def method_options(plugin: str, method: PaymentMethod, tenant: TenantInfo) -> list[tuple[str, str]]:
    """``(code, label)`` choices inside ``method`` (banks, stores); none when the plugin fails."""
    none: tuple[tuple[str, str], ...] = ()
    options = guard.call(
        plugin, "options_for", method.options_for, tenant, fallback=none, tenant_id=tenant.id
    )
    return list(options)


def configuration_errors(method: PaymentMethod, ctx: PluginContext) -> list[str]:
    """What keeps ``method`` from being offered: stored settings that no longer validate, then
    what the method itself says is missing."""
    if ctx.settings_errors:
        return list(ctx.settings_errors)
    errors: list[str] = guard.call(
        ctx.plugin,
        "configuration_errors",
        method.configuration_errors,
        ctx.settings,
        fallback=["the plugin failed checking its settings"],
        tenant_id=ctx.tenant.id,
    )
    return errors


async def usable_methods(
    scope: TenantScope, tenant: TenantInfo, currency: str, language: str | None = None
) -> list[tuple[str, PaymentMethod, PluginContext]]:
    """The methods a customer may be offered now: enabled, allowed and fully configured.

    Returns ``(plugin, method, ctx)`` with the plugin's context (its validated settings).
    """
    enabled = await enabled_plugins(scope)
    out = []
    contexts: dict[str, PluginContext] = {}
    for plugin, method in methods_for_tenant(tenant, enabled, currency):
        if plugin not in contexts:
            contexts[plugin] = await context_for(tenant, plugin, language)
        ctx = contexts[plugin]
        if not configuration_errors(method, ctx):
            out.append((plugin, method, ctx))
    return out
