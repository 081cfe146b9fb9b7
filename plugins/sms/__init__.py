"""SMS notification channel over a Twilio-style Messages API, via httpx.

``POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json`` (form: ``To``, ``From`` or
``MessagingServiceSid``, ``Body``, ``StatusCallback``; HTTP Basic ``AccountSid:AuthToken``). The
provider reports each message's fate to ``StatusCallback``, built from ``RECAUDO_BASE_URL``
(never from a request's headers) and signed ``X-Twilio-Signature``;
:mod:`recaudo.plugins.sms.routes` verifies it and records the status.

An SMS is short plain text: the message's text on one line, cut to fit, with its link kept whole
at the end. In development, a tenant without credentials has its messages only recorded (the
development outbox shows them); in production such a tenant cannot switch the channel on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any

import httpx

from recaudo.api import (
    DeliveryResult,
    NotificationChannel,
    OutgoingMessage,
    PluginContext,
    PluginSettingsSchema,
    SettingField,
    TenantInfo,
    hookimpl,
)

RECAUDO_API = "1.0"  # the plugin API this plugin is written for

API_BASE = "https://api.twilio.com"
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
#: Characters per SMS body: two concatenated segments of GSM-7 text (Spanish accents make a
#: message UCS-2, 67 per segment, so long bodies cost up to five segments; still cheap enough).
MAX_BODY = 320

#: Error codes that no retry will fix: the number is wrong, not a mobile, unreachable for good,
#: or its owner replied STOP. The message falls back to another channel instead.
PERMANENT_CODES = frozenset(
    {
        21211,  # invalid To number
        21214,  # To number cannot be reached
        21408,  # permission to send to this region not enabled
        21610,  # recipient unsubscribed (STOP)
        21612,  # cannot route to this number
        21614,  # To is not a mobile number
        30004,  # message blocked by the recipient
        30005,  # unknown destination handset
        30006,  # landline or unreachable carrier
        30034,  # unregistered sender (US A2P 10DLC)
    }
)

CALLING_CODES = {
    "AR": "54",
    "BO": "591",
    "BR": "55",
    "CL": "56",
    "CO": "57",
    "CR": "506",
    "DO": "1",
    "EC": "593",
    "ES": "34",
    "GT": "502",
    "HN": "504",
    "MX": "52",
    "NI": "505",
    "PA": "507",
    "PE": "51",
    "PY": "595",
    "SV": "503",
    "US": "1",
    "UY": "598",
    "VE": "58",
}

SETTINGS_FIELDS = (
    SettingField("account_sid", "Account SID"),
    SettingField("auth_token", "Auth token", type="secret"),
    SettingField("from_number", "Número remitente (+52…)", help="O un Messaging Service SID"),
    SettingField("messaging_service_sid", "Messaging Service SID"),
    SettingField("api_base", "Servidor de la API", default=API_BASE),
)
SCHEMA = PluginSettingsSchema(plugin="sms", fields=SETTINGS_FIELDS)

_URL = re.compile(r"https?://\S+")


class ProviderUnavailable(Exception):
    """The provider could not take the message now (429, 5xx, a timeout): the job retries."""


def e164(phone: str, country: str) -> str:
    """``+`` country code and number; numbers stored in national format get the tenant's code."""
    raw = re.sub(r"[\s().-]", "", phone or "")
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        return "+" + digits
    if raw.startswith("00"):
        return "+" + digits[2:]
    code = CALLING_CODES.get(country.upper(), "")
    if len(digits) <= 10 or not digits.startswith(code):
        return f"+{code}{digits}"
    return "+" + digits


def sms_body(message: OutgoingMessage, limit: int = MAX_BODY) -> str:
    """One line of text that fits ``limit``, ending with the message's link, which is never cut
    (a cut link opens nothing)."""
    text = re.sub(r"\s+", " ", message.text or message.subject or "").strip()
    link = message.link
    if not link:
        found = _URL.search(text)
        link = found.group(0) if found else ""
    if link:
        text = re.sub(r"\s+", " ", text.replace(link, " ")).strip()
    room = limit - (len(link) + 1 if link else 0)
    if len(text) > room:
        text = text[: max(room - 1, 0)].rstrip() + "…"
    return f"{text} {link}".strip() if link else text


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """``X-Twilio-Signature``: base64 HMAC-SHA1 of the URL followed by every POST parameter,
    sorted by name, as name then value."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def callback_url(base_url: str, tenant: TenantInfo) -> str:
    return f"{base_url.rstrip('/')}/hooks/sms/{tenant.slug}/status" if base_url else ""


class SmsChannel(NotificationChannel):
    name = "sms"
    label = "SMS"
    address_kind = "phone"
    settings_schema = SETTINGS_FIELDS

    def __init__(self, base_url: str = "", development: bool = False) -> None:
        self.base_url = base_url  # RECAUDO_BASE_URL: where the provider reaches our callback
        self.development = development  # development: a tenant without credentials records only
        self.transport: httpx.AsyncBaseTransport | None = None  # tests may swap it

    def configuration_errors(self, settings: Mapping[str, Any]) -> list[str]:
        if self.development:
            return []
        errors = [
            f"{f.label} ({f.name}): obligatorio"
            for f in SETTINGS_FIELDS
            if f.name in ("account_sid", "auth_token") and not settings.get(f.name)
        ]
        if not settings.get("from_number") and not settings.get("messaging_service_sid"):
            errors.append("from_number o messaging_service_sid: obligatorio")
        return errors

    def form(self, message: OutgoingMessage, ctx: PluginContext) -> dict[str, str]:
        settings = ctx.settings
        form = {"To": e164(message.to, ctx.tenant.country), "Body": sms_body(message)}
        if settings.get("messaging_service_sid"):
            form["MessagingServiceSid"] = str(settings["messaging_service_sid"])
        else:
            form["From"] = str(settings.get("from_number") or "")
        callback = callback_url(self.base_url, ctx.tenant)
        if callback:
            form["StatusCallback"] = callback
        return form

    async def send(self, ctx: PluginContext, message: OutgoingMessage) -> DeliveryResult:
        settings = ctx.settings
        if self.configuration_errors(settings) or not settings.get("account_sid"):
            if self.development:
                return DeliveryResult(ok=True, provider_id=f"dev-outbox-{secrets.token_hex(8)}")
            return DeliveryResult(ok=False, permanent=False, error="SMS sin configurar")
        sid = str(settings["account_sid"])
        base = str(settings.get("api_base") or API_BASE).rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{sid}/Messages.json"
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=TIMEOUT) as client:
                response = await client.post(
                    url,
                    data=self.form(message, ctx),
                    auth=(sid, str(settings.get("auth_token") or "")),
                )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"SMS provider unreachable: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise ProviderUnavailable(f"SMS provider answered {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code >= 400:
            code = data.get("code") if isinstance(data, dict) else None
            text = data.get("message") if isinstance(data, dict) else ""
            error = f"SMS {response.status_code} ({code}): {text or response.reason_phrase}"
            return DeliveryResult(ok=False, permanent=True, error=error[:500])
        provider_id = str(data.get("sid") or "") if isinstance(data, dict) else ""
        if not provider_id:
            raise ProviderUnavailable("SMS provider answered without a message sid")
        if data.get("status") == "failed":
            error = f"SMS ({data.get('error_code')}): {data.get('error_message') or 'failed'}"
            return DeliveryResult(ok=False, provider_id=provider_id, error=error[:500])
        return DeliveryResult(ok=True, provider_id=provider_id)


_channel = SmsChannel()


@hookimpl
def recaudo_startup(settings: Any) -> None:
    _channel.base_url = str(getattr(settings, "base_url", "") or "")
    _channel.development = bool(getattr(settings, "is_development", False))


@hookimpl
def recaudo_notification_channels() -> list[NotificationChannel]:
    return [_channel]


@hookimpl
def recaudo_settings_schema() -> PluginSettingsSchema:
    return SCHEMA


@hookimpl
def recaudo_routes() -> list[Any]:
    from recaudo.plugins.sms.routes import ROUTES

    return ROUTES
