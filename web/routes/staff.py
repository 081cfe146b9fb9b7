"""Back office for a tenant's staff: login and the inbox, mounted at ``/t/<slug>/staff``.

One router gathers the area's modules and declares, once, the ``staff`` / ``acting_staff``
dependencies and the error handlers (login redirect, HTML error pages) they rely on.
"""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide

from recaudo.web.routes import (
    staff_auth,
    staff_chat,
    staff_inbox,
    staff_jobs,
    staff_plans,
    staff_proofs,
)
from recaudo.web.routes.staff_common import (
    EXCEPTION_HANDLERS,
    provide_acting_staff,
    provide_staff,
)

staff_router = Router(
    path="/staff",
    route_handlers=[
        *staff_auth.ROUTES,
        *staff_inbox.ROUTES,
        *staff_chat.ROUTES,
        *staff_proofs.ROUTES,
        *staff_jobs.ROUTES,
        *staff_plans.ROUTES,
    ],
    dependencies={
        "staff": Provide(provide_staff),
        "acting_staff": Provide(provide_acting_staff),
    },
    # Signed-in pages: never kept by the browser, so Back after "Salir" cannot show them again.
    cache_control=CacheControlHeader(no_store=True),
    exception_handlers=EXCEPTION_HANDLERS,
)

ROUTES: list[Any] = [staff_router]
