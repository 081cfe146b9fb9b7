"""Meta's webhook for one tenant: ``/hooks/whatsapp/<slug>/status``.

``GET`` answers Meta's subscription check (``hub.mode=subscribe``, ``hub.verify_token``,
``hub.challenge``). ``POST`` carries delivery statuses, signed ``X-Hub-Signature-256:
sha256=<hex HMAC-SHA256 of the raw body with the app secret>``; an unsigned or forged one is
refused with 401 before anything is read from it. Repeats are harmless (a status only moves
forward). Incoming customer messages in the same webhook are acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from litestar import Request, Response, get, post
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from recaudo.api import PluginContext, plugin_context
from recaudo.plugins.whatsapp import PERMANENT_CODES

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024
STATUSES = {"sent", "delivered", "read", "failed"}


def signature(body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``body``."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed(body: bytes, header: str, app_secret: str) -> bool:
    """Is ``header`` Meta's signature of ``body``? Compared in constant time."""
    if not app_secret or not header:
        return False
    return hmac.compare_digest(signature(body, app_secret).encode(), header.strip().encode())


async def _context(request: Request, slug: str) -> PluginContext:
    ctx = await plugin_context(request, "whatsapp", slug)
    if ctx is None:
        raise NotFoundException("No hay WhatsApp para este negocio")
    return ctx


@get(
    "/hooks/whatsapp/{slug:str}/status",
    name="whatsapp:verify",
    operation_id="whatsapp_verify",
    media_type=MediaType.TEXT,
)
async def verify(request: Request, slug: FromPath[str]) -> Response[str]:
    """Meta's subscription check: echo the challenge only to whoever knows the verify token."""
    ctx = await _context(request, slug)
    query = request.query_params
    expected = str(ctx.settings.get("verify_token") or "")
    given = str(query.get("hub.verify_token") or "")
    ok = (
        query.get("hub.mode") == "subscribe"
        and bool(expected)
        and hmac.compare_digest(expected.encode(), given.encode())
    )
    if not ok:
        return Response("verificación rechazada", status_code=403, media_type=MediaType.TEXT)
    return Response(str(query.get("hub.challenge") or ""), media_type=MediaType.TEXT)


def statuses(payload: Any) -> list[dict[str, Any]]:
    """Every status object in a webhook payload (Meta batches several per call)."""
    found: list[dict[str, Any]] = []
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object")
    for entry in _list(payload.get("entry")):
        for change in _list(entry.get("changes") if isinstance(entry, dict) else None):
            value = change.get("value") if isinstance(change, dict) else None
            statuses = value.get("statuses") if isinstance(value, dict) else None
            found.extend(status for status in _list(statuses) if isinstance(status, dict))
    return found


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def failure(status: dict[str, Any]) -> tuple[str, bool]:
    """A failed status's error text and whether it is permanent."""
    errors = status.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code_text = str(first.get("code") or "")
    code = (
        int(code_text) if code_text.isascii() and code_text.isdigit() and len(code_text) < 10 else 0
    )
    title = str(first.get("title") or first.get("message") or "failed")
    return f"WhatsApp ({code}): {title}"[:500], code in PERMANENT_CODES


@post(
    "/hooks/whatsapp/{slug:str}/status",
    name="whatsapp:status",
    operation_id="whatsapp_status",
    exclude_from_csrf=True,
    status_code=200,
    request_max_body_size=MAX_BODY,
)
async def receive_status(request: Request, slug: FromPath[str]) -> Response[dict[str, Any]]:
    ctx = await _context(request, slug)
    body = await request.body()
    app_secret = str(ctx.settings.get("app_secret") or "")
    if not app_secret:
        return Response({"detail": "WhatsApp sin clave secreta de la app"}, status_code=403)
    if not signed(body, request.headers.get("x-hub-signature-256", ""), app_secret):
        log.warning("whatsapp status for %s refused: bad signature", slug)
        return Response({"detail": "firma no válida"}, status_code=401)
    try:
        found = statuses(json.loads(body))
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        return Response({"detail": f"aviso mal formado: {exc}"}, status_code=400)
    changed = 0
    for status in found:
        name = str(status.get("status") or "")
        provider_id = str(status.get("id") or "")
        if name not in STATUSES or not provider_id:
            continue
        error, permanent = failure(status) if name == "failed" else ("", True)
        changed += await ctx.record_delivery(provider_id, name, error, permanent)
    return Response({"status": "accepted", "changed": changed})


ROUTES = [verify, receive_status]
