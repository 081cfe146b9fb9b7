"""Liveness for load balancers: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

import logging

from litestar import get
from litestar.response import Response

from recaudo.core import db

log = logging.getLogger(__name__)


@get("/health", name="health", operation_id="health", exclude_from_csrf=True)
async def health() -> Response[dict[str, str]]:
    try:
        ok = await db.ping()
    except Exception as exc:
        log.warning("health check: database not answering: %s", exc)
        ok = False
    if ok:
        return Response({"status": "ok", "database": "ok"}, status_code=200)
    return Response({"status": "error", "database": "unavailable"}, status_code=503)
