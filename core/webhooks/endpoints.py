"""Webhook endpoints: URL checks, subscribed events, secrets encrypted at rest, rotation.

Secrets are encrypted with the key plugin secrets use (``tenants.plugin_config.encrypt``: HKDF of
``RECAUDO_SECRET_KEY`` → Fernet). A new secret is shown once, when it is made; after a rotation
the previous one keeps signing (a second ``v1`` in ``Recaudo-Signature``) for
:data:`ROTATION_OVERLAP`, so the receiver can switch without losing events.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from recaudo.core import config
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.tables import WebhookEndpoint
from recaudo.tenants.plugin_config import SettingsError, decrypt, encrypt
from recaudo.tenants.scoped import TenantScope

#: Every event type an endpoint can subscribe to ("*" subscribes to all, including new ones).
EVENT_TYPES = (
    "invoice.created",
    "invoice.updated",
    "invoice.paid",
    "invoice.partially_paid",
    "invoice.reopened",
    "invoice.voided",
    "invoice.credited",
    "invoice.written_off",
    "payment.approved",
    "payment.refunded",
    "payment.failed",
    "payment.charged_back",
    "plan.created",
    "plan.completed",
    "plan.cancelled",
    "promise.created",
    "promise.kept",
    "promise.broken",
)
PING = "ping"
ROTATION_OVERLAP = timedelta(hours=24)
MAX_ENDPOINTS = 20
MAX_URL = 2000
MAX_DESCRIPTION = 200


class WebhookError(ValueError):
    """Bad input for an endpoint; the message names the field (shown to staff as a 400)."""


def now() -> datetime:
    return datetime.now(UTC)


def is_development() -> bool:
    try:
        return config.active().is_development
    except RuntimeError:
        return False  # no configuration: the strict rules apply


def _secret_key() -> str:
    return config.active().secret_key


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def blocked_address(address: str) -> bool:
    """True for addresses a production webhook may never reach: loopback, private, link-local
    (cloud metadata at 169.254.169.254), multicast, reserved, unspecified, and IPv6 forms of
    those (IPv4-mapped included)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def check_url(url: str, *, development: bool | None = None) -> str:
    """The URL, stripped, if it may receive webhooks; :class:`WebhookError` naming ``url`` if not.

    Production: ``https://`` only, a host name or a public IP literal, no credentials. The
    addresses a name resolves to are checked again at every delivery
    (:func:`recaudo.core.webhooks.delivery.resolve`), so DNS cannot point it inside later.
    Development also allows ``http://`` and local addresses (tests and a receiver on this machine).
    """
    dev = is_development() if development is None else development
    url = (url or "").strip()
    if not url:
        raise WebhookError("url: escribe la dirección que recibirá los eventos.")
    if len(url) > MAX_URL:
        raise WebhookError("url: máximo 2000 caracteres.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise WebhookError("url: no puede tener espacios ni caracteres de control.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookError("url: no es una dirección válida.") from None
    allowed = ("https", "http") if dev else ("https",)
    if parts.scheme not in allowed:
        raise WebhookError(
            "url: debe empezar con https://."
            if not dev
            else "url: debe empezar con http:// o https://."
        )
    host = parts.hostname or ""
    if not host:
        raise WebhookError("url: no es una dirección válida.")
    if parts.username or parts.password:
        raise WebhookError("url: no puede incluir usuario ni contraseña.")
    if port == 0:
        raise WebhookError("url: no es una dirección válida.")
    if not dev:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and blocked_address(str(literal)):
            raise WebhookError(
                "url: no se permiten direcciones privadas, locales ni de enlace local."
            )
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            raise WebhookError(
                "url: no se permiten direcciones privadas, locales ni de enlace local."
            )
        if "." not in host and literal is None:
            raise WebhookError(
                "url: usa un nombre de dominio completo (por ejemplo, erp.ejemplo.com)."
            )
    return url


def check_events(chosen: list[str]) -> list[str]:
    """The chosen event types, known ones only, in catalogue order; ``["*"]`` for all."""
    chosen = [c.strip() for c in chosen if c and c.strip()]
    if not chosen:
        raise WebhookError("events: elige al menos un evento, o todos.")
    if "*" in chosen:
        return ["*"]
    unknown = [c for c in chosen if c not in EVENT_TYPES]
    if unknown:
        raise WebhookError("events: hay un evento desconocido.")
    return [t for t in EVENT_TYPES if t in chosen]


def subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    if event_type == PING:
        return True
    events = loads(endpoint.events, []) or []
    return "*" in events or event_type in events


@dataclass(frozen=True)
class Created:
    endpoint: WebhookEndpoint
    secret: str  # shown once


async def create_endpoint(
    scope: TenantScope, url: str, events: list[str], description: str, actor: str
) -> Created:
    url = check_url(url)
    chosen = check_events(events)
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise WebhookError("description: máximo 200 caracteres.")
    if await scope.count(WebhookEndpoint) >= MAX_ENDPOINTS:
        raise WebhookError("url: máximo 20 destinos por cuenta.")
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=url,
        description=description,
        events=chosen,
        active=True,
        secret=encrypt(secret, _secret_key()),
        previous_secret="",
        previous_expires_at=None,
        created_at=now(),
    )
    await scope.add(endpoint)
    await record(
        scope, actor, "webhook.created", f"webhook_endpoint:{endpoint.id}", url=url, events=chosen
    )
    return Created(endpoint, secret)


async def get_endpoint(scope: TenantScope, endpoint_id: object) -> WebhookEndpoint | None:
    return await scope.get(WebhookEndpoint, endpoint_id)


async def set_active(
    scope: TenantScope, endpoint: WebhookEndpoint, active: bool, actor: str
) -> None:
    await scope.update(WebhookEndpoint, {WebhookEndpoint.active: active}).where(
        WebhookEndpoint.id == endpoint.id
    )
    endpoint.active = active
    action = "webhook.enabled" if active else "webhook.disabled"
    await record(scope, actor, action, f"webhook_endpoint:{endpoint.id}")


async def delete_endpoint(scope: TenantScope, endpoint: WebhookEndpoint, actor: str) -> None:
    """Delete the endpoint and its delivery log (jobs still queued find nothing and stop)."""
    await scope.delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id)
    await record(
        scope, actor, "webhook.deleted", f"webhook_endpoint:{endpoint.id}", url=endpoint.url
    )


async def rotate_secret(scope: TenantScope, endpoint: WebhookEndpoint, actor: str) -> str:
    """A new secret (returned, to show once); the current one keeps signing for 24 hours."""
    secret = new_secret()
    expires = now() + ROTATION_OVERLAP
    await scope.update(
        WebhookEndpoint,
        {
            WebhookEndpoint.secret: encrypt(secret, _secret_key()),
            WebhookEndpoint.previous_secret: endpoint.secret,
            WebhookEndpoint.previous_expires_at: expires,
        },
    ).where(WebhookEndpoint.id == endpoint.id)
    endpoint.previous_secret, endpoint.previous_expires_at = endpoint.secret, expires
    endpoint.secret = encrypt(secret, _secret_key())
    await record(
        scope,
        actor,
        "webhook.secret_rotated",
        f"webhook_endpoint:{endpoint.id}",
        previous_valid_until=expires.isoformat(),
    )
    return secret


def signing_secrets(endpoint: WebhookEndpoint, at: datetime) -> list[str]:
    """The secrets that sign a delivery at ``at``: the current one, then the previous one while
    its overlap lasts. A secret that cannot be decrypted raises :class:`SettingsError`."""
    key = _secret_key()
    found = [decrypt(str(endpoint.secret), key)]
    expires = endpoint.previous_expires_at
    if endpoint.previous_secret and expires is not None:
        expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
        if at < expires:
            try:
                found.append(decrypt(str(endpoint.previous_secret), key))
            except SettingsError:
                pass  # the current secret still signs
    return found
