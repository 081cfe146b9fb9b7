"""Ajustes → Medios de pago: each installed payment plugin, switched on or off, and its settings
form rendered from the schema the plugin declares.

Secret fields are write-only: the form shows whether one is set, never its value; a blank secret
keeps the stored one. Switching on goes through :func:`recaudo.core.platform.switches.enable_plugin`
(the CLI's rules: a method only once configured, a pretend gateway only for a test tenant).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recaudo.core.common.audit import record
from recaudo.core.payments.method import PaymentMethod
from recaudo.core.payments.registry import all_methods
from recaudo.core.platform.host import get_host
from recaudo.core.platform.plugin_settings import coerce
from recaudo.core.platform.switches import PluginSwitchError, disable_plugin, enable_plugin
from recaudo.core.platform.values import SettingField, TenantInfo
from recaudo.core.tenant_settings.errors import FormErrors, SettingNotFound
from recaudo.tenants.plugin_config import (
    SettingsError,
    enabled_plugins,
    plugin_settings,
    schema_of,
    set_plugin,
    stored_settings,
)
from recaudo.tenants.scoped import TenantScope


@dataclass(frozen=True)
class FieldView:
    """One settings field as the form shows it; a secret's ``value`` is always empty."""

    field: SettingField
    value: str = ""
    is_set: bool = False

    @property
    def name(self) -> str:
        return self.field.name


@dataclass(frozen=True)
class PaymentPlugin:
    name: str
    methods: tuple[PaymentMethod, ...]
    enabled: bool
    test_only: bool
    fields: tuple[FieldView, ...] = ()
    problems: tuple[str, ...] = ()  # what it still needs before it can be switched on
    error: str = ""

    @property
    def label(self) -> str:
        return self.methods[0].label if self.methods else self.name


def _payment_plugins() -> dict[str, list[PaymentMethod]]:
    out: dict[str, list[PaymentMethod]] = {}
    for owner, method in all_methods().values():
        record_ = get_host().records.get(owner)
        if record_ is not None and record_.ok:
            out.setdefault(owner, []).append(method)
    return out


def offered_to(tenant: TenantInfo, methods: list[PaymentMethod]) -> bool:
    """Test-only methods (the sandbox gateway) exist only for test tenants."""
    return tenant.test or not any(m.test_only for m in methods)


async def payment_plugins(
    scope: TenantScope, tenant: TenantInfo, secret_key: str
) -> list[PaymentPlugin]:
    enabled = set(await enabled_plugins(scope))
    out: list[PaymentPlugin] = []
    for name, methods in sorted(_payment_plugins().items()):
        if not offered_to(tenant, methods):
            continue
        schema = schema_of(name)
        stored = await stored_settings(scope, name) or {}
        error = ""
        try:
            values = await plugin_settings(scope, name, secret_key)
        except SettingsError:
            values, error = {}, "Un dato secreto no se puede leer: vuelve a escribirlo."
        views = []
        for f in schema.fields if schema else ():
            raw = stored.get(f.name)
            if f.secret:
                views.append(FieldView(f, "", raw not in (None, "")))
            else:
                shown = raw if raw not in (None, "") else f.default
                views.append(FieldView(f, "" if shown is None else str(shown), raw is not None))
        problems = [
            f.label
            for f in (schema.fields if schema else ())
            if f.required and values.get(f.name, f.default) in (None, "")
        ]
        if not problems:
            problems = [e for m in methods for e in m.configuration_errors(values)]
        out.append(
            PaymentPlugin(
                name,
                tuple(methods),
                name in enabled,
                any(m.test_only for m in methods),
                tuple(views),
                tuple(problems),
                error,
            )
        )
    return out


def _plugin(tenant: TenantInfo, name: str) -> list[PaymentMethod]:
    methods = _payment_plugins().get(name)
    if not methods or not offered_to(tenant, methods):
        raise SettingNotFound("Ese medio de pago no está disponible.")
    return methods


async def save_payment_settings(
    scope: TenantScope,
    tenant: TenantInfo,
    name: str,
    form: Mapping[str, str],
    secret_key: str,
    actor: str,
) -> list[str]:
    """Store the settings typed in ``name``'s form; returns the fields that changed.

    A blank secret keeps the stored one; a blank ordinary field clears it (its default applies).
    Every field's problem is reported at once; an enabled method must stay configured.
    """
    methods = _plugin(tenant, name)
    schema = schema_of(name)
    if schema is None:
        raise FormErrors({"_": "Este medio de pago no tiene ajustes."})
    try:
        current = await plugin_settings(scope, name, secret_key)
    except SettingsError:
        current = {}
    errors: dict[str, str] = {}
    merged: dict[str, Any] = {}
    changed: list[str] = []
    for f in schema.fields:
        key = f"s_{f.name}"
        if f.type == "boolean":
            text = "true" if form.get(key) in ("on", "true", "1") else "false"
        else:
            text = str(form.get(key) or "").strip()
        if f.secret and text == "":
            if current.get(f.name) not in (None, ""):
                merged[f.name] = current[f.name]
            elif f.required:
                errors[f.name] = "Obligatorio."
            continue
        if text == "":
            if f.required:
                errors[f.name] = "Obligatorio."
            elif current.get(f.name) not in (None, ""):
                changed.append(f.name)
            continue
        if len(text) > 2000:
            errors[f.name] = "Demasiado largo."
            continue
        try:
            value = coerce(f, text)
        except ValueError:
            errors[f.name] = _type_message(f)
            continue
        merged[f.name] = value
        if f.secret or current.get(f.name) != value:
            changed.append(f.name)
    if errors:
        raise FormErrors(errors)
    enabled = name in await enabled_plugins(scope)
    if enabled:
        problems = [e for m in methods for e in m.configuration_errors(merged)]
        if problems:
            raise FormErrors({"_": "Con estos datos el medio de pago dejaría de funcionar."})
    await set_plugin(scope, name, enabled=enabled, settings=merged, secret_key=secret_key)
    secrets = {f.name for f in schema.fields if f.secret}
    await record(
        scope,
        actor,
        "settings.payment_method.configured",
        f"plugin:{name}",
        fields=sorted(changed),
        secrets_changed=sorted(k for k in changed if k in secrets),
    )
    return sorted(changed)


def _type_message(f: SettingField) -> str:
    if f.type == "integer":
        return "Escribe un número entero."
    if f.type == "choice":
        return "Elige una de las opciones."
    return "Valor no válido."


async def switch_payment_method(
    scope: TenantScope,
    tenant: TenantInfo,
    name: str,
    on: bool,
    secret_key: str,
    actor: str,
) -> None:
    """Switch a payment plugin on (only once configured) or off; audited."""
    _plugin(tenant, name)
    if on:
        try:
            await enable_plugin(scope, tenant, name, None, secret_key)
        except PluginSwitchError:
            raise FormErrors(
                {"_": "Completa los datos obligatorios antes de activar este medio de pago."}
            ) from None
    else:
        await disable_plugin(scope, name)
    action = "settings.payment_method.enabled" if on else "settings.payment_method.disabled"
    await record(scope, actor, action, f"plugin:{name}")
