"""The app a test talks to, built once per configuration for the whole run.

Building the ASGI app costs about half a second (Litestar validates and registers every route
handler), and nearly every HTTP test needs one: most with the same settings and plugins, only
their own database. The app keeps nothing of a test but its settings (``app.state.settings``), so
a built app is reused for the next test with equal settings (the database URL aside) and the same
plugin objects, after doing what building it would have done: activate the settings, point the
engine at the test's database. A test that registers a plugin of its own gets a new app, since
its plugin objects are part of the key (and kept alive by it, so an id is never reused).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Any

from litestar import Litestar

from recaudo.core import config, db
from recaudo.core.config import Settings
from recaudo.core.platform.host import PluginHost, get_host, set_host

# The last few configurations only: settings unique to one test (an SMTP server's port) would
# otherwise keep an app each for the whole run.
_KEEP = 8
_APPS: OrderedDict[tuple[Any, ...], tuple[Any, list[Litestar]]] = OrderedDict()


def _litestar_apps(asgi: Any) -> list[Litestar]:
    """The Litestar apps inside the middleware wrappers (the site and the REST API)."""
    found: list[Litestar] = []
    todo = [asgi]
    while todo:
        node = todo.pop()
        if isinstance(node, Litestar):
            found.append(node)
            continue
        todo.extend(getattr(node, name) for name in ("app", "api") if hasattr(node, name))
    return found


def _plugins_key(host: PluginHost) -> tuple[Any, ...]:
    return tuple(sorted(((name, plugin) for name, plugin in host.pm.list_name_plugin()), key=str))


def asgi_app(settings: Settings, host: PluginHost | None = None) -> Any:
    """``create_asgi(settings, embedded_workers=False)``, reused across tests when it may be."""
    from recaudo.web.app import create_asgi

    if host is not None:
        set_host(host)
    key = (dataclasses.replace(settings, database_url=""), _plugins_key(get_host()))
    try:
        cached = _APPS.get(key)
    except TypeError:  # a plugin object that cannot be a key: build the app afresh
        return create_asgi(settings, embedded_workers=False)
    if cached is None:
        app = create_asgi(settings, embedded_workers=False)
        _APPS[key] = (app, _litestar_apps(app))
        while len(_APPS) > _KEEP:
            _APPS.popitem(last=False)
        return app
    _APPS.move_to_end(key)
    app, litestars = cached
    config.activate(settings)
    db.configure(settings.database_url)
    for litestar in litestars:
        if getattr(litestar.state, "settings", None) is not None:
            litestar.state.settings = settings
    return app
