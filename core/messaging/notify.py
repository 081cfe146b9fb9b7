"""Sending a message to a customer through the notification channels their tenant enabled.

Channels come from plugins (``recaudo_notification_channels``); only those of enabled plugins are
used. Every attempt is written to ``NotificationLog`` for staff and for the development outbox.
Secrets in a message (a one-time link) are redacted from the log unless the log *is* the delivery
(development without SMTP), so the database never holds a usable token in production.

A channel that cannot deliver yet (email in production with no SMTP server) does not lose the
message: it is logged as ``waiting`` with its full text encrypted in ``sealed``, and
:func:`deliver_waiting` (run by the outbox relay every minute) sends it once the channel can.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from recaudo.core.platform.extensions import NotificationChannel
from recaudo.core.platform.host import get_host
from recaudo.core.platform.values import OutgoingMessage, TenantInfo
from recaudo.core.tables import Customer, NotificationLog
from recaudo.tenants.models import Tenant
from recaudo.tenants.plugin_config import decrypt, enabled_plugins, encrypt, plugin_settings
from recaudo.tenants.scoped import TenantScope, unscoped
from recaudo.tenants.service import tenant_info

log = logging.getLogger(__name__)
REDACTED = "[enlace de un solo uso]"
CLAIM_TIMEOUT = timedelta(minutes=5)


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


async def route_for(
    scope: TenantScope, customer: Customer, prefer: Iterable[str] = ()
) -> Route | None:
    """The channel to use: preferred kinds first, then the customer's, then any with an address."""
    channels = await tenant_channels(scope)
    order = [*prefer, str(customer.preferred_channel or "")]
    ranked = sorted(
        channels,
        key=lambda item: order.index(item[1].name) if item[1].name in order else len(order),
    )
    for plugin, channel in ranked:
        address = _address(customer, channel)
        if address:
            return Route(plugin, channel, address)
    return None


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
) -> NotificationLog | None:
    """Deliver ``message`` (its ``to`` is filled here) and log it; ``None`` without a channel.

    Never raises for delivery problems: a failed attempt is logged with status ``failed``.
    """
    route = await route_for(scope, customer, prefer)
    if route is None:
        log.info("customer %s of tenant %s has no usable channel", customer.id, tenant.slug)
        return None
    outgoing = replace(message, to=route.address)
    hidden = () if keep_secrets_in_log else tuple(secrets)
    if not route.channel.ready():
        log.warning(
            "%s cannot deliver yet (no server configured): message to customer %s waits",
            route.plugin,
            customer.id,
        )
        waiting = _log_entry(route, outgoing, hidden, "waiting")
        waiting.sealed = encrypt(json.dumps(asdict(outgoing)), secret_key)
        await scope.add(waiting)
        return waiting
    status = "sent"
    try:
        settings = await plugin_settings(scope, route.plugin, secret_key)
        result = await route.channel.send(outgoing, tenant, settings)
        if not result.ok:
            status = "failed"
            log.warning(
                "%s could not deliver to customer %s: %s", route.plugin, customer.id, result.error
            )
    except Exception:
        status = "failed"
        log.exception("%s failed sending to customer %s", route.plugin, customer.id)
    entry = _log_entry(route, outgoing, hidden, status)
    await scope.add(entry)
    return entry


def _log_entry(
    route: Route, outgoing: OutgoingMessage, hidden: tuple[str, ...], status: str
) -> NotificationLog:
    return NotificationLog(
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
        if found is None or not found[1].ready():
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
        try:
            message = OutgoingMessage(**json.loads(decrypt(claimed[0]["sealed"], secret_key)))
            result = await channel.send(
                message, tenant_info(tenant), await plugin_settings(scope, plugin, secret_key)
            )
            status = "sent" if result.ok else "failed"
        except Exception:
            log.exception("%s still cannot deliver waiting message %s", plugin, row["id"])
        done: dict[Any, Any] = {NotificationLog.status: status}
        if status != "waiting":
            done[NotificationLog.sealed] = ""
            delivered += status == "sent"
        await scope.update(NotificationLog, done).where(NotificationLog.id == row["id"])
    return delivered
