"""Server for the benchmarks: the real app plus a bare Litestar endpoint, in one process.

The bare endpoint is added through the ``recaudo_routes`` hook like any plugin route, so both
are served by the same uvicorn worker, middleware and event loop.
"""

from __future__ import annotations

import sys

import uvicorn
from litestar import get

from recaudo.core.config import load_settings
from recaudo.core.hookspecs import hookimpl
from recaudo.core.platform.host import PluginHost
from recaudo.web.app import create_asgi


@get("/bench/bare", sync_to_thread=False)
def bare() -> str:
    return "ok"


class BarePlugin:
    @hookimpl
    def recaudo_routes(self) -> list[object]:
        return [bare]


def main() -> None:
    port = int(sys.argv[1])
    host = PluginHost()
    host.load_entry_points()
    host.register(BarePlugin(), name="bench", source="bench")
    app = create_asgi(load_settings(), host=host)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
