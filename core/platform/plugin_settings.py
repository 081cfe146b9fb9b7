"""A plugin's per-tenant settings as the plugin sees them: decrypted, validated, defaults applied.

Writes are validated strictly (``tenants.plugin_config.set_plugin`` refuses bad values); reads are
forgiving: a stored value that no longer validates (the plugin's schema changed, the secret key
was rotated) is left out and reported as a configuration error for staff, never raised into a page
or a job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recaudo.core.common.jsonfield import loads
from recaudo.core.platform.host import get_host
from recaudo.core.platform.values import PluginSettingsSchema, SettingField
from recaudo.tenants.models import PluginSetting
from recaudo.tenants.plugin_config import SettingsError, decrypt
from recaudo.tenants.scoped import TenantScope

_PROVIDER_HOOKS = (
    "recaudo_payment_methods",
    "recaudo_notification_channels",
    "recaudo_einvoice_backends",
)


def declared_schema(plugin: str) -> PluginSettingsSchema | None:
    """The schema ``plugin`` declares: its ``recaudo_settings_schema`` answer, else the
    ``settings_schema`` fields of the methods, channels and backends it offers."""
    host = get_host()
    for _, schema in host.provided("recaudo_settings_schema"):
        if isinstance(schema, PluginSettingsSchema) and schema.plugin == plugin:
            return schema
    fields: dict[str, SettingField] = {}
    for hook in _PROVIDER_HOOKS:
        for owner, item in host.provided(hook):
            if owner == plugin:
                for f in getattr(item, "settings_schema", ()) or ():
                    fields.setdefault(f.name, f)
    return PluginSettingsSchema(plugin, tuple(fields.values())) if fields else None


def coerce(f: SettingField, raw: Any) -> Any:
    """``raw`` as ``f``'s type (``"150"`` → 150 for an integer); ``ValueError`` says why not."""
    if f.type == "integer":
        if isinstance(raw, bool):
            raise ValueError("must be a whole number")
        try:
            return int(str(raw).strip())
        except (TypeError, ValueError):
            raise ValueError("must be a whole number") from None
    if f.type == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "on", "yes", "si", "sí"):
            return True
        if text in ("0", "false", "off", "no", ""):
            return False
        raise ValueError("must be true or false")
    if f.type == "choice":
        if str(raw) not in f.choices:
            raise ValueError(f"must be one of {', '.join(f.choices)}")
        return str(raw)
    return str(raw)


def validate(
    schema: PluginSettingsSchema | None, values: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """``(settings, errors)``: known fields coerced, defaults applied, unknown keys dropped.

    A value that does not validate is left out (its default applies) and named in ``errors``;
    without a schema there is nothing to check against and the values are kept as stored.
    """
    if schema is None:
        return dict(values), []
    out: dict[str, Any] = {}
    errors: list[str] = []
    for f in schema.fields:
        raw = values.get(f.name)
        if raw is not None and raw != "":
            try:
                out[f.name] = coerce(f, raw)
                continue
            except ValueError as exc:
                errors.append(f"{f.label}: {exc}")
        if f.default is not None:
            out[f.name] = f.default
    return out, errors


async def stored_values(
    scope: TenantScope, plugin: str, secret_key: str
) -> tuple[dict[str, Any], list[str]]:
    """The raw stored values, secrets decrypted; one that cannot be decrypted is reported."""
    row = (
        await scope.select(PluginSetting, PluginSetting.settings)
        .where(PluginSetting.plugin == plugin)
        .first()
    )
    values: dict[str, Any] = {}
    errors: list[str] = []
    for key, value in (loads(row["settings"], {}) if row else {}).items() or ():
        try:
            values[key] = decrypt(value, secret_key) if isinstance(value, str) else value
        except SettingsError as exc:
            errors.append(f"{key}: {exc}")
    return values, errors


async def settings_for(
    scope: TenantScope, plugin: str, secret_key: str
) -> tuple[dict[str, Any], list[str]]:
    """What ``ctx.settings`` holds for ``plugin`` in this tenant, and what does not validate."""
    values, errors = await stored_values(scope, plugin, secret_key)
    settings, invalid = validate(declared_schema(plugin), values)
    return settings, errors + invalid
