"""A fake Twilio-style SMS API on 127.0.0.1, and its signed status callbacks.

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``: HTTP Basic ``AccountSid:AuthToken``,
  form ``To`` (E.164), ``From`` or ``MessagingServiceSid``, ``Body``, optional
  ``StatusCallback``; answers 201 with ``sid`` and ``status: queued``. Wrong credentials get 401
  (code 20003), a malformed ``To`` 400 (21211), a number in :attr:`FakeSms.opted_out` 400
  (21610).

:meth:`FakeSms.fail_next` makes the next requests answer an error; :meth:`FakeSms.status_callback`
builds the form the provider posts to the message's ``StatusCallback``, signed
``X-Twilio-Signature`` (base64 HMAC-SHA1 of the URL and the sorted parameters with the auth
token), and :meth:`FakeSms.send_status` posts it to the running app.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from recaudo.testing import FakeRequest, FakeResponse, FakeServer

ACCOUNT_SID = "AC" + "0" * 32


def signature(url: str, params: dict[str, str], auth_token: str) -> str:
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(
        hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    ).decode()


@dataclass
class FakeSms:
    account_sid: str = ACCOUNT_SID
    auth_token: str = "fake-auth-token"
    opted_out: set[str] = field(default_factory=set)
    sent: list[dict[str, str]] = field(default_factory=list)  # accepted messages, with their sid
    _failures: list[tuple[int, int]] = field(default_factory=list)
    server: FakeServer | None = None

    def __enter__(self) -> FakeSms:
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
        self._failures.extend([(status, code)] * times)

    def handle(self, request: FakeRequest) -> FakeResponse:
        match = re.fullmatch(r"/2010-04-01/Accounts/([^/]+)/Messages\.json", request.path)
        if request.method != "POST" or match is None:
            return FakeResponse(404, _error(20404, "The requested resource was not found", 404))
        expected = (
            "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        )
        if match.group(1) != self.account_sid or request.headers.get("authorization") != expected:
            return FakeResponse(401, _error(20003, "Authenticate", 401))
        if self._failures:
            status, code = self._failures.pop(0)
            return FakeResponse(status, _error(code or status, "Fake failure", status))
        form = request.form()
        to = form.get("To", "")
        if not re.fullmatch(r"\+[1-9]\d{7,14}", to):
            return FakeResponse(400, _error(21211, f"The 'To' number {to} is not valid.", 400))
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return FakeResponse(400, _error(21603, "A 'From' phone number is required.", 400))
        if not form.get("Body"):
            return FakeResponse(400, _error(21602, "Message body is required.", 400))
        if to in self.opted_out:
            return FakeResponse(
                400, _error(21610, "Attempt to send to unsubscribed recipient", 400)
            )
        sid = "SM" + uuid.uuid4().hex
        self.sent.append({"sid": sid, **form})
        return FakeResponse(
            201,
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": to,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": form["Body"],
                "status": "queued",
                "num_segments": "1",
                "error_code": None,
                "error_message": None,
            },
        )

    def status_callback(
        self,
        sid: str,
        status: str,
        *,
        error_code: int | None = None,
        token: str | None = None,
        url: str | None = None,
    ) -> tuple[str, bytes, dict[str, str]]:
        """The URL, form body and headers the provider posts for ``sid``'s new ``status``."""
        message = next(m for m in self.sent if m["sid"] == sid)
        target = url or message["StatusCallback"]
        params = {
            "AccountSid": self.account_sid,
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": message["To"],
            "From": message.get("From", ""),
            "ApiVersion": "2010-04-01",
        }
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        key = self.auth_token if token is None else token
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": signature(target, params, key),
        }
        return target, urlencode(params).encode(), headers

    async def send_status(
        self, client: httpx.AsyncClient, sid: str, status: str, **kwargs: Any
    ) -> httpx.Response:
        url, body, headers = self.status_callback(sid, status, **kwargs)
        return await client.post(url, content=body, headers=headers)


def _error(code: int, message: str, status: int = 400) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
