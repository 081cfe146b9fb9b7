"""Mailing staff their one-time links (invitation, password reset) through the tenant's email
channel, as customers get theirs (:func:`recaudo.core.messaging.notify.send_to_customer`): logged
in ``notification_log``, the token redacted from the log unless the log is the delivery
(development outbox), waiting encrypted for SMTP in production.
"""

from __future__ import annotations

from markupsafe import escape

from recaudo.core.config import Settings
from recaudo.core.messaging.i18n import translations
from recaudo.core.messaging.notify import send_to_customer
from recaudo.core.platform.values import OutgoingMessage
from recaudo.core.tables import Customer, NotificationLog
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info


def _body(language: str, kind: str, tenant_name: str, link: str, role: str) -> tuple[str, str]:
    _ = translations(language).gettext
    roles = {
        "owner": _("Administración"),
        "collector": _("Cobranza"),
        "viewer": _("Solo lectura"),
    }
    if kind == "invite":
        subject = _("Te invitaron al equipo de %(name)s en Recaudo") % {"name": tenant_name}
        lines = [
            _("Te invitaron a la oficina de cobranza de %(name)s con el rol «%(role)s».")
            % {"name": tenant_name, "role": roles.get(role, role)},
            _("Para aceptar, abre este enlace y elige tu contraseña:"),
            link,
            _("El enlace vence en 72 horas y sirve una sola vez."),
        ]
    else:
        subject = _("Restablece tu contraseña de %(name)s") % {"name": tenant_name}
        lines = [
            _("Alguien pidió restablecer la contraseña de tu cuenta del equipo de %(name)s.")
            % {"name": tenant_name},
            _("Para elegir una nueva, abre este enlace:"),
            link,
            _("El enlace vence en 30 minutos y sirve una sola vez."),
            _("Si no lo pediste, ignora este mensaje: tu contraseña no cambia."),
        ]
    return subject, "\n\n".join(lines)


def _html(text: str, link: str) -> str:
    parts = []
    for paragraph in text.split("\n\n"):
        if paragraph == link:
            parts.append(f'<p><a href="{escape(link)}">{escape(link)}</a></p>')
        else:
            parts.append(f"<p>{escape(paragraph)}</p>")
    return "\n".join(parts)


async def send_staff_link(
    scope: TenantScope,
    tenant: Tenant,
    settings: Settings,
    *,
    email: str,
    kind: str,
    link: str,
    token: str,
    role: str = "",
    language: str = "es",
) -> NotificationLog | None:
    """Mail a staff link; ``None`` when the tenant has no email channel switched on."""
    info = tenant_info(tenant)
    name = str(info.branding.get("display_name") or tenant.name)
    subject, text = _body(language, kind, name, link, role)
    # Staff are not customers: an unsaved stand-in carries the address to the email channel.
    recipient = Customer(name=email, email=email, phone="", preferred_channel="email")
    return await send_to_customer(
        scope,
        info,
        recipient,
        OutgoingMessage(
            to="", subject=subject, text=text, html=_html(text, link), kind=f"staff_{kind}"
        ),
        secret_key=settings.secret_key,
        secrets=[token],
        keep_secrets_in_log=settings.dev_outbox,
        prefer=("email",),
    )
