"""Email notification channel: SMTP through aiosmtplib, HTML + text.

With ``RECAUDO_SMTP_URL`` unset in development (``make run``) messages are only recorded, and the
development outbox at ``/dev/outbox`` shows them so a person trying Recaudo can click their
one-time link. In production without SMTP the channel is not :meth:`ready`: messages wait in the
database (encrypted) and go out once a server is configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib

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

SCHEMA = PluginSettingsSchema(
    plugin="email",
    fields=(
        SettingField(
            "sender_name", "Nombre del remitente", help="Por defecto, el nombre del negocio"
        ),
        SettingField("reply_to", "Responder a (correo)"),
    ),
)


class EmailChannel(NotificationChannel):
    name = "email"
    label = "Correo electrónico"
    address_kind = "email"
    settings_schema = SCHEMA.fields

    def __init__(
        self,
        smtp_url: str = "",
        mail_from: str = "Recaudo <no-reply@localhost>",
        dev_outbox: bool = False,
    ) -> None:
        self.smtp_url = smtp_url
        self.mail_from = mail_from
        self.dev_outbox = dev_outbox  # development without SMTP: the log is the delivery

    def ready(self) -> bool:
        return bool(self.smtp_url) or self.dev_outbox

    def build(
        self, message: OutgoingMessage, tenant: TenantInfo, settings: Mapping[str, Any]
    ) -> EmailMessage:
        sender_address = self.mail_from.rsplit("<", 1)[-1].rstrip(">").strip()
        sender_name = settings.get("sender_name") or tenant.name
        email = EmailMessage()
        email["From"] = formataddr((sender_name, sender_address))
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Message-ID"] = make_msgid(domain=sender_address.split("@")[-1] or "localhost")
        if settings.get("reply_to"):
            email["Reply-To"] = settings["reply_to"]
        email.set_content(message.text)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        for attachment in message.attachments:  # a formal letter as PDF, …
            maintype, _, subtype = attachment.content_type.partition("/")
            email.add_attachment(
                attachment.content,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=attachment.filename,
            )
        return email

    async def send(self, ctx: PluginContext, message: OutgoingMessage) -> DeliveryResult:
        email = self.build(message, ctx.tenant, ctx.settings)
        if not self.smtp_url:
            if self.dev_outbox:
                return DeliveryResult(ok=True, provider_id="dev-outbox")
            return DeliveryResult(ok=False, error="no SMTP server configured (RECAUDO_SMTP_URL)")
        parts = urlsplit(self.smtp_url)
        await aiosmtplib.send(
            email,
            hostname=parts.hostname or "127.0.0.1",
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=parts.scheme == "smtps",
            start_tls=None,
            timeout=20,
        )
        return DeliveryResult(ok=True, provider_id=str(email["Message-ID"]))


_channel = EmailChannel()


@hookimpl
def recaudo_startup(settings: Any) -> None:
    _channel.smtp_url = settings.smtp_url
    _channel.mail_from = settings.mail_from
    _channel.dev_outbox = bool(getattr(settings, "dev_outbox", False))


@hookimpl
def recaudo_notification_channels() -> list[NotificationChannel]:
    return [_channel]


@hookimpl
def recaudo_settings_schema() -> PluginSettingsSchema:
    return SCHEMA
