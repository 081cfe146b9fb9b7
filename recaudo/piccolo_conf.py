"""Piccolo configuration module (``PICCOLO_CONF=recaudo.piccolo_conf``).

``DB`` is looked up lazily so that Piccolo's migration machinery always uses the engine that
:func:`recaudo.core.db.configure` attached, whichever database the process was pointed at.
"""

from __future__ import annotations

from typing import Any

from piccolo.conf.apps import AppRegistry

APP_REGISTRY = AppRegistry(apps=["recaudo.core.piccolo_app"])


def __getattr__(name: str) -> Any:
    if name == "DB":
        from recaudo.core import db

        return db.engine()
    raise AttributeError(name)
