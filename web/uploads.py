"""Uploads over a route's body limit: a browser gets its form back with the message, not JSON.

Litestar refuses a body over the route's ``request_max_body_size`` while parsing it, in the CSRF
middleware, before the handler runs, so the handler cannot answer. A route that takes uploads
names in ``opt["too_large"]`` the page (below the tenant prefix) that shows its form with the
size message; a browser's POST is sent there (303), any other client keeps the JSON 413.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.response import Redirect

from recaudo.web.tenancy import PREFIX_KEY

TOO_LARGE_OPT = "too_large"


def too_large_redirect(request: Request[Any, Any, Any], exc: Exception) -> Redirect | None:
    """The redirect to the upload form for a browser whose upload was too big, else ``None``."""
    if not isinstance(exc, RequestEntityTooLarge) or request.method != "POST":
        return None
    if "text/html" not in request.headers.get("accept", ""):
        return None
    handler = request.scope.get("route_handler")
    target = handler.opt.get(TOO_LARGE_OPT) if handler is not None else None
    slug = request.scope.get("path_params", {}).get("slug")
    if not target or not slug:
        return None
    prefix = "" if request.scope.get(PREFIX_KEY) == "host" else f"/t/{slug}"  # type: ignore[misc]
    return Redirect(prefix + str(target), status_code=303)
