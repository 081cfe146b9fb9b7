"""The plugin context: a plugin's own settings (validated), its tenant's storage, rendering and
jobs, and the API version rule the host applies at load."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from recaudo import api
from recaudo.core.common.jsonfield import loads
from recaudo.core.config import Settings, activate
from recaudo.core.payments.registry import usable_methods
from recaudo.core.platform.context import context_for
from recaudo.core.platform.host import PluginHost
from recaudo.core.platform.plugin_settings import validate
from recaudo.core.platform.version import incompatibility
from recaudo.core.tables import OutboxJob
from recaudo.tenants.models import PluginSetting
from recaudo.tenants.plugin_config import encrypt, set_plugin
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info
from tests.conftest import make_tenant

SCHEMA = api.PluginSettingsSchema(
    "probe",
    (
        api.SettingField("limit", "Límite", "integer", default=10),
        api.SettingField("token", "Token", "secret", required=True),
        api.SettingField("live", "En vivo", "boolean", default=False),
        api.SettingField("mode", "Modo", "choice", choices=("a", "b"), default="a"),
        api.SettingField("note", "Nota", "text"),
    ),
)
TEMPLATES = Path(__file__).parent / "fixtures" / "probe_templates"


class ProbeMethod(api.PaymentMethod):
    name = "probe"
    label = "Sonda"
    settings_schema = SCHEMA.fields


class Probe:
    """A plugin written against recaudo.api only."""

    RECAUDO_API = "1.0"

    @api.hookimpl
    def recaudo_settings_schema(self) -> api.PluginSettingsSchema:
        return SCHEMA

    @api.hookimpl
    def recaudo_payment_methods(self) -> list[api.PaymentMethod]:
        return [ProbeMethod()]

    @api.hookimpl
    def recaudo_template_dirs(self) -> list[str]:
        return [str(TEMPLATES)]


@pytest.fixture
def probe(host: PluginHost, settings: Settings) -> PluginHost:
    activate(settings)
    host.register(Probe(), name="probe", source="test")
    return host


async def _store(scope: TenantScope, values: dict[str, object]) -> None:
    """Write settings as they may sit in the database, bypassing validation on write."""
    await set_plugin(scope, "probe", enabled=True)
    await scope.update(PluginSetting, {PluginSetting.settings: values}).where(
        PluginSetting.plugin == "probe"
    )


def test_values_are_coerced_defaults_applied_and_unknown_keys_dropped() -> None:
    settings, errors = validate(SCHEMA, {"limit": "150", "live": "on", "extra": "x", "note": 5})
    assert settings == {"limit": 150, "live": True, "mode": "a", "note": "5"}
    assert errors == []


def test_a_value_that_no_longer_validates_is_reported_and_its_default_used() -> None:
    settings, errors = validate(SCHEMA, {"limit": "mucho", "mode": "z", "token": "t"})
    assert settings["limit"] == 10 and settings["mode"] == "a" and settings["token"] == "t"
    assert errors == ["Límite: must be a whole number", "Modo: must be one of a, b"]


async def test_context_carries_tenant_decrypted_settings_and_a_scoped_db(
    probe: PluginHost, settings: Settings
) -> None:
    tenant = await make_tenant("sonda")
    scope = TenantScope(int(tenant.id))
    await _store(scope, {"limit": "150", "token": encrypt("s3cr3t", settings.secret_key)})
    ctx = await context_for(int(tenant.id), "probe")
    assert ctx.tenant == tenant_info(tenant) and ctx.plugin == "probe"
    assert dict(ctx.settings) == {"limit": 150, "token": "s3cr3t", "live": False, "mode": "a"}
    with pytest.raises(TypeError):
        ctx.settings["limit"] = 1  # type: ignore[index]
    assert ctx.db.tenant_id == tenant.id and ctx.settings_errors == ()
    assert ctx.language == "es"
    assert ctx.portal_url("pagar") == f"{settings.base_url}/t/sonda/pagar"


async def test_a_broken_stored_setting_is_a_configuration_error_not_a_crash(
    probe: PluginHost, settings: Settings
) -> None:
    tenant = await make_tenant("sonda-rota")
    scope = TenantScope(int(tenant.id))
    # A secret encrypted with another key (RECAUDO_SECRET_KEY rotated) and a stale integer.
    await _store(scope, {"limit": "x", "token": encrypt("s3cr3t", "another-key" * 4)})
    ctx = await context_for(int(tenant.id), "probe")
    assert "token" not in ctx.settings and ctx.settings["limit"] == 10
    assert len(ctx.settings_errors) == 2
    # The method is not offered to customers while its settings are broken.
    assert await usable_methods(scope, tenant_info(tenant), "MXN") == []
    await _store(scope, {"token": encrypt("s3cr3t", settings.secret_key)})
    [(plugin, method, ctx)] = await usable_methods(scope, tenant_info(tenant), "MXN")
    assert (plugin, method.name, ctx.settings["token"]) == ("probe", "probe", "s3cr3t")


async def test_render_uses_the_tenant_branding_and_the_language(probe: PluginHost) -> None:
    tenant = await make_tenant("sonda-marca")
    tenant.branding = {"display_name": "Clínica <Sur>"}
    await tenant.save().run()
    scope = TenantScope(int(tenant.id))
    await set_plugin(scope, "branding", enabled=True)
    ctx = await context_for(int(tenant.id), "probe", language="en")
    html = await ctx.render("probe/hello.html", who="<b>Ana</b>", amount=123_450)
    assert "Clínica &lt;Sur&gt;" in html  # the branding plugin answered, escaped
    assert "&lt;b&gt;Ana&lt;/b&gt;" in html  # values are escaped too
    assert "lang=en" in html and "Back to the portal" in html  # English catalog
    assert "$1,234.50" in html


async def test_enqueue_writes_a_job_named_for_the_plugin_once_per_key(probe: PluginHost) -> None:
    tenant = await make_tenant("sonda-cola")
    ctx = await context_for(int(tenant.id), "probe")
    assert await ctx.enqueue("sync", {"n": 1}, key="sync:1") is True
    assert await ctx.enqueue("sync", {"n": 2}, key="sync:1") is False
    assert await ctx.enqueue("sync", {"n": 3}) is True
    jobs = await ctx.db.select(OutboxJob, OutboxJob.actor, OutboxJob.payload).order_by(OutboxJob.id)
    assert [(j["actor"], loads(j["payload"], {})["n"]) for j in jobs] == [
        ("probe.sync", 1),
        ("probe.sync", 3),
    ]


async def test_the_logger_names_tenant_and_plugin(
    probe: PluginHost, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = await make_tenant("sonda-log")
    ctx = await context_for(int(tenant.id), "probe")
    with caplog.at_level(logging.INFO, logger="recaudo.plugins.probe"):
        ctx.log.info("hola")
    assert caplog.messages == ["[sonda-log/probe] hola"]


# --- the API version rule -------------------------------------------------------------------


def test_public_api_names() -> None:
    assert api.API_VERSION == "1.0"
    for name in ("hookimpl", "PluginContext", "PaymentMethod", "Checkout", "NotificationChannel"):
        assert name in api.__all__ and hasattr(api, name)


@pytest.mark.parametrize(
    ("wanted", "ok"),
    [("1.0", True), ("1", True), ("1.1", False), ("2.0", False), ("0.9", False), ("uno", False)],
)
def test_compatible_versions(wanted: str, ok: bool) -> None:
    assert (incompatibility("foo", wanted, "1.0") == "") is ok


def test_a_plugin_for_another_api_is_refused_with_both_versions() -> None:
    class Future:
        RECAUDO_API = "2.0"

        @api.hookimpl
        def recaudo_payment_methods(self) -> list[api.PaymentMethod]:
            return [ProbeMethod()]

    class Unversioned:
        @api.hookimpl
        def recaudo_payment_methods(self) -> list[api.PaymentMethod]:
            return [ProbeMethod()]

    host = PluginHost()
    host.register(Future(), name="future")
    host.register(Unversioned(), name="old")
    refused = host.records["future"]
    assert not refused.ok and host.get("future") is None
    assert "future" in refused.error and "2.0" in refused.error and "1.0" in refused.error
    assert host.records["old"].ok  # no RECAUDO_API: written for 1.0
    assert [name for name, _ in host.provided("recaudo_payment_methods")] == ["old"]
