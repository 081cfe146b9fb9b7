"""Tests a plugin author keeps: hooks register, settings declare the secret, sending works."""

from __future__ import annotations

import json

import httpx
import recaudo_sms_gateway as plugin

from recaudo.core.platform.host import PluginHost
from recaudo.core.platform.values import OutgoingMessage, TenantInfo

TENANT = TenantInfo(1, "acme", "Acme", "MX", "MXN", "es_MX", "America/Mexico_City")
SETTINGS = {"endpoint": "https://sms.example/send", "api_key": "k-123"}


def test_registers_with_the_host() -> None:
    host = PluginHost()
    host.register(plugin, name="sms_gateway", source="recaudo-sms-gateway")
    channels = [item for _, item in host.provided("recaudo_notification_channels")]
    assert [c.name for c in channels] == ["sms"]
    schema = host.hook.recaudo_settings_schema()[0]
    assert [f.name for f in schema.fields if f.secret] == ["api_key"]


async def test_sends_through_the_gateway() -> None:
    seen: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "m-1"})

    channel = plugin.SmsGatewayChannel(transport=httpx.MockTransport(gateway))
    result = await channel.send(
        OutgoingMessage("+525555550100", "Tu saldo", "Hola"), TENANT, SETTINGS
    )
    assert result.ok and result.provider_id == "m-1"
    assert seen[0].headers["authorization"] == "Bearer k-123"
    assert json.loads(seen[0].content)["text"] == "Acme: Hola"


async def test_bad_numbers_are_refused_without_calling_the_gateway() -> None:
    channel = plugin.SmsGatewayChannel(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    result = await channel.send(OutgoingMessage("5555", "s", "t"), TENANT, SETTINGS)
    assert not result.ok
