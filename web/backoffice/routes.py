"""Back office for a tenant's staff: login and the inbox, mounted at ``/t/<slug>/staff``.

One router gathers the area's modules and declares, once, the ``staff`` / ``acting_staff``
dependencies and the error handlers (login redirect, HTML error pages) they rely on.
"""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide

from recaudo.web.backoffice import (
    apikeys,
    attachments,
    auth,
    bank,
    bank_settings,
    chat,
    credit,
    customers,
    dashboard,
    einvoices,
    forecast,
    imports,
    inbox,
    invoices,
    jobs,
    message_settings,
    payments,
    plans,
    plugins,
    proofs,
    queue,
    recurring,
    reminders,
    settings,
    team,
    webhooks,
)
from recaudo.web.backoffice.common import (
    EXCEPTION_HANDLERS,
    provide_acting_staff,
    provide_owner_staff,
    provide_staff,
)

staff_router = Router(
    path="/staff",
    route_handlers=[
        *auth.ROUTES,
        *inbox.ROUTES,
        *dashboard.ROUTES,
        *chat.ROUTES,
        *proofs.ROUTES,
        *jobs.ROUTES,
        *plugins.ROUTES,
        *plans.ROUTES,
        *payments.ROUTES,
        *bank.ROUTES,
        *bank_settings.ROUTES,
        *recurring.ROUTES,
        *attachments.ROUTES,
        *team.ROUTES,
        *webhooks.ROUTES,
        *imports.ROUTES,
        *settings.ROUTES,
        *customers.ROUTES,
        *credit.ROUTES,
        *forecast.ROUTES,
        *invoices.ROUTES,
        *einvoices.ROUTES,
        *apikeys.ROUTES,
        *reminders.ROUTES,
        *message_settings.ROUTES,
        *queue.ROUTES,
    ],
    dependencies={
        "staff": Provide(provide_staff),
        "acting_staff": Provide(provide_acting_staff),
        "owner_staff": Provide(provide_owner_staff),
    },
    # Signed-in pages: never kept by the browser, so Back after "Salir" cannot show them again.
    cache_control=CacheControlHeader(no_store=True),
    exception_handlers=EXCEPTION_HANDLERS,
)

ROUTES: list[Any] = [staff_router]
