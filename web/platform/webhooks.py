"""Provider webhooks: an HTTP door onto :mod:`recaudo.core.payments.intake`, answering fast.

``POST /hooks/<plugin>/<tenant-slug>``. Nothing here talks to the provider: the worker fetches the
authoritative status later, so the endpoint answers in milliseconds even when workers are down.
Forged or stale notifications get 401 and leave no trace; repeated deliveries of a genuine one get
200 and are stored once (unique index on tenant, plugin, event key).
"""

from __future__ import annotations

import logging

from litestar import Request, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from recaudo.core.payments.intake import (
    MalformedNotification,
    UnknownEndpoint,
    receive_notification,
)
from recaudo.core.payments.method import WebhookRejected, WebhookRequest

log = logging.getLogger(__name__)
# Real notifications are a few hundred bytes; Litestar refuses a bigger body with a JSON 413
# before it is read into memory.
MAX_BODY = 64 * 1024


@post(
    "/hooks/{plugin:str}/{slug:str}",
    name="hooks:receive",
    operation_id="receive_webhook",
    exclude_from_csrf=True,
    status_code=200,
    request_max_body_size=MAX_BODY,
)
async def receive_webhook(
    request: Request, plugin: FromPath[str], slug: FromPath[str]
) -> Response[dict[str, object]]:
    incoming = WebhookRequest(
        headers={k.lower(): v for k, v in request.headers.items()},
        query={k: v for k, v in request.query_params.items()},
        body=await request.body(),
    )
    try:
        result = await receive_notification(plugin, slug, incoming)
    except UnknownEndpoint as exc:
        raise NotFoundException(str(exc)) from exc
    except WebhookRejected as exc:
        log.warning("rejected %s webhook for %s: %s", plugin, slug, exc)
        return Response({"detail": f"webhook rejected: {exc}"}, status_code=401)
    except MalformedNotification as exc:
        return Response({"detail": f"malformed notification: {exc}"}, status_code=400)
    return Response(
        {"status": "accepted", "stored": result.stored, "events": result.events}, status_code=200
    )
