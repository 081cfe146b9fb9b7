"""A fake WhatsApp Business Cloud API on 127.0.0.1, and Meta's signed status webhooks.

It speaks the one endpoint the channel uses, with Meta's shapes:

* ``POST /{version}/{phone_number_id}/messages`` with ``Authorization: Bearer <token>`` and a
  template message (``messaging_product``, ``to`` in digits, ``type: template``, ``template.name``,
  ``template.language.code``, body ``components``); answers ``{"messages": [{"id": "wamid…"}]}``.
  A wrong token gets 401 with Meta's error 190; a number in :attr:`FakeWhatsApp.undeliverable`
  gets 400 with error 131026.

:meth:`FakeWhatsApp.fail_next` makes the next requests answer an error (429, 5xx or a Meta code).
:meth:`FakeWhatsApp.status_webhook` builds the delivery-status webhook Meta would send, signed
``X-Hub-Signature-256`` with the app secret, and :meth:`FakeWhatsApp.send_status` posts it to the
running app (any ``httpx.AsyncClient``: one over a socket or the in-process ASGI client).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from recaudo.testing import FakeRequest, FakeResponse, FakeServer

PHONE_NUMBER_ID = "109876543210"


@dataclass
class FakeWhatsApp:
    access_token: str = "EAAG-fake-token"
    app_secret: str = "fake-app-secret"
    phone_number_id: str = PHONE_NUMBER_ID
    undeliverable: set[str] = field(default_factory=set)
    sent: list[dict[str, Any]] = field(default_factory=list)  # accepted messages, with their id
    _failures: list[tuple[int, int]] = field(default_factory=list)
    server: FakeServer | None = None

    def __enter__(self) -> FakeWhatsApp:
        self.server = FakeServer(self.handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None, "use the fake as a context manager"
        return self.server.url

    @property
    def requests(self) -> list[FakeRequest]:
        return self.server.requests if self.server else []

    def fail_next(self, status: int, code: int = 0, times: int = 1) -> None:
        """Answer the next ``times`` sends with HTTP ``status`` and Meta error ``code``."""
        self._failures.extend([(status, code)] * times)

    def handle(self, request: FakeRequest) -> FakeResponse:
        match = re.fullmatch(r"/(v\d+\.\d+)/([^/]+)/messages", request.path)
        if request.method != "POST" or match is None:
            return FakeResponse(404, _error(100, "Unknown path"))
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return FakeResponse(401, _error(190, "Invalid OAuth access token."))
        if match.group(2) != self.phone_number_id:
            return FakeResponse(400, _error(100, "Unsupported post request (phone number id)"))
        if self._failures:
            status, code = self._failures.pop(0)
            return FakeResponse(status, _error(code or status, "Fake failure"))
        body = request.json()
        problem = _invalid(body)
        if problem:
            return FakeResponse(400, _error(100, problem))
        if body["to"] in self.undeliverable:
            return FakeResponse(400, _error(131026, "Message undeliverable"))
        wamid = "wamid." + uuid.uuid4().hex
        self.sent.append({"id": wamid, **body})
        return FakeResponse(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": wamid}],
            },
        )

    def status_webhook(
        self,
        wamid: str,
        status: str,
        *,
        error_code: int | None = None,
        secret: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of Meta's webhook for one message's new ``status``."""
        entry: dict[str, Any] = {
            "id": wamid,
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": "5215512345678",
        }
        if error_code is not None:
            entry["errors"] = [{"code": error_code, "title": "Message undeliverable."}]
        payload = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "WABA-1",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550000000",
                                    "phone_number_id": self.phone_number_id,
                                },
                                "statuses": [entry],
                            },
                        }
                    ],
                }
            ],
        }
        body = json.dumps(payload).encode()
        key = (self.app_secret if secret is None else secret).encode()
        signature = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        return body, {"content-type": "application/json", "x-hub-signature-256": signature}

    async def send_status(
        self, client: httpx.AsyncClient, url: str, wamid: str, status: str, **kwargs: Any
    ) -> httpx.Response:
        """Post the signed webhook to ``url`` on the running app, as Meta does."""
        body, headers = self.status_webhook(wamid, status, **kwargs)
        return await client.post(url, content=body, headers=headers)


def _invalid(body: Any) -> str:
    """What Meta would refuse in a template message, or ``""``."""
    if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if not re.fullmatch(r"[1-9]\d{7,14}", str(body.get("to") or "")):
        return "to: a phone number in international format, digits only"
    template = body.get("template") or {}
    if body.get("type") != "template" or not template.get("name"):
        return "only template messages outside a 24-hour window"
    if not (template.get("language") or {}).get("code"):
        return "template.language.code is required"
    for component in template.get("components") or ():
        for param in component.get("parameters") or ():
            text = str(param.get("text") or "")
            if param.get("type") != "text" or not text or "\n" in text or "\t" in text:
                return "(#132018) parameters may not have new lines or tabs"
    return ""


def _error(code: int, message: str) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": uuid.uuid4().hex[:12],
        }
    }
