"""Plugin-owned Piccolo apps: the tables and migrations a plugin gives through a hook.

A plugin's ``recaudo_piccolo_app`` returns its app. Core's app (``recaudo.core.piccolo_app``)
always comes first; plugin apps follow in plugin-name order, an app that lists another plugin's
app in ``migration_dependencies`` after it. The same list feeds ``recaudo migrate``
(``core/db.py``), the engine attached to every table and the ``APP_REGISTRY`` of
``recaudo/piccolo_conf.py``, so Piccolo's own commands see plugin apps too.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from types import ModuleType
from typing import TYPE_CHECKING

from piccolo.conf.apps import AppConfig
from piccolo.table import Table

if TYPE_CHECKING:
    from recaudo.core.platform.host import PluginHost

log = logging.getLogger(__name__)

CORE_APP = "recaudo"
CORE_APP_MODULE = "recaudo.core.piccolo_app"
#: Piccolo table tag by which a plugin declares a table shared by every tenant (no tenant column):
#: ``class Rate(Table, tags=[PLATFORM_WIDE])``. Any other plugin table must mix in ``TenantOwned``.
PLATFORM_WIDE = "platform-wide"
_SYNTHETIC = "recaudo.core.platform.apps.registered"


@dataclass(frozen=True)
class PluginApp:
    """One plugin's Piccolo app; ``module`` is an importable path whose ``APP_CONFIG`` it is."""

    plugin: str
    config: AppConfig
    module: str

    @property
    def name(self) -> str:
        return self.config.app_name


def plugin_apps(host: PluginHost | None = None) -> list[PluginApp]:
    """Every installed plugin's Piccolo app, in migration order.

    A plugin whose hook raises, returns something else than an ``AppConfig`` or reuses an app name
    is logged and left out (its tables are then not migrated): the rest keep working.
    """
    from recaudo.core.platform.host import get_host

    host = host or get_host()
    found: dict[str, PluginApp] = {}
    for impl in sorted(host.pm.hook.recaudo_piccolo_app.get_hookimpls(), key=_plugin_name):
        plugin = impl.plugin_name
        try:
            config = impl.function()
        except Exception:
            log.exception("plugin %s failed in recaudo_piccolo_app", plugin)
            continue
        if config is None:
            continue
        if not isinstance(config, AppConfig):
            log.error(
                "plugin %s: recaudo_piccolo_app returned %r, not an AppConfig", plugin, config
            )
            continue
        if config.app_name == CORE_APP or config.app_name in found:
            log.error("plugin %s: Piccolo app name %r is already taken", plugin, config.app_name)
            continue
        found[config.app_name] = PluginApp(plugin, config, _module_of(config))
    return _in_dependency_order(found)


def _plugin_name(impl: object) -> str:
    return str(getattr(impl, "plugin_name", ""))


def _in_dependency_order(apps: dict[str, PluginApp]) -> list[PluginApp]:
    graph: dict[str, list[str]] = {}
    for name in sorted(apps, key=lambda n: (apps[n].plugin, n)):
        deps = [d.app_name for d in _dependencies(apps[name].config)]
        graph[name] = [d for d in deps if d in apps]
    try:
        return [apps[name] for name in TopologicalSorter(graph).static_order()]
    except CycleError as exc:
        raise RuntimeError(f"plugin Piccolo apps depend on each other in a cycle: {exc}") from None


def _dependencies(config: AppConfig) -> list[AppConfig]:
    try:
        return list(config.migration_dependency_app_configs)
    except Exception:  # an unimportable dependency: migrate order falls back to plugin order
        log.exception("Piccolo app %s: migration_dependencies cannot be imported", config.app_name)
        return []


def _module_of(config: AppConfig) -> str:
    """An importable module path holding ``config`` as ``APP_CONFIG``.

    Piccolo finds apps by module path. The usual plugin keeps its ``APP_CONFIG`` in its own
    ``piccolo_app.py``, which is found among the loaded modules; otherwise a small module is
    registered in ``sys.modules`` for it.
    """
    for name, module in list(sys.modules.items()):
        if getattr(module, "__dict__", {}).get("APP_CONFIG") is config:  # no module __getattr__
            return name
    name = f"{_SYNTHETIC}.{config.app_name}"
    module = ModuleType(name, f"Piccolo app {config.app_name!r} given by a Recaudo plugin")
    module.APP_CONFIG = config  # type: ignore[attr-defined]
    sys.modules[name] = module
    return name


def app_tables(apps: list[PluginApp]) -> list[type[Table]]:
    """The tables of ``apps``, in app order, each once."""
    tables: list[type[Table]] = []
    for app in apps:
        for table in app.config.table_classes:
            if table not in tables:
                tables.append(table)
    return tables


def unowned_tables(apps: list[PluginApp]) -> list[str]:
    """Plugin tables that neither carry a tenant nor say they are platform-wide (a leak risk)."""
    from recaudo.tenants.models import TenantOwned

    return [
        f"{app.plugin}: {table.__name__} ({table._meta.tablename})"
        for app in apps
        for table in app.config.table_classes
        if not issubclass(table, TenantOwned) and PLATFORM_WIDE not in table._meta.tags
    ]
