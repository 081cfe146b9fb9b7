"""Sending a message to a customer through the notification channels their tenant enabled.

Channels come from plugins (``recaudo_notification_channels``); only those of enabled plugins are
used. Every attempt is written to ``NotificationLog`` for staff and for the development outbox.
Secrets in a message (a one-time link) are redacted from the log unless the log *is* the delivery
(development without SMTP), so the database never holds a usable token in production.
A channel whose plugin raises or hangs is recorded (:mod:`recaudo.core.platform.guard`) and the
message goes through the customer's next channel.

A channel that cannot deliver yet (email in production with no SMTP server) does not lose the
message: it is logged as ``waiting`` with its full text encrypted in ``sealed``, and
:func:`deliver_waiting` (run by the outbox relay every minute) sends it once the channel can.

A transient failure (the channel raised: network, provider 429/5xx; or answered
``DeliveryResult(ok=False, permanent=False)``) moves on to the customer's next channel, unless the
caller asked for it back (``raise_transient=True``, :class:`TransientDeliveryError`): a reminder
job that may only use the channel the contact rules allowed then fails its attempt and the job
system retries it with backoff, so the message is neither dropped nor sent by another channel.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from recaudo.core.platform import guard
from recaudo.core.platform.context import context_for
from recaudo.core.platform.extensions import NotificationChannel
from recaudo.core.platform.host import get_host
from recaudo.core.platform.values import Attachment, OutgoingMessage, TenantInfo
from recaudo.core.tables import Customer, NotificationLog
from recaudo.tenants.models import Tenant
from recaudo.tenants.plugin_config import decrypt, enabled_plugins, encrypt
from recaudo.tenants.scoped import TenantScope, unscoped
from recaudo.tenants.service import tenant_info

log = logging.getLogger(__name__)
REDACTED = "[enlace de un solo uso]"
CLAIM_TIMEOUT = timedelta(minutes=5)


class TransientDeliveryError(Exception):
    """Every allowed channel failed in a way that may pass; raised for ``raise_transient=True``
    so the calling job's attempt fails and is retried with backoff."""


@dataclass(frozen=True)
class Route:
    plugin: str
    channel: NotificationChannel
    address: str


async def tenant_channels(scope: TenantScope) -> list[tuple[str, NotificationChannel]]:
    enabled = set(await enabled_plugins(scope))
    return [
        (plugin, channel)
        for plugin, channel in get_host().provided("recaudo_notification_channels")
        if plugin in enabled and isinstance(channel, NotificationChannel)
    ]


def _address(customer: Customer, channel: NotificationChannel) -> str:
    kind = getattr(channel, "address_kind", "email")
    return str(customer.email if kind == "email" else customer.phone or "").strip()


async def routes_for(
    scope: TenantScope, customer: Customer, prefer: Iterable[str] = ()
) -> list[Route]:
    """Channels to use, best first: preferred kinds, then the customer's, then any with an
    address. The later ones are where a message goes when a channel's plugin fails."""
    channels = await tenant_channels(scope)
    order = [*prefer, str(customer.preferred_channel or "")]
    ranked = sorted(
        channels,
        key=lambda item: order.index(item[1].name) if item[1].name in order else len(order),
    )
    out = []
    for plugin, channel in ranked:
        address = _address(customer, channel)
        if address:
            out.append(Route(plugin, channel, address))
    return out


async def route_for(
    scope: TenantScope, customer: Customer, prefer: Iterable[str] = ()
) -> Route | None:
    """The channel to use: preferred kinds first, then the customer's, then any with an address."""
    routes = await routes_for(scope, customer, prefer)
    return routes[0] if routes else None


def _ready(route: Route, tenant_id: int) -> bool:
    ready = route.channel.ready
    return guard.call(route.plugin, "ready", ready, fallback=False, tenant_id=tenant_id)


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


async def send_to_customer(
    scope: TenantScope,
    tenant: TenantInfo,
    customer: Customer,
    message: OutgoingMessage,
    *,
    secret_key: str,
    secrets: Iterable[str] = (),
    keep_secrets_in_log: bool = False,
    prefer: Iterable[str] = (),
    only: Iterable[str] | None = None,
    contact_id: int | None = None,
    raise_transient: bool = False,
) -> NotificationLog | None:
    """Deliver ``message`` (its ``to`` is filled here) and log it; ``None`` without a channel.

    ``only`` restricts the channels (a reminder goes only where the contact rules allowed it);
    ``contact_id`` links the log to its :class:`ContactAttempt` for delivery-status callbacks.
    A channel that fails transiently is passed over for the next one; with ``raise_transient``
    the first such failure raises :class:`TransientDeliveryError` instead (nothing is logged:
    the retry will log what it sends). Otherwise never raises for delivery problems: a failed
    attempt is logged with status ``failed``.
    """
    routes = await routes_for(scope, customer, prefer)
    if only is not None:
        allowed = set(only)
        routes = [route for route in routes if route.channel.name in allowed]
    if not routes:
        log.info("customer %s of tenant %s has no usable channel", customer.id, tenant.slug)
        return None
    hidden = () if keep_secrets_in_log else tuple(secrets)
    status = "failed"
    result = None
    # A channel whose plugin raises or hangs is recorded by the guard and the next one is tried;
    # one that cannot deliver yet keeps the message waiting for it.
    for route in routes:
        outgoing = replace(message, to=route.address)
        if not _ready(route, tenant.id):
            log.warning(
                "%s cannot deliver yet (no server configured): message to customer %s waits",
                route.plugin,
                customer.id,
            )
            waiting = _log_entry(route, outgoing, hidden, "waiting", contact_id=contact_id)
            waiting.sealed = encrypt(seal(outgoing), secret_key)
            await scope.add(waiting)
            return waiting
        ctx = await context_for(tenant, route.plugin)
        try:
            async with guard.watch(route.plugin, "send", tenant_id=tenant.id):
                result = await route.channel.send(ctx, outgoing)
        except Exception as exc:
            log.warning("%s failed sending to customer %s", route.plugin, customer.id)
            if raise_transient:
                raise TransientDeliveryError(f"{route.channel.name}: {exc!r}"[:500]) from exc
            result = None
            continue
        if not result.ok and not result.permanent:
            log.warning(
                "%s could not deliver to customer %s for now: %s",
                route.plugin,
                customer.id,
                result.error,
            )
            if raise_transient:
                raise TransientDeliveryError(f"{route.channel.name}: {result.error}"[:500])
            continue
        status = "sent" if result.ok else "failed"
        if not result.ok:
            log.warning(
                "%s could not deliver to customer %s: %s", route.plugin, customer.id, result.error
            )
        break
    entry = _log_entry(route, outgoing, hidden, status, contact_id=contact_id)
    if result is not None:
        entry.provider_id = result.provider_id[:120]
        entry.error = result.error[:500]
    await scope.add(entry)
    return entry


def seal(message: OutgoingMessage) -> str:
    """``message`` as JSON for a waiting row (attachments' bytes in base64)."""
    data = asdict(message)
    data["attachments"] = [
        {**item, "content": base64.b64encode(item["content"]).decode()}
        for item in data["attachments"]
    ]
    data["params"] = list(message.params)
    return json.dumps(data)


def unseal(text: str) -> OutgoingMessage:
    """The message :func:`seal` wrote (rows sealed before attachments existed included)."""
    data = json.loads(text)
    data["attachments"] = tuple(
        Attachment(
            filename=str(item["filename"]),
            content_type=str(item["content_type"]),
            content=base64.b64decode(item["content"]),
        )
        for item in data.get("attachments") or ()
    )
    data["params"] = tuple(data.get("params") or ())
    return OutgoingMessage(**data)


def _log_entry(
    route: Route,
    outgoing: OutgoingMessage,
    hidden: tuple[str, ...],
    status: str,
    *,
    contact_id: int | None = None,
) -> NotificationLog:
    return NotificationLog(
        kind=outgoing.kind[:30],
        contact=contact_id,
        channel=route.channel.name,
        recipient=route.address[:254],
        subject=outgoing.subject[:300],
        body_text=_redact(outgoing.text, hidden),
        body_html=_redact(outgoing.html, hidden),
        status=status,
    )


async def deliver_waiting(secret_key: str, limit: int = 100) -> int:
    """Send messages that waited for their channel, now that it can deliver; returns how many.

    A message is claimed (``waiting`` → ``sending``) before it is sent, so several relays never
    send it twice; one left ``sending`` for :data:`CLAIM_TIMEOUT` (its relay crashed) is claimed
    again. A transient failure puts it back to wait; nothing is ever dropped.
    """
    table = unscoped(NotificationLog)
    stale = datetime.now(UTC) - CLAIM_TIMEOUT
    claimable = (table.status == "waiting") | (
        (table.status == "sending") & (table.claimed_at < stale)
    )
    rows = await (
        table.select(table.id, table.tenant, table.channel)
        .where(claimable)
        .order_by(table.id)
        .limit(limit)
    )
    delivered = 0
    channels: dict[int, dict[str, tuple[str, NotificationChannel]]] = {}
    for row in rows:
        scope = TenantScope(int(row["tenant"]))
        if scope.tenant_id not in channels:
            channels[scope.tenant_id] = {c.name: (p, c) for p, c in await tenant_channels(scope)}
        found = channels[scope.tenant_id].get(row["channel"])
        if found is None or not _ready(Route(found[0], found[1], ""), scope.tenant_id):
            continue
        plugin, channel = found
        claimed = (
            await scope.update(
                NotificationLog,
                {NotificationLog.status: "sending", NotificationLog.claimed_at: datetime.now(UTC)},
            )
            .where((NotificationLog.id == row["id"]) & claimable)
            .returning(NotificationLog.sealed)
        )
        tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
        if not claimed or tenant is None:
            continue
        status = "waiting"
        result = None
        try:
            message = unseal(decrypt(claimed[0]["sealed"], secret_key))
            ctx = await context_for(tenant_info(tenant), plugin)
            async with guard.watch(plugin, "send", tenant_id=scope.tenant_id):
                result = await channel.send(ctx, message)
            if result.ok or result.permanent:
                status = "sent" if result.ok else "failed"
            else:
                log.warning("%s cannot deliver message %s yet: %s", plugin, row["id"], result.error)
        except Exception:
            log.exception("%s still cannot deliver waiting message %s", plugin, row["id"])
        done: dict[Any, Any] = {NotificationLog.status: status}
        if status != "waiting":
            done[NotificationLog.sealed] = ""
            delivered += status == "sent"
            if result is not None:  # for the provider's delivery-status callbacks
                done[NotificationLog.provider_id] = result.provider_id[:120]
                done[NotificationLog.error] = result.error[:500]
        await scope.update(NotificationLog, done).where(NotificationLog.id == row["id"])
    return delivered
