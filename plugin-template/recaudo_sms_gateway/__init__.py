"""SMS through a generic HTTP gateway: an example of a third-party Recaudo plugin.

The gateway is asked to deliver ``{"to": "+52…", "text": "…"}`` with a bearer API key; most
regional SMS providers accept this shape or something close to it.
"""

from __future__ import annotations

from typing import Any

import httpx

from recaudo.core.platform.extensions import NotificationChannel
from recaudo.core.platform.hookspecs import hookimpl
from recaudo.core.platform.values import (
    DeliveryResult,
    OutgoingMessage,
    PluginSettingsSchema,
    SettingField,
    TenantInfo,
)

SCHEMA = PluginSettingsSchema(
    plugin="sms_gateway",
    fields=(
        SettingField("endpoint", "URL del gateway", required=True),
        SettingField("api_key", "API key", type="secret", required=True),
        SettingField("sender", "Remitente", help="Nombre o número corto"),
    ),
)
MAX_SMS = 320


class SmsGatewayChannel(NotificationChannel):
    name = "sms"
    label = "SMS"
    address_kind = "phone"
    settings_schema = SCHEMA.fields

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.transport = transport

    async def send(
        self, message: OutgoingMessage, tenant: TenantInfo, settings: dict[str, Any]
    ) -> DeliveryResult:
        if not message.to.startswith("+"):
            return DeliveryResult(ok=False, error="phone numbers must be in +<country> form")
        text = f"{tenant.name}: {message.text}"[:MAX_SMS]
        async with httpx.AsyncClient(transport=self.transport, timeout=15) as client:
            response = await client.post(
                settings["endpoint"],
                json={
                    "to": message.to,
                    "text": text,
                    "from": settings.get("sender") or tenant.name,
                },
                headers={"authorization": f"Bearer {settings['api_key']}"},
            )
        if response.status_code >= 500:
            response.raise_for_status()  # transient: let the job retry
        if response.status_code >= 400:
            return DeliveryResult(ok=False, error=f"gateway refused: {response.status_code}")
        return DeliveryResult(ok=True, provider_id=str(response.json().get("id", "")))


@hookimpl
def recaudo_notification_channels() -> list[NotificationChannel]:
    return [SmsGatewayChannel()]


@hookimpl
def recaudo_settings_schema() -> PluginSettingsSchema:
    return SCHEMA
