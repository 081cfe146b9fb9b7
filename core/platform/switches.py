"""Switching a plugin on or off for a tenant and configuring it, refusing what could not work.

Payment methods are enabled explicitly, one tenant at a time: a method is switched on only once it
is configured (bank details, provider credentials) and a pretend gateway (the sandbox) only for a
test tenant, so customers are never offered a method that cannot take their money.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recaudo.core.payments.registry import all_methods
from recaudo.core.platform.extensions import NotificationChannel
from recaudo.core.platform.host import get_host
from recaudo.core.platform.plugin_settings import declared_schema, settings_for, validate
from recaudo.core.platform.values import TenantInfo
from recaudo.tenants.plugin_config import (
    SettingsError,
    clean_settings,
    enabled_plugins,
    parse_changes,
    plugin_settings,
    schema_of,
    set_plugin,
    stored_settings,
)
from recaudo.tenants.scoped import TenantScope


class PluginSwitchError(ValueError):
    """The plugin cannot be switched on for this tenant; the message says why."""


class UnknownPlugin(PluginSwitchError):
    """No installed plugin (nor stored setting) has this name."""


@dataclass(frozen=True)
class PluginStatus:
    """One plugin as a tenant has it. ``settings`` shows secrets only as ``set``/``not set``."""

    name: str
    enabled: bool
    missing: tuple[str, ...] = ()
    settings: dict[str, str] = field(default_factory=dict)
    error: str = ""  # the plugin failed to load, or is no longer installed

    @property
    def configured(self) -> bool:
        return not self.missing and not self.error


def _require_installed(plugin: str) -> None:
    record = get_host().records.get(plugin)
    if record is None:
        raise UnknownPlugin(f"no plugin named {plugin!r} is installed (see 'recaudo plugins list')")
    if not record.ok:
        raise PluginSwitchError(f"plugin {plugin!r} failed to load: {record.error}")


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
    if settings is not None:
        values, invalid = validate(declared_schema(plugin), settings)
    else:
        values, invalid = await settings_for(scope, plugin, secret_key)
    errors = [*invalid, *(e for m in methods for e in m.configuration_errors(values))]
    errors += channel_errors(plugin, values)
    if errors:
        raise PluginSwitchError(f"{plugin} is not configured: " + "; ".join(errors))
    await set_plugin(scope, plugin, enabled=True, settings=settings, secret_key=secret_key)


async def disable_plugin(scope: TenantScope, plugin: str) -> None:
    """Switch ``plugin`` off; its settings are kept for when it is switched on again."""
    await set_plugin(scope, plugin, enabled=False)


async def configure_plugin(
    scope: TenantScope, plugin: str, changes: dict[str, str], secret_key: str
) -> list[str]:
    """Change some of ``plugin``'s settings for a tenant, keeping the others and its switch.

    ``changes`` is text (``KEY=VALUE`` from the command line), checked against the schema the
    plugin declares: an unknown key, a value of the wrong type or a required setting left without
    a value raises :class:`SettingsError` naming the key, and nothing is stored. An enabled payment
    method must stay configured. Returns the keys changed.
    """
    _require_installed(plugin)
    schema = schema_of(plugin)
    if schema is None:
        raise SettingsError(f"{plugin}: this plugin has no settings")
    parsed = parse_changes(schema, changes)
    merged = {**await plugin_settings(scope, plugin, secret_key), **parsed}
    merged = {k: v for k, v in merged.items() if v is not None}
    clean_settings(schema, merged)  # a required setting without a value: refused before writing
    enabled = plugin in await enabled_plugins(scope)
    if enabled:
        methods = [m for owner, m in all_methods().values() if owner == plugin]
        errors = [e for m in methods for e in m.configuration_errors(merged)]
        errors += channel_errors(plugin, merged)
        if errors:
            raise SettingsError(f"{plugin} would no longer be configured: " + "; ".join(errors))
    await set_plugin(scope, plugin, enabled=enabled, settings=merged, secret_key=secret_key)
    return sorted(parsed)


async def plugin_statuses(scope: TenantScope, secret_key: str) -> list[PluginStatus]:
    """Every installed plugin (and any stored for the tenant but no longer installed), by name:
    switched on or off, what it still needs, its settings with secrets shown only as set."""
    host = get_host()
    enabled = set(await enabled_plugins(scope))
    methods = all_methods().values()
    out: list[PluginStatus] = []
    for name in sorted(set(host.records) | enabled):
        record = host.records.get(name)
        if record is None or not record.ok:
            error = record.error if record else "not installed"
            out.append(PluginStatus(name, name in enabled, error=error))
            continue
        schema = schema_of(name)
        stored = await stored_settings(scope, name) or {}
        shown: dict[str, str] = {}
        for f in schema.fields if schema else ():
            value = stored.get(f.name)
            if f.secret:
                shown[f.name] = "set" if value not in (None, "") else "not set"
            else:
                shown[f.name] = str(value) if value not in (None, "") else _unset(f.default)
        try:
            values = await plugin_settings(scope, name, secret_key)
        except SettingsError as exc:
            out.append(PluginStatus(name, name in enabled, settings=shown, error=str(exc)))
            continue
        missing = [
            f.name
            for f in (schema.fields if schema else ())
            if f.required and values.get(f.name, f.default) in (None, "")
        ]
        if not missing:
            missing = [
                e for owner, m in methods if owner == name for e in m.configuration_errors(values)
            ]
            missing += channel_errors(name, values)
        out.append(PluginStatus(name, name in enabled, tuple(missing), shown))
    return out


def channel_errors(plugin: str, values: dict[str, Any]) -> list[str]:
    """What ``plugin``'s notification channels still need (WhatsApp without its token in
    production): such a channel could only leave messages failing, so it is not switched on."""
    channels = [
        channel
        for owner, channel in get_host().provided("recaudo_notification_channels")
        if owner == plugin and isinstance(channel, NotificationChannel)
    ]
    return [error for channel in channels for error in channel.configuration_errors(values)]


def _unset(default: Any) -> str:
    return "not set" if default in (None, "") else f"{default} (default)"


async def known_plugin(scope: TenantScope, plugin: str) -> None:
    """Refuse a name that is neither installed nor stored for the tenant (typos, mostly)."""
    if plugin not in get_host().records and await stored_settings(scope, plugin) is None:
        raise UnknownPlugin(f"no plugin named {plugin!r} is installed (see 'recaudo plugins list')")
