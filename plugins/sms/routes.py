"""The SMS provider's status callback for one tenant: ``POST /hooks/sms/<slug>/status``.

Form-encoded (``MessageSid``, ``MessageStatus``, ``ErrorCode``, ``AccountSid``…), signed
``X-Twilio-Signature`` over the callback URL *as we configured it* (from ``RECAUDO_BASE_URL``, so
a proxy rewriting Host cannot change what is signed) and the sorted parameters. An unsigned or
forged callback is refused with 401 and changes nothing; repeats are harmless.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any
from urllib.parse import parse_qsl

from litestar import Request, Response, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from recaudo.api import plugin_context
from recaudo.plugins.sms import PERMANENT_CODES, _channel, callback_url, twilio_signature

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024
#: The provider's statuses → ours (``undelivered``: the carrier gave up, for us a failure).
STATUSES = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
}


@post(
    "/hooks/sms/{slug:str}/status",
    name="sms:status",
    operation_id="sms_status",
    exclude_from_csrf=True,
    status_code=200,
    request_max_body_size=MAX_BODY,
)
async def receive_status(request: Request, slug: FromPath[str]) -> Response[dict[str, Any]]:
    ctx = await plugin_context(request, "sms", slug)
    if ctx is None:
        raise NotFoundException("No hay SMS para este negocio")
    auth_token = str(ctx.settings.get("auth_token") or "")
    url = callback_url(_channel.base_url, ctx.tenant)
    if not auth_token or not url:
        return Response({"detail": "SMS sin credenciales"}, status_code=403)
    body = (await request.body()).decode("utf-8", "replace")
    params = dict(parse_qsl(body, keep_blank_values=True))
    given = request.headers.get("x-twilio-signature", "")
    expected = twilio_signature(url, params, auth_token)
    if not given or not hmac.compare_digest(expected.encode(), given.strip().encode()):
        log.warning("sms status for %s refused: bad signature", slug)
        return Response({"detail": "firma no válida"}, status_code=401)
    if params.get("AccountSid") and params["AccountSid"] != ctx.settings.get("account_sid"):
        return Response({"detail": "otra cuenta"}, status_code=403)
    status = STATUSES.get(params.get("MessageStatus", ""))
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if status is None or not sid:
        return Response({"status": "ignored", "changed": 0})
    error, permanent = "", True
    if status == "failed":
        code_text = params.get("ErrorCode", "")
        code = (
            int(code_text)
            if code_text.isascii() and code_text.isdigit() and len(code_text) < 10
            else 0
        )
        permanent = code in PERMANENT_CODES
        error = f"SMS ({code_text or '?'}): {params.get('MessageStatus')}"
    changed = await ctx.record_delivery(sid, status, error, permanent)
    return Response({"status": "accepted", "changed": int(changed)})


ROUTES = [receive_status]
