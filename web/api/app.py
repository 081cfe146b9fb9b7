"""The REST API as its own Litestar app at ``/api/v1``, with its own OpenAPI document.

It sits beside the main app (see :class:`ApiDispatch`), not under ``/t/<slug>``: the API key
decides the tenant. Its OpenAPI document, at ``/api/v1/schema/openapi.json``, describes the API
routes only, in every run mode.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag
from litestar.types import ASGIApp, Receive, Scope, Send

from recaudo.web.api import bank, changes, customers, documents, einvoices, invoices, kpis, payments
from recaudo.web.api.common import provide_api_scope, provide_caller, provide_writer
from recaudo.web.api.errors import api_error_handler
from recaudo.web.ids import ids_in_range
from recaudo.web.log_config import logging_config

PREFIX = "/api/v1"
MAX_BODY_BYTES = 2 * 1024 * 1024  # a bulk of 1,000 invoices fits with room to spare
# (POST /invoices/{id}/documents alone takes up to 14 MiB: documents.MAX_DOCUMENT_BODY, and
# POST /bank-statements up to 28 MiB: bank.MAX_STATEMENT_BODY)

DESCRIPTION = """\
Recaudo's REST API. Authenticate with `Authorization: Bearer KEY` (keys from
`recaudo apikeys create` or the owner's settings page); the key decides the tenant.

* **Money** is an integer in the currency's minor units next to its ISO 4217 code
  (`"total": 123450, "currency": "MXN"` is $1,234.50).
* **Lists** are newest first, `?limit=` 1–500 (default 50); pass the response's `next` as
  `?cursor=` for the next page (`null` on the last).
* **POST** accepts an `Idempotency-Key` header: the same key with the same body replays the
  first response for 24 hours; with another body it answers 422.
* **Errors** are `{"status_code", "detail", "errors": [{"field", "message"}]}`.
"""


def create_api_app(debug: bool = False) -> Litestar:
    api = Router(
        path=PREFIX,
        route_handlers=[
            *customers.ROUTES,
            *invoices.ROUTES,
            *payments.ROUTES,
            *changes.ROUTES,
            *documents.ROUTES,
            *bank.ROUTES,
            *einvoices.ROUTES,
            *kpis.ROUTES,
        ],
        dependencies={
            "caller": Provide(provide_caller),
            "writer": Provide(provide_writer),
            "api_scope": Provide(provide_api_scope),
        },
        security=[{"BearerAuth": []}],
    )
    return Litestar(
        route_handlers=[api],
        exception_handlers={Exception: api_error_handler},
        guards=[ids_in_range],
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
        logging_config=logging_config(),
        openapi_config=OpenAPIConfig(
            title="Recaudo API",
            version="1",
            description=DESCRIPTION,
            path=f"{PREFIX}/schema",
            render_plugins=[JsonRenderPlugin()],
            components=Components(
                security_schemes={
                    "BearerAuth": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="An API key: `Authorization: Bearer rk_…`.",
                    )
                }
            ),
            tags=[Tag(name="api")],
        ),
    )


def is_api_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class ApiDispatch:
    """ASGI wrapper: ``/api/v1…`` goes to the API app, everything else to ``app``."""

    def __init__(self, api: ASGIApp, app: ASGIApp) -> None:
        self.api = api
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_api_path(scope["path"]):
            await self.api(scope, receive, send)
            return
        await self.app(scope, receive, send)


__all__: list[Any] = ["ApiDispatch", "create_api_app"]
