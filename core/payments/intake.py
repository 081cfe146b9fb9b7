"""Provider notifications in: verify, store in the provider-event inbox with a job, in one step.

Shared by every door a notification can come through (the webhook route today; a provider's
polling or an API later), so the rules live here and not in a route: a forged or stale
notification is rejected and leaves no trace; a genuine one is stored once (unique index on
tenant, plugin, event key) with its ``process_provider_event`` job in the same transaction;
nothing here talks to the provider, so intake stays fast while workers or the provider are down.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from recaudo.core import db
from recaudo.core.common import outbox
from recaudo.core.payments.method import WebhookRejected, WebhookRequest
from recaudo.core.payments.registry import method_for_plugin
from recaudo.core.platform.context import build_context, context_for
from recaudo.core.tables import ProviderEvent
from recaudo.tenants.plugin_config import enabled_plugins
from recaudo.tenants.resolve import tenant_by_slug
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info


class UnknownEndpoint(LookupError):
    """No such tenant, or no installed payment method of that name."""


class MalformedNotification(ValueError):
    """Genuine (verified) but unusable: the sender's error, not ours."""


@dataclass(frozen=True)
class Intake:
    stored: int  # new events stored (0 for a repeated delivery)
    events: int  # events the notification referred to


async def receive_notification(plugin: str, slug: str, incoming: WebhookRequest) -> Intake:
    """Verify ``incoming`` for ``plugin`` of tenant ``slug`` and store its events.

    Raises :class:`UnknownEndpoint`, :class:`WebhookRejected` (forged, stale, or the plugin is
    not enabled: the same answer, so which providers a tenant uses is not disclosed) or
    :class:`MalformedNotification`.
    """
    tenant = await tenant_by_slug(slug)
    method = method_for_plugin(plugin)
    if tenant is None or method is None:
        raise UnknownEndpoint("unknown webhook endpoint")
    scope = TenantScope(int(tenant.id))
    enabled = plugin in await enabled_plugins(scope)
    # A tenant that has not enabled the plugin has no secret for it, so verification fails.
    info = tenant_info(tenant)
    ctx = await context_for(info, plugin) if enabled else build_context(info, plugin, {})
    try:
        method.verify_webhook(ctx, incoming)
        if not enabled:
            raise WebhookRejected(f"{plugin} is not enabled for this tenant")
        refs = method.parse_webhook(ctx, incoming)
    except WebhookRejected:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        # The plugin's parser found the shape wrong (not JSON, fields of the wrong type).
        raise MalformedNotification(str(exc)) from exc

    stored = 0
    body = incoming.body.decode("utf-8", "replace")
    async with db.transaction():
        for ref in refs:
            payload = {
                "query": incoming.query,
                "body": body,
                "provider_payment_id": ref.provider_payment_id,
                "our_payment_id": ref.our_payment_id,
                "topic": ref.topic,
            }
            event_id = await scope.add_unless_exists(
                ProviderEvent(
                    plugin=plugin,
                    event_key=ref.event_key[:200],
                    payload=json.dumps(payload),
                    status="received",
                )
            )
            if event_id is None:
                continue  # a repeated delivery: already stored, already queued
            await outbox.enqueue(
                scope,
                "process_provider_event",
                {"event_id": event_id},
                key=f"provider_event:{event_id}",
            )
            stored += 1
    return Intake(stored=stored, events=len(refs))
