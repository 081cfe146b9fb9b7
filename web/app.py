"""The Litestar application factory: portal, back office, API and webhook endpoints."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from litestar import Litestar, Request, Router
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Response
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from recaudo.core import config, db
from recaudo.core.config import Settings
from recaudo.core.messaging.rendering import plugin_template_dirs
from recaudo.core.platform import guard
from recaudo.core.platform.host import PluginHost, get_host, set_host
from recaudo.web.deps import provide_settings
from recaudo.web.ids import ids_in_range
from recaudo.web.log_config import logging_config
from recaudo.web.not_found import NotFoundPage
from recaudo.web.security import RejectNulBytes, SecurityHeaders
from recaudo.web.templating import make_environment
from recaudo.web.tenancy import HostTenantRewrite, provide_scope, provide_tenant
from recaudo.web.uploads import too_large_redirect

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def _tenant_routes() -> list[Any]:
    """Everything under ``/t/<slug>``: each area module exposes a ``ROUTES`` list."""
    from recaudo.web.backoffice import routes as staff
    from recaudo.web.portal import home as portal_home
    from recaudo.web.portal import routes as portal

    return [portal_home.portal_home, portal_home.portal_theme, *portal.ROUTES, *staff.ROUTES]


def _platform_routes(settings: Settings) -> list[Any]:
    from recaudo.web.platform import dev, health
    from recaudo.web.platform import home as platform
    from recaudo.web.platform import webhooks as hooks

    routes = [platform.platform_home, health.health, hooks.receive_webhook]
    # The dev outbox shows every tenant's messages: it does not exist outside development.
    return [*routes, *dev.ROUTES] if settings.is_development else routes


UNSTORABLE_TEXT = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
    # A multipart field that is not UTF-8: Litestar decodes it while parsing the form.
    UnicodeDecodeError,
)


def _error_handler(request: Request, exc: Exception) -> Response[Any]:
    """Clear 4xx for user errors; a logged, generic 500 for our own bugs."""
    redirect = too_large_redirect(request, exc)
    if redirect is not None:
        return redirect
    if isinstance(exc, HTTPException):
        status = exc.status_code
        detail = exc.detail
        extra = getattr(exc, "extra", None)
    elif isinstance(exc, UNSTORABLE_TEXT):
        # Text PostgreSQL cannot store (e.g. a NUL inside a multipart field) or that is not
        # UTF-8 at all: the transaction was rolled back, and it is the input that is wrong.
        status, detail, extra = 400, "El texto contiene caracteres no válidos.", None
    else:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        status, detail, extra = 500, "Error interno. Intenta de nuevo en unos minutos.", None
    if "text/html" in request.headers.get("accept", "") and request.method == "GET":
        if status == 404:
            return NotFoundPage(str(detail))  # branded, in the visitor's language
        body = (
            '<!doctype html><html lang="es"><meta charset="utf-8"><title>{0}</title>'
            '<link rel="stylesheet" href="/static/css/app.css"><main class="container">'
            "<h1>{0}</h1><p>{1}</p></main></html>"
        )
        from markupsafe import escape

        return Response(
            body.format(status, escape(str(detail))), status_code=status, media_type="text/html"
        )
    content: dict[str, Any] = {"status_code": status, "detail": detail}
    if extra and isinstance(exc, ValidationException):
        content["extra"] = extra
    return Response(content, status_code=status)


def create_app(
    settings: Settings, host: PluginHost | None = None, embedded_workers: bool = True
) -> Litestar:
    """Build the Litestar app. ``embedded_workers`` runs the outbox relay, the scheduler and a
    dramatiq worker (all queues) in-process when the broker is ``embedded`` (``make run``);
    tests may turn it off."""
    config.activate(settings)
    if host is not None:
        set_host(host)
    plugin_host = get_host()
    db.configure(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await db.start_pool()
        plugin_host.results("recaudo_startup", settings=settings)
        await guard.try_flush()  # failures met while building the app (routes, templates)
        runtime = None
        if embedded_workers:
            from recaudo.workers.broker import Runtime

            runtime = Runtime(settings.broker_url)
            if settings.broker_url == "embedded":
                runtime.start_worker(threads=2)
                runtime.start_relay()
                runtime.start_scheduler()
            app.state.runtime = runtime
        try:
            yield
        finally:
            if runtime is not None:
                await runtime.stop()
            await db.close_pool()

    tenant_router = Router(
        path="/t/{slug:str}",
        route_handlers=_tenant_routes(),
        dependencies={"tenant": Provide(provide_tenant), "tenant_scope": Provide(provide_scope)},
    )
    app = Litestar(
        route_handlers=[
            tenant_router,
            *_platform_routes(settings),
            create_static_files_router(path="/static", directories=[STATIC], name="static"),
        ],
        template_config=TemplateConfig(
            engine=JinjaTemplateEngine.from_environment(
                make_environment(plugin_template_dirs(), reload=settings.debug)
            )
        ),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.secure_cookies,
            cookie_httponly=True,
            exclude=["/hooks/", "/health", "/api/"],
        ),
        plugins=[HTMXPlugin()],
        dependencies={"settings": Provide(provide_settings)},
        guards=[ids_in_range],
        exception_handlers={Exception: _error_handler},
        lifespan=[lifespan],
        logging_config=logging_config(),
        debug=settings.debug and settings.is_development,
        # The generated API schema describes every route: a map for attackers, not for users.
        openapi_config=OpenAPIConfig(title="Recaudo", version="1")
        if settings.is_development
        else None,
    )
    app.state.settings = settings
    _mount_plugin_routes(app, plugin_host)
    return app


def _mount_plugin_routes(app: Litestar, plugin_host: PluginHost) -> None:
    """Each plugin's routes on their own: one that cannot be mounted leaves the others mounted."""
    for plugin, routes in plugin_host.results("recaudo_routes"):
        handlers = list(routes) if isinstance(routes, list | tuple) else [routes]
        guard.call(plugin, "recaudo_routes", _mount, app, handlers, fallback=None, timeout=None)


def _mount(app: Litestar, handlers: list[Any]) -> None:
    for handler in handlers:
        app.register(handler)


def create_asgi(
    settings: Settings, host: PluginHost | None = None, embedded_workers: bool = True
) -> Any:
    """The app as served: security headers and host-based tenant routing around Litestar."""
    from recaudo.web.api.app import ApiDispatch, create_api_app

    app = create_app(settings, host, embedded_workers)
    # The REST API (/api/v1) is its own app, with its own OpenAPI document; the key, not the
    # host, decides its tenant, so it is dispatched before the host-based rewrite.
    routed = ApiDispatch(create_api_app(), HostTenantRewrite(app, settings.base_host))
    return SecurityHeaders(RejectNulBytes(routed), hsts=settings.secure_cookies)


__all__ = ["create_app", "create_asgi"]
