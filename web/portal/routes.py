"""Customer portal pages (after the front door): access, statement, payments, help.

Each area lives in its own module of ``web/portal/``; this one gathers them under one router that
provides the logged-in ``customer`` and turns a missing session into a redirect to the front door.
"""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide

from recaudo.web.portal import (
    access,
    account,
    attachments,
    autopay,
    claims,
    einvoices,
    hardship,
    help,
    logo,
    messages,
    pay,
)
from recaudo.web.portal.common import LoginRequired, login_redirect, provide_customer

portal_router = Router(
    path="/",
    route_handlers=[
        *access.ROUTES,
        *account.ROUTES,
        *pay.ROUTES,
        *claims.ROUTES,
        *help.ROUTES,
        *hardship.ROUTES,
        *attachments.ROUTES,
        *logo.ROUTES,
        *messages.ROUTES,
        *autopay.ROUTES,
        *einvoices.ROUTES,
    ],
    dependencies={"customer": Provide(provide_customer)},
    # Signed-in pages: never kept by the browser, so Back after "Salir" cannot show them again.
    cache_control=CacheControlHeader(no_store=True),
    exception_handlers={LoginRequired: login_redirect},
)

ROUTES: list[Any] = [portal_router]
