"""Values handlers receive by dependency injection rather than by importing the app module.

The app factory stores its :class:`Settings` on ``app.state``; handlers ask for ``settings`` (an
app-level dependency) and helpers that hold a request read it with :func:`settings_of`. Route
modules therefore never import ``web/app.py``, which imports them: no import cycle, and a test app
built with other settings is what its handlers see.
"""

from __future__ import annotations

from typing import Any, cast

from litestar import Request

from recaudo.core.config import Settings


def settings_of(request: Request[Any, Any, Any]) -> Settings:
    """The settings of the app serving ``request``."""
    return cast(Settings, request.app.state.settings)


async def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    return settings_of(request)
