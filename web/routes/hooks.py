"""Provider webhooks: verify, store in the inbox with a job in one transaction, answer fast.

``POST /hooks/<plugin>/<tenant-slug>``. Nothing here talks to the provider: the worker fetches the
authoritative status later, so the endpoint answers in milliseconds even when workers are down.
Forged or stale notifications get 401 and leave no trace; repeated deliveries of a genuine one get
200 and are stored once (unique index on tenant, plugin, event key).
"""

from __future__ import annotations

import json
import logging

from litestar import Request, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from recaudo.core import db
from recaudo.core.common import outbox
from recaudo.core.payments.method import WebhookRejected, WebhookRequest
from recaudo.core.payments.registry import method_for_plugin
from recaudo.core.tables import ProviderEvent
from recaudo.tenants.plugin_config import enabled_plugins, plugin_settings
from recaudo.tenants.resolve import tenant_by_slug
from recaudo.tenants.scoped import TenantScope

log = logging.getLogger(__name__)
# Real notifications are a few hundred bytes; Litestar refuses a bigger body with a JSON 413
# before it is read into memory.
MAX_BODY = 64 * 1024


@post(
    "/hooks/{plugin:str}/{slug:str}",
    name="hooks:receive",
    operation_id="receive_webhook",
    exclude_from_csrf=True,
    status_code=200,
    request_max_body_size=MAX_BODY,
)
async def receive_webhook(
    request: Request, plugin: FromPath[str], slug: FromPath[str]
) -> Response[dict[str, object]]:
    from recaudo.web.app import current_settings

    tenant = await tenant_by_slug(slug)
    method = method_for_plugin(plugin)
    if tenant is None or method is None:
        raise NotFoundException("unknown webhook endpoint")
    scope = TenantScope(int(tenant.id))
    enabled = plugin in await enabled_plugins(scope)
    body = await request.body()
    incoming = WebhookRequest(
        headers={k.lower(): v for k, v in request.headers.items()},
        query={k: v for k, v in request.query_params.items()},
        body=body,
    )
    # A tenant that has not enabled the plugin has no secret for it, so verification fails and
    # the caller gets the same 401 as any forger: which providers a tenant uses is not disclosed.
    secret_key = current_settings().secret_key
    settings = await plugin_settings(scope, plugin, secret_key) if enabled else {}
    try:
        method.verify_webhook(incoming, settings)
        if not enabled:
            raise WebhookRejected(f"{plugin} is not enabled for this tenant")
        refs = method.parse_webhook(incoming, settings)
    except WebhookRejected as exc:
        log.warning("rejected %s webhook for %s: %s", plugin, slug, exc)
        return Response({"detail": f"webhook rejected: {exc}"}, status_code=401)
    except (ValueError, KeyError, TypeError) as exc:
        # Signed but unusable (not JSON, not an object, fields of the wrong type): the plugin's
        # parser found the shape wrong, which is the sender's error, not ours.
        return Response({"detail": f"malformed notification: {exc}"}, status_code=400)

    stored = 0
    async with db.transaction():
        for ref in refs:
            payload = {
                "query": incoming.query,
                "body": body.decode("utf-8", "replace"),
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
    return Response({"status": "accepted", "stored": stored, "events": len(refs)}, status_code=200)
