"""Plugins load from entry points; a broken one is reported, never fatal; tenants opt in."""

from __future__ import annotations

from importlib.metadata import EntryPoint

from recaudo.core.hookspecs import hookimpl
from recaudo.core.platform.context import PluginContext, build_context
from recaudo.core.platform.host import PluginHost
from recaudo.core.platform.values import Branding, TenantInfo

TENANT = TenantInfo(1, "acme", "Acme", "MX", "MXN", "es_MX", "America/Mexico_City")


def test_builtins_come_from_the_entry_point_group() -> None:
    host = PluginHost()
    host.load_entry_points()
    for name in ("sandbox", "mercadopago", "banktransfer", "email", "branding"):
        record = host.records[name]
        assert record.ok, record.error
        assert record.source == "builtin"
    methods = {item.name for _, item in host.provided("recaudo_payment_methods")}
    assert {"sandbox", "mercadopago", "banktransfer"} <= methods


def test_a_plugin_that_fails_to_import_is_reported_not_fatal() -> None:
    host = PluginHost()
    broken = EntryPoint(name="broken", value="recaudo_no_such_module_xyz", group="recaudo")
    host.load_entry_points([broken])
    assert not host.records["broken"].ok
    assert "ModuleNotFoundError" in host.records["broken"].error
    host.load_entry_points()  # the rest still loads
    assert host.records["sandbox"].ok


class Theme:
    @hookimpl
    def recaudo_branding(self, ctx: PluginContext) -> Branding:
        return Branding(display_name="Tema Morado", primary_color="#6b21a8")


def test_hooks_reach_only_plugins_the_tenant_enabled() -> None:
    host = PluginHost()
    host.load_entry_points()
    host.register(Theme(), name="theme", source="test")
    ctx = build_context(TENANT, "theme", {})
    with_theme = host.for_tenant(["branding", "theme"], "recaudo_branding")(ctx=ctx)
    without = host.for_tenant(["branding"], "recaudo_branding")(ctx=ctx)
    assert with_theme.display_name == "Tema Morado"
    assert without.display_name == "Acme"
