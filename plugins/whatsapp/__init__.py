"""WhatsApp notification channel: the WhatsApp Business Cloud API's message templates, via httpx.

Outside a 24-hour conversation the customer opened, WhatsApp delivers only templates the business
had approved in Meta's WhatsApp Manager, so every message goes out as a template: the one the
message names (``OutgoingMessage.template``) or the one for its kind, through the tenant's
mapping of Recaudo's names to its own approved ones (``docs/channels.md`` lists what to create).

Meta reports what became of each message to a webhook signed with the app secret
(``X-Hub-Signature-256``); :mod:`recaudo.plugins.whatsapp.routes` verifies it and records the
status. In development, a tenant without credentials has its messages only recorded (the
development outbox shows them); in production such a tenant cannot switch the channel on.
"""

from __future__ import annotations

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

API_BASE = "https://graph.facebook.com"
API_VERSION = "v21.0"
TIMEOUT = httpx.Timeout(15.0, connect=5.0)

#: Recaudo's message kinds → the setting naming the tenant's template, and its default name.
TEMPLATES: dict[str, tuple[str, str]] = {
    "reminder": ("template_reminder", "recordatorio_pago"),
    "login_link": ("template_login_link", "enlace_acceso"),
    "notice": ("template_notice", "aviso_cuenta"),
}

#: Meta error codes that will not pass by retrying: the number cannot get WhatsApp messages, the
#: user stopped them, or the request itself is wrong (a template missing or with other
#: parameters). The message falls back to another channel instead.
PERMANENT_CODES = frozenset(
    {
        100,  # invalid parameter
        131008,  # required parameter missing
        131009,  # parameter value not valid
        131021,  # recipient is the sender
        131026,  # message undeliverable (no WhatsApp, old app, not accepted terms)
        131030,  # recipient not in the allowed list (test numbers)
        131047,  # re-engagement: only templates outside 24 h
        131050,  # user stopped marketing messages
        131051,  # unsupported message type
        132000,  # template parameter count mismatch
        132001,  # template does not exist in this language
        132005,  # translated text too long
        132007,  # template format character policy violated
        132012,  # parameter format mismatch
        132015,  # template paused
        132016,  # template disabled
        133010,  # phone number not registered
    }
)
#: Codes Meta documents as "try again later" (rate limits, service trouble).
TRANSIENT_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056, 133004})

#: Country calling codes for numbers stored without one (national format).
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
#: Meta's template language codes; a locale not listed falls back to its language alone.
LANGUAGE_CODES = {
    "es_MX": "es_MX",
    "es_AR": "es_AR",
    "es_ES": "es_ES",
    "en": "en_US",
    "pt": "pt_BR",
}

SETTINGS_FIELDS = (
    SettingField(
        "phone_number_id",
        "Identificador del número de teléfono (Phone number ID)",
        help="En el administrador de WhatsApp de Meta: API de WhatsApp › Configuración de la API",
    ),
    SettingField("access_token", "Token de acceso permanente", type="secret"),
    SettingField(
        "app_secret",
        "Clave secreta de la app (App secret)",
        type="secret",
        help="Comprueba la firma de los avisos de entrega",
    ),
    SettingField(
        "verify_token",
        "Token de verificación del webhook",
        type="secret",
        help="El mismo texto que escribas en Meta al suscribir el webhook",
    ),
    SettingField("template_reminder", "Plantilla de recordatorios", default="recordatorio_pago"),
    SettingField("template_login_link", "Plantilla del enlace de acceso", default="enlace_acceso"),
    SettingField("template_notice", "Plantilla de avisos de cuenta", default="aviso_cuenta"),
    SettingField(
        "template_names",
        "Otros nombres de plantilla",
        type="text",
        help="Una por línea: nombre_en_recaudo=nombre_en_meta (p. ej. recordatorio_3=cobro_3)",
    ),
    SettingField("api_base", "Servidor de la API", default=API_BASE),
    SettingField("api_version", "Versión de la API", default=API_VERSION),
)
SCHEMA = PluginSettingsSchema(plugin="whatsapp", fields=SETTINGS_FIELDS)


class ProviderUnavailable(Exception):
    """Meta could not take the message now (429, 5xx, a timeout): the job retries later."""


def e164_digits(phone: str, country: str) -> str:
    """The number as WhatsApp wants it: country code and number, digits only. Numbers stored in
    national format get the tenant's country code."""
    raw = re.sub(r"[\s().-]", "", phone or "")
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+") or raw.startswith("00"):
        return digits[2:] if raw.startswith("00") else digits
    code = CALLING_CODES.get(country.upper(), "")
    if len(digits) <= 10 or not digits.startswith(code):
        return code + digits  # national format (10 digits in MX and CO)
    return digits


def one_line(text: str, limit: int = 1000) -> str:
    """A template parameter: WhatsApp refuses new lines, tabs and runs of spaces in one."""
    flat = re.sub(r"\s+", " ", text or "").strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def language_code(message: OutgoingMessage, tenant: TenantInfo) -> str:
    """Meta's language code for the message (``es_MX``, ``es``, ``en_US``…)."""
    locale = tenant.locale.replace("-", "_")
    language = (message.language or locale[:2] or "es").split("_")[0].split("-")[0].lower()
    if locale.lower().startswith(language) and locale in LANGUAGE_CODES:
        return LANGUAGE_CODES[locale]
    return LANGUAGE_CODES.get(language, language)


def renamed(settings: Mapping[str, Any]) -> dict[str, str]:
    """The tenant's ``template_names``: ``recaudo_name=meta_name``, one per line."""
    out: dict[str, str] = {}
    for line in str(settings.get("template_names") or "").splitlines():
        ours, sep, theirs = line.partition("=")
        if sep and ours.strip() and theirs.strip():
            out[ours.strip()] = theirs.strip()
    return out


def template_name(message: OutgoingMessage, settings: Mapping[str, Any]) -> str:
    """The tenant's template for ``message``: its explicit template (renamed by the tenant's
    ``template_names``, or mapped when it is one of the three named settings), else the one for
    its kind; every other kind is a ``notice``."""
    key = message.template or message.kind
    names = renamed(settings)
    if key in names:
        return names[key]
    if key not in TEMPLATES:
        if message.template:
            return message.template
        key = "notice"
    setting, default = TEMPLATES[key]
    return str(settings.get(setting) or default)


def template_params(message: OutgoingMessage) -> list[str]:
    """Body parameters: the message's own, else its text (with its link) as a single one."""
    if message.params:
        return [one_line(param) for param in message.params]
    text = one_line(message.text)
    if message.link and message.link not in text:
        text = one_line(f"{text} {message.link}")
    return [text]


def build_payload(
    message: OutgoingMessage, tenant: TenantInfo, settings: Mapping[str, Any]
) -> dict[str, Any]:
    """The Cloud API's JSON for a template message to ``message.to``.

    Meta takes no idempotency key; ``biz_opaque_callback_data`` carries ours instead, so the
    status webhooks of a message sent twice (a crash between Meta's answer and our commit) name
    the contact they belong to.
    """
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": e164_digits(message.to, tenant.country),
        "type": "template",
        "template": {
            "name": template_name(message, settings),
            "language": {"code": language_code(message, tenant)},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": param} for param in template_params(message)
                    ],
                }
            ],
        },
    }
    if message.idempotency_key:
        payload["biz_opaque_callback_data"] = message.idempotency_key[:512]
    return payload


def _error(response: httpx.Response) -> tuple[int, str]:
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {}
    raw = str(error.get("code") or "0")
    code = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0
    text = str(error.get("message") or response.reason_phrase or "error")
    return code, f"WhatsApp {response.status_code} ({code}): {text}"[:500]


class WhatsAppChannel(NotificationChannel):
    name = "whatsapp"
    label = "WhatsApp"
    address_kind = "phone"
    settings_schema = SETTINGS_FIELDS

    def __init__(self, development: bool = False) -> None:
        self.development = development  # development: a tenant without credentials records only
        self.transport: httpx.AsyncBaseTransport | None = None  # tests may swap it

    def configuration_errors(self, settings: Mapping[str, Any]) -> list[str]:
        if self.development:
            return []
        return [
            f"{f.label} ({f.name}): obligatorio"
            for f in SETTINGS_FIELDS
            if f.name in ("phone_number_id", "access_token") and not settings.get(f.name)
        ]

    async def send(self, ctx: PluginContext, message: OutgoingMessage) -> DeliveryResult:
        settings = ctx.settings
        if not settings.get("phone_number_id") or not settings.get("access_token"):
            if self.development:
                return DeliveryResult(ok=True, provider_id=f"dev-outbox-{secrets.token_hex(8)}")
            return DeliveryResult(
                ok=False, permanent=False, error="WhatsApp sin configurar (phone_number_id)"
            )
        base = str(settings.get("api_base") or API_BASE).rstrip("/")
        version = str(settings.get("api_version") or API_VERSION).strip("/")
        url = f"{base}/{version}/{settings['phone_number_id']}/messages"
        payload = build_payload(message, ctx.tenant, settings)
        headers = {"Authorization": f"Bearer {settings['access_token']}"}
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=TIMEOUT) as client:
                response = await client.post(url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"WhatsApp unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            code, error = _error(response)
            transient = response.status_code == 429 or response.status_code >= 500
            if transient or (code in TRANSIENT_CODES and code not in PERMANENT_CODES):
                raise ProviderUnavailable(error)
            return DeliveryResult(ok=False, permanent=True, error=error)
        try:
            provider_id = str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProviderUnavailable("WhatsApp answered without a message id") from exc
        return DeliveryResult(ok=True, provider_id=provider_id)


_channel = WhatsAppChannel()


@hookimpl
def recaudo_startup(settings: Any) -> None:
    _channel.development = bool(getattr(settings, "is_development", False))


@hookimpl
def recaudo_notification_channels() -> list[NotificationChannel]:
    return [_channel]


@hookimpl
def recaudo_settings_schema() -> PluginSettingsSchema:
    return SCHEMA


@hookimpl
def recaudo_routes() -> list[Any]:
    from recaudo.plugins.whatsapp.routes import ROUTES

    return ROUTES
