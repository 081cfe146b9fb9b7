"""Per-tenant plugin settings: validated against the plugin's schema, secrets encrypted at rest."""

from __future__ import annotations

import pytest

from recaudo.core.platform.host import PluginHost
from recaudo.tenants.models import PluginSetting
from recaudo.tenants.plugin_config import SettingsError, plugin_settings, set_plugin
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant

KEY = "k" * 40


async def test_secret_fields_are_encrypted_and_readable_back(
    database: str, host: PluginHost
) -> None:
    scope = TenantScope(int((await make_tenant("acme")).id))
    await set_plugin(
        scope,
        "mercadopago",
        enabled=True,
        secret_key=KEY,
        settings={"access_token": "APP_USR-123", "webhook_secret": "whsec-9"},
    )
    row = await scope.objects(PluginSetting).where(PluginSetting.plugin == "mercadopago").first()
    raw = str(row.settings)
    assert "APP_USR-123" not in raw and "whsec-9" not in raw and "enc:" in raw
    values = await plugin_settings(scope, "mercadopago", KEY)
    assert values["access_token"] == "APP_USR-123" and values["webhook_secret"] == "whsec-9"
    with pytest.raises(SettingsError, match="RECAUDO_SECRET_KEY"):
        await plugin_settings(scope, "mercadopago", "another-key-" + "z" * 40)


async def test_values_are_validated_against_the_plugins_schema(
    database: str, host: PluginHost
) -> None:
    scope = TenantScope(int((await make_tenant("acme")).id))
    with pytest.raises(SettingsError, match=r"banktransfer\.bank_name: required"):
        await set_plugin(
            scope,
            "banktransfer",
            enabled=True,
            secret_key=KEY,
            settings={"account_holder": "X", "account_number": "123"},
        )
    with pytest.raises(SettingsError, match="reference_scheme: must be one of"):
        await set_plugin(
            scope,
            "banktransfer",
            enabled=True,
            secret_key=KEY,
            settings={
                "bank_name": "B",
                "account_holder": "X",
                "account_number": "123",
                "reference_scheme": "roman-numerals",
            },
        )
    assert await scope.count(PluginSetting) == 0
    with pytest.raises(SettingsError, match="secret key"):
        await set_plugin(scope, "mercadopago", enabled=True, settings={"access_token": "t"})


async def test_pages_may_reuse_the_enabled_list_but_a_change_shows_at_once(database: str) -> None:
    from recaudo.tenants.plugin_config import enabled_plugins

    scope = TenantScope(int((await make_tenant("cache-tienda")).id))
    await set_plugin(scope, "sandbox", enabled=True)
    assert await enabled_plugins(scope, max_age=60) == ["sandbox"]
    # Written behind this process's back (another process): a page may see the old list...
    await scope.update(PluginSetting, {PluginSetting.enabled: False})
    assert await enabled_plugins(scope, max_age=60) == ["sandbox"]
    assert await enabled_plugins(scope) == []  # ...money paths never do
    # A change made through this process is seen by its pages at once.
    await set_plugin(scope, "sandbox", enabled=True)
    await set_plugin(scope, "email", enabled=True)
    assert sorted(await enabled_plugins(scope, max_age=60)) == ["email", "sandbox"]
