"""Piccolo configuration module (``PICCOLO_CONF=recaudo.piccolo_conf``).

``DB`` is looked up lazily so that Piccolo's migration machinery always uses the engine that
:func:`recaudo.core.db.configure` attached, whichever database the process was pointed at.
``APP_REGISTRY`` is built on each lookup too: core's app, then the Piccolo app of every installed
plugin (``recaudo_piccolo_app``), so ``piccolo migrations …`` commands see plugin apps as well.
"""

from __future__ import annotations

from typing import Any

from piccolo.conf.apps import AppRegistry


def app_registry() -> AppRegistry:
    from recaudo.core.platform.apps import CORE_APP_MODULE, plugin_apps

    return AppRegistry(apps=[CORE_APP_MODULE, *(app.module for app in plugin_apps())])


def __getattr__(name: str) -> Any:
    if name == "DB":
        from recaudo.core import db

        return db.engine()
    if name == "APP_REGISTRY":
        return app_registry()
    raise AttributeError(name)
