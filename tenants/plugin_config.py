"""Per-tenant plugin switches and settings; secret fields are encrypted at rest.

The encryption key is derived from ``RECAUDO_SECRET_KEY`` (HKDF-SHA256 → Fernet), so a database
dump alone does not reveal a tenant's provider credentials.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from recaudo.core.common.jsonfield import loads
from recaudo.core.common.local_cache import LocalCache
from recaudo.core.platform.values import PluginSettingsSchema
from recaudo.tenants.models import PluginSetting
from recaudo.tenants.scoped import TenantScope

_PREFIX = "enc:"
_enabled: LocalCache[int, tuple[str, ...]] = LocalCache("enabled plugins", max_entries=1_000)


class SettingsError(ValueError):
    """A plugin setting is missing or of the wrong type; the message names the field."""


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"recaudo", info=b"plugin-settings"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(value: str, secret_key: str) -> str:
    return _PREFIX + _fernet(secret_key).encrypt(value.encode()).decode()


def decrypt(value: str, secret_key: str) -> str:
    if not value.startswith(_PREFIX):
        return value
    try:
        return _fernet(secret_key).decrypt(value[len(_PREFIX) :].encode()).decode()
    except InvalidToken:
        raise SettingsError(
            "a secret setting cannot be decrypted: was RECAUDO_SECRET_KEY changed?"
        ) from None


def clean_settings(schema: PluginSettingsSchema | None, values: dict[str, Any]) -> dict[str, Any]:
    """Validate values against the plugin's schema (unknown keys are dropped, defaults apply);
    a required setting without a value or a value of the wrong type raises :class:`SettingsError`.
    Types are read by :func:`recaudo.core.platform.plugin_settings.coerce`, the one reader."""
    from recaudo.core.platform.plugin_settings import coerce

    if schema is None:
        return {}
    out: dict[str, Any] = {}
    for f in schema.fields:
        raw = values.get(f.name, f.default)
        if raw in (None, ""):
            if f.required:
                raise SettingsError(f"{schema.plugin}.{f.name}: required")
            continue
        try:
            out[f.name] = coerce(f, raw)
        except ValueError as exc:
            raise SettingsError(f"{schema.plugin}.{f.name}: {exc}") from None
    return out


def parse_changes(schema: PluginSettingsSchema, changes: dict[str, str]) -> dict[str, Any]:
    """Typed values for ``KEY=VALUE`` text: an unknown key or a value of the wrong type is
    refused with a message naming the key. An empty value clears the setting (its default
    applies again)."""
    from recaudo.core.platform.plugin_settings import coerce

    fields = {f.name: f for f in schema.fields}
    out: dict[str, Any] = {}
    for key, text in changes.items():
        f = fields.get(key)
        where = f"{schema.plugin}.{key}"
        if f is None:
            raise SettingsError(f"{where}: unknown setting (known: {', '.join(fields) or 'none'})")
        if text == "":
            out[key] = None
            continue
        try:
            out[key] = coerce(f, text)
        except ValueError as exc:
            raise SettingsError(f"{where}: {exc}, not {text!r}") from None
    return out


def schema_of(plugin: str) -> PluginSettingsSchema | None:
    """The settings schema the installed plugin declares for itself, if any."""
    from recaudo.core.platform.plugin_settings import declared_schema

    return declared_schema(plugin)


async def set_plugin(
    scope: TenantScope,
    plugin: str,
    *,
    enabled: bool,
    settings: dict[str, Any] | None = None,
    schema: PluginSettingsSchema | None = None,
    secret_key: str = "",
) -> None:
    """Switch a plugin on or off for a tenant and store its (validated) settings.

    The schema defaults to the one the plugin declares, so its secret fields are always
    encrypted (with ``secret_key``) and its values always validated.
    """
    stored: dict[str, Any] = {}
    if settings is not None:
        schema = schema or schema_of(plugin)
        if schema and any(f.secret for f in schema.fields) and not secret_key:
            raise SettingsError(f"{plugin}: a secret key is needed to store secret settings")
        cleaned = clean_settings(schema, settings) if schema else dict(settings)
        secrets = {f.name for f in schema.fields if f.secret} if schema else set()
        for key, value in cleaned.items():
            stored[key] = encrypt(str(value), secret_key) if key in secrets else value
    row = await scope.objects(PluginSetting).where(PluginSetting.plugin == plugin).first()
    if row is None:
        await scope.add(PluginSetting(plugin=plugin, enabled=enabled, settings=stored))
    else:
        row.enabled = enabled
        if settings is not None:
            row.settings = stored
        await scope.save(row)
    # After the write, so a page read meanwhile cannot put the old answer back.
    _enabled.forget(scope.tenant_id)


async def enabled_plugins(scope: TenantScope, max_age: float = 0) -> list[str]:
    """The plugins switched on for this tenant.

    ``max_age`` > 0 accepts this process's answer from up to that many seconds ago; pages use it
    for branding. Taking payments, webhooks and jobs keep the default: a fresh read.
    """
    if max_age > 0:
        cached = _enabled.get(scope.tenant_id, max_age)
        if cached is not None:
            return list(cached)
    rows = await scope.select(PluginSetting, PluginSetting.plugin).where(
        PluginSetting.enabled == True  # noqa: E712 - Piccolo needs the comparison
    )
    plugins = tuple(r["plugin"] for r in rows)
    _enabled.put(scope.tenant_id, plugins)
    return list(plugins)


async def stored_settings(scope: TenantScope, plugin: str) -> dict[str, Any] | None:
    """A plugin's settings row as stored (secrets still encrypted), or ``None`` without a row.

    For showing whether a secret is set without decrypting it.
    """
    row = (
        await scope.select(PluginSetting, PluginSetting.settings)
        .where(PluginSetting.plugin == plugin)
        .first()
    )
    return None if row is None else dict(loads(row["settings"], {}) or {})


async def plugin_settings(scope: TenantScope, plugin: str, secret_key: str) -> dict[str, Any]:
    """A plugin's settings for this tenant, secrets decrypted (pass to the plugin, never log)."""
    row = (
        await scope.select(PluginSetting, PluginSetting.settings)
        .where(PluginSetting.plugin == plugin)
        .first()
    )
    if row is None:
        return {}
    values = loads(row["settings"], {})
    return {
        k: decrypt(v, secret_key) if isinstance(v, str) else v for k, v in (values or {}).items()
    }
