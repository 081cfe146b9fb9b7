"""Sending one delivery: sign, check where the URL points, POST, record what happened.

**Signature.** ``Recaudo-Signature: t=<unix time>,v1=<hex>`` where ``<hex>`` is the HMAC-SHA256,
keyed with the endpoint's secret, of ``"<t>.<raw body>"``. While a rotation overlaps, a second
``v1=`` made with the previous secret follows. Receivers check one ``v1`` matches and ``t`` is
recent (docs/webhooks.md has the code).

**Retries.** 2xx is delivered. Anything else (another status, a timeout, a refused connection,
a refused address) is a failed attempt retried per :data:`WEBHOOK_POLICY`: 30 s doubling up to
6 hours, for 3 days; then the delivery is ``dead`` (staff see it and may resend it). A delivered
or dead delivery is never sent again by a re-run of its job.

**SSRF.** In production the URL must be ``https://`` and every address its host resolves to must
be public: loopback, private (RFC 1918, ULA), link-local (cloud metadata), multicast, reserved
and unspecified addresses are refused, at every attempt. The connection then goes to the
address that was checked (the host name is kept for ``Host`` and TLS SNI/certificate checks), so
a DNS answer that changes between the check and the connection cannot redirect it. Redirects are
never followed. Development mode (``RECAUDO_ENV=development``) allows ``http://`` and local
addresses, for a receiver on the same machine.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from recaudo.core.platform.jobs import RetryPolicy
from recaudo.core.tables import WebhookDelivery, WebhookEndpoint
from recaudo.core.webhooks import endpoints
from recaudo.tenants.plugin_config import SettingsError
from recaudo.tenants.scoped import TenantScope

log = logging.getLogger(__name__)

#: Waits between attempts: 30 s doubling up to 6 hours.
WEBHOOK_POLICY = RetryPolicy(
    first=timedelta(seconds=30), cap=timedelta(hours=6), give_up_after=timedelta(days=3)
)
#: Attempts before dead: the last one comes once the waits add up to 3 days (counted in
#: attempts, so time the workers were down does not use up the window).
MAX_ATTEMPTS = (WEBHOOK_POLICY.max_attempts or 0) + 1
#: The outbox job's own policy: same waits, a longer window, so the delivery decides it is
#: dead (the job never gives up first; it is only a safety net for unexpected errors).
JOB_POLICY = RetryPolicy(
    first=timedelta(seconds=30), cap=timedelta(hours=6), give_up_after=timedelta(days=4)
)
TIMEOUT = 10.0
EXCERPT = 1024
USER_AGENT = "Recaudo-Webhooks/1.0 (+https://github.com/recaudo)"


class DeliveryFailed(Exception):
    """An attempt failed and will be retried; the message says why (shown in the log)."""


class AddressRefused(Exception):
    """The URL's host is, or resolves to, an address webhooks may not reach."""


def signature(body: bytes, timestamp: int, secrets: list[str]) -> str:
    signed = str(timestamp).encode() + b"." + body
    parts = [f"t={timestamp}"]
    for secret in secrets:
        parts.append("v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest())
    return ",".join(parts)


async def resolve(host: str, port: int, *, development: bool) -> str:
    """The address to connect to for ``host``; :class:`AddressRefused` when (outside
    development) any address it resolves to is not public."""
    try:
        literal = ipaddress.ip_address(host)
        addresses = [str(literal)]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise AddressRefused(f"cannot resolve {host}: {exc}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise AddressRefused(f"cannot resolve {host}")
    if not development:
        for address in addresses:
            if endpoints.blocked_address(address.split("%")[0]):
                raise AddressRefused(
                    f"{host} resolves to {address}, a private, loopback or link-local address"
                )
    return addresses[0]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    excerpt: str
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def post(url: str, body: bytes, headers: dict[str, str], *, development: bool) -> Outcome:
    """POST ``body`` to ``url`` pinned to the checked address; never raises for network errors."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    scheme = parts.scheme
    if scheme not in ("https", "http") or (scheme == "http" and not development):
        return Outcome(None, "", "refused: only https:// URLs are allowed")
    port = parts.port or (443 if scheme == "https" else 80)
    try:
        address = await resolve(host, port, development=development)
    except AddressRefused as exc:
        return Outcome(None, "", f"refused: {exc}")
    netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    target = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if parts.port is None else f"[{host}]:{parts.port}"
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    try:
        async with httpx.AsyncClient(
            timeout=TIMEOUT, follow_redirects=False, trust_env=False
        ) as client:
            request = client.build_request(
                "POST",
                target,
                content=body,
                headers={**headers, "Host": host_header},
                extensions=extensions,
            )
            # One deadline for the whole exchange: a server trickling bytes cannot hold a
            # worker longer than TIMEOUT (httpx's own timeouts are per read).
            async with asyncio.timeout(TIMEOUT):
                response = await client.send(request, stream=True)
                try:
                    excerpt = b""
                    async for chunk in response.aiter_bytes():
                        excerpt += chunk
                        if len(excerpt) >= EXCERPT:
                            break
                finally:
                    await response.aclose()
    except (httpx.TimeoutException, TimeoutError):
        return Outcome(None, "", f"timeout after {TIMEOUT:g} s")
    except httpx.HTTPError as exc:
        return Outcome(None, "", f"{type(exc).__name__}: {exc}"[:300])
    text = excerpt[:EXCERPT].decode("utf-8", errors="replace")
    error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return Outcome(response.status_code, text, error)


async def deliver(scope: TenantScope, delivery_id: int) -> str:
    """Make one attempt at a delivery; returns its new status (or ``"skipped"``).

    Raises :class:`DeliveryFailed` after a failed attempt that will be retried, so the outbox
    schedules the next one per :data:`WEBHOOK_POLICY`; the last attempt marks it ``dead`` and
    returns.
    """
    delivery = await scope.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status in ("delivered", "dead"):
        return "skipped"
    endpoint = await scope.get(WebhookEndpoint, delivery.endpoint)
    if endpoint is None:
        return "skipped"
    at = endpoints.now()
    if not endpoint.active and delivery.event_type != endpoints.PING:
        await _update(delivery, scope, status="dead", error="endpoint disabled", at=at)
        return "dead"
    development = endpoints.is_development()
    body = str(delivery.payload).encode()
    try:
        secrets = endpoints.signing_secrets(endpoint, at)
    except SettingsError as exc:
        outcome = Outcome(None, "", str(exc))
    else:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Recaudo-Event-Id": str(delivery.event_id),
            "Recaudo-Event-Type": str(delivery.event_type),
            "Recaudo-Signature": signature(body, int(at.timestamp()), secrets),
        }
        outcome = await post(str(endpoint.url), body, headers, development=development)
    attempts = int(delivery.attempts) + 1
    if outcome.ok:
        await _update(
            delivery, scope, status="delivered", outcome=outcome, at=at, attempts=attempts
        )
        return "delivered"
    final = attempts >= MAX_ATTEMPTS
    await _update(
        delivery,
        scope,
        status="dead" if final else "failed",
        outcome=outcome,
        at=at,
        attempts=attempts,
        next_at=None if final else at + WEBHOOK_POLICY.delay(attempts),
    )
    if final:
        log.warning("webhook delivery %s gave up after %s attempts", delivery_id, attempts)
        return "dead"
    raise DeliveryFailed(f"webhook delivery {delivery_id}: {outcome.error}")


async def _update(
    delivery: WebhookDelivery,
    scope: TenantScope,
    *,
    status: str,
    at: datetime,
    outcome: Outcome | None = None,
    error: str = "",
    attempts: int | None = None,
    next_at: datetime | None = None,
) -> None:
    values: dict[Any, Any] = {
        WebhookDelivery.status: status,
        WebhookDelivery.next_attempt_at: next_at,
        WebhookDelivery.last_error: (outcome.error if outcome else error)[:300],
    }
    if attempts is not None:
        values[WebhookDelivery.attempts] = attempts
    if outcome is not None:
        values[WebhookDelivery.last_status_code] = outcome.status_code
        values[WebhookDelivery.response_excerpt] = outcome.excerpt[:EXCERPT]
    if status == "delivered":
        values[WebhookDelivery.delivered_at] = at
    await scope.update(WebhookDelivery, values).where(
        (WebhookDelivery.id == delivery.id) & WebhookDelivery.status.is_in(["pending", "failed"])
    )
