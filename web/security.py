"""Security headers for every response, including a strict Content-Security-Policy.

Tenant colours reach the page only through the generated ``theme.css``, so styles and scripts can
both be limited to our own origin.
"""

from __future__ import annotations

import json
from typing import Any, cast

from litestar.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self' https:; "
    "object-src 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    """ASGI wrapper adding :data:`HEADERS` to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.headers = [*HEADERS]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in self.headers if n not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


MAX_FORM_BYTES = 1024 * 1024


class RejectNulBytes:
    """ASGI wrapper: text with NUL characters is refused with 400 before any handler sees it.

    PostgreSQL cannot store NUL in text, so such input would otherwise fail deep in a query. The
    path, the query string and URL-encoded form bodies are checked; multipart bodies are not
    (uploaded files legitimately contain NUL bytes).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            await _bad_request(send, "NUL characters are not allowed")
            return
        headers = dict(scope.get("headers", []))
        if headers.get(b"content-type", b"").startswith(b"application/x-www-form-urlencoded"):
            chunks: list[bytes] = []
            size = 0
            more = True
            while more:
                message: Any = await receive()
                body = message.get("body", b"")
                size += len(body)
                if size > MAX_FORM_BYTES:
                    await _bad_request(send, "form too large", status=413)
                    return
                chunks.append(body)
                more = bool(message.get("more_body", False))
            body = b"".join(chunks)
            if b"%00" in body:
                await _bad_request(send, "NUL characters are not allowed")
                return
            replayed = False

            async def replay() -> Any:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, cast(Receive, replay), send)
            return
        await self.app(scope, receive, send)


async def _bad_request(send: Send, detail: str, status: int = 400) -> None:
    payload = json.dumps({"status_code": status, "detail": detail}).encode()
    start: Any = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ],
    }
    body: Any = {"type": "http.response.body", "body": payload}
    await send(start)
    await send(body)
