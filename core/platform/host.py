"""The plugin manager: loads plugins from the ``recaudo`` entry-point group, once, explicitly.

A plugin that fails to import is recorded (and logged), never fatal to the host; ``recaudo plugins
list`` shows it with its error. Hooks are called one plugin at a time through the guard
(:meth:`PluginHost.results`, :meth:`PluginHost.provided`, :mod:`recaudo.core.platform.guard`), so
a plugin that raises or hangs is recorded and skipped while the others answer; ``enabled`` leaves
out plugins the tenant has not switched on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

import pluggy

from recaudo.core import hookspecs
from recaudo.core.platform import guard
from recaudo.core.platform.version import API_VERSION, ASSUMED_VERSION, incompatibility

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "recaudo"


@dataclass(frozen=True)
class PluginRecord:
    name: str
    source: str  # "builtin" for recaudo's own, else the distribution that ships it
    module: str
    version: str
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


class PluginHost:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def register(
        self, plugin: object, name: str, source: str = "builtin", version: str = ""
    ) -> None:
        """Register a plugin object explicitly (tests and embedders use this).

        A plugin written for an incompatible API (its ``RECAUDO_API``; "1.0" when it does not
        say) is refused and recorded with the reason, like one that fails to import.
        """
        module = getattr(plugin, "__name__", type(plugin).__name__)
        wanted = getattr(plugin, "RECAUDO_API", ASSUMED_VERSION)
        refused = incompatibility(name, str(wanted), API_VERSION)
        if refused:
            log.error("%s", refused)
            self.records[name] = PluginRecord(name, source, module, version, error=refused)
            return
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:  # a broken hookimpl signature must not take the host down
            log.exception("plugin %s could not be registered", name)
            self.records[name] = PluginRecord(name, source, module, version, error=str(exc))
            return
        self.records[name] = PluginRecord(name, source, module, version)

    def load_entry_points(self, eps: Iterable[EntryPoint] | None = None) -> None:
        """Load every ``recaudo`` entry point once; failures are recorded, not raised."""
        for ep in eps if eps is not None else entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in self.records:
                continue
            dist = ep.dist
            dist_name = dist.metadata["Name"] if dist is not None else "?"
            version = dist.version if dist is not None else ""
            source = "builtin" if dist_name == "recaudo" else dist_name
            try:
                obj = ep.load()
            except Exception as exc:
                log.error("plugin %s (%s) failed to import: %s", ep.name, ep.value, exc)
                self.records[ep.name] = PluginRecord(
                    ep.name, source, ep.value, version, error=f"{type(exc).__name__}: {exc}"
                )
                continue
            self.register(obj, ep.name, source, version)

    def get(self, name: str) -> ModuleType | object | None:
        return self.pm.get_plugin(name)

    def for_tenant(self, enabled: Iterable[str], hook_name: str) -> Any:
        """A caller of ``hook_name`` that reaches only the plugins in ``enabled``."""
        allowed = set(enabled)
        remove = [
            plugin
            for name, plugin in self.pm.list_name_plugin()
            if name not in allowed and plugin is not None
        ]
        if not remove:
            return getattr(self.pm.hook, hook_name)
        return self.pm.subset_hook_caller(hook_name, remove_plugins=remove)

    def impls_for(self, enabled: Iterable[str], hook_name: str) -> list[Any]:
        """The implementations of ``hook_name`` by plugins in ``enabled``, in pluggy's call order
        (last registered and ``tryfirst`` first). The host calls tenant hooks one plugin at a
        time this way, so each gets its own :class:`PluginContext`."""
        allowed = set(enabled)
        impls = getattr(self.pm.hook, hook_name).get_hookimpls()
        return [impl for impl in reversed(impls) if impl.plugin_name in allowed]

    def provided(self, hook_name: str) -> list[tuple[str, Any]]:
        """``(plugin name, item)`` for every item a list-returning, argument-less hook offers.

        Knowing which plugin offered a payment method or channel is what lets the host honour
        per-tenant enablement. A plugin whose hook raises or hangs is recorded by the guard and
        skipped; the others' items are still returned.
        """
        found: list[tuple[str, Any]] = []
        for name, result in self.results(hook_name):
            for item in result if isinstance(result, list | tuple) else [result]:
                found.append((name, item))
        return found

    def results(
        self,
        hook_name: str,
        enabled: Iterable[str] | None = None,
        tenant_id: int | None = None,
        **kwargs: Any,
    ) -> list[tuple[str, Any]]:
        """``(plugin name, answer)`` of each plugin's ``hook_name``, called one by one, guarded.

        ``enabled`` limits the call to those plugins (a tenant's); a plugin that raises or hangs
        is recorded for ``tenant_id`` and left out, so it never stops the others. ``None``
        answers are dropped. Order is pluggy's (last registered first, ``tryfirst`` honoured).
        """
        impls = (
            reversed(getattr(self.pm.hook, hook_name).get_hookimpls())
            if enabled is None
            else self.impls_for(enabled, hook_name)
        )
        out: list[tuple[str, Any]] = []
        for impl in impls:
            answer = guard.call(
                impl.plugin_name,
                hook_name,
                call_impl,
                impl,
                fallback=None,
                tenant_id=tenant_id,
                **kwargs,
            )
            if answer is not None:
                out.append((impl.plugin_name, answer))
        return out


def call_impl(impl: Any, **kwargs: Any) -> Any:
    """Call one hook implementation the way pluggy would: with the arguments it declares (an
    implementation may leave out those it does not need)."""
    return impl.function(*[kwargs[name] for name in impl.argnames])


_host: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide host, loading entry points on first use."""
    global _host
    if _host is None:
        _host = PluginHost()
        _host.load_entry_points()
    return _host


def set_host(host: PluginHost | None) -> None:
    """Replace the process-wide host (tests register plugins explicitly this way)."""
    global _host
    _host = host
