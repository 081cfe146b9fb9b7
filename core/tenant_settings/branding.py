"""Ajustes → Marca: display name, colours (with a WCAG contrast check), support contacts, "tú"
or "usted", and the logo (type sniffed from its bytes, size and dimensions capped, SVG refused).

Values are stored in ``Tenant.branding`` and read by the built-in branding plugin; pages escape
them and :func:`recaudo.core.messaging.branding.sanitize` validates them again on the way out.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from recaudo.core.common.audit import record
from recaudo.core.messaging.branding import (
    MIN_CONTRAST,
    TEXT_ON_BRAND,
    contrast_ratio,
    valid_color,
)
from recaudo.core.tables import TenantLogo
from recaudo.core.tenant_settings.errors import FormErrors
from recaudo.core.tenant_settings.tenant_rows import fresh_tenant, json_dict, write_tenant_json
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope

ADDRESS_FORMS = ("tu", "usted")
DEFAULT_PRIMARY = "#1f6feb"
DEFAULT_ACCENT = "#0b3d91"
MAX_LOGO_BYTES = 512 * 1024
MIN_LOGO_SIDE = 16
MAX_LOGO_SIDE = 4096
SVG_REFUSED = "Los logos SVG no se aceptan (pueden llevar código): sube un PNG, JPEG o WebP."
_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")
_PHONE = re.compile(r"^\+?[0-9 ()-]{7,20}$")

# The text fields of the form: (form name, branding key, limit).
TEXT_FIELDS = (
    ("display_name", 120),
    ("tagline", 200),
    ("support_email", 254),
    ("support_phone", 32),
    ("support_whatsapp", 32),
    ("support_hours", 120),
)


@dataclass(frozen=True)
class BrandValues:
    """What the form shows: the stored branding, with defaults for what is not set."""

    display_name: str
    primary_color: str
    accent_color: str
    tagline: str
    support_email: str
    support_phone: str
    support_whatsapp: str
    support_hours: str
    address_form: str
    logo_url: str

    @property
    def primary_contrast(self) -> float:
        return contrast_ratio(self.primary_color, TEXT_ON_BRAND)

    @property
    def accent_contrast(self) -> float:
        return contrast_ratio(self.accent_color, TEXT_ON_BRAND)


def brand_values(tenant: Tenant, typed: Mapping[str, str] | None = None) -> BrandValues:
    """The form's values: what was typed (after an error), else what is stored."""
    stored = json_dict(tenant.branding)
    data = {**{k: str(v) for k, v in stored.items() if v is not None}, **(typed or {})}

    def colour(key: str, default: str) -> str:
        value = str(data.get(key) or "")
        return value.lower() if valid_color(value) else default

    address = str(data.get("address_form") or "tu")
    return BrandValues(
        display_name=str(data.get("display_name") or tenant.name),
        primary_color=colour("primary_color", DEFAULT_PRIMARY),
        accent_color=colour("accent_color", DEFAULT_ACCENT),
        tagline=str(data.get("tagline") or ""),
        support_email=str(data.get("support_email") or ""),
        support_phone=str(data.get("support_phone") or ""),
        support_whatsapp=str(data.get("support_whatsapp") or ""),
        support_hours=str(data.get("support_hours") or ""),
        address_form=address if address in ADDRESS_FORMS else "tu",
        logo_url=str(stored.get("logo_url") or ""),
    )


def clean_branding(form: Mapping[str, str]) -> dict[str, str]:
    """The branding an owner typed, validated; :class:`FormErrors` names every bad field."""
    errors: dict[str, str] = {}
    out: dict[str, str] = {}
    for key, limit in TEXT_FIELDS:
        value = str(form.get(key) or "").strip()
        if len(value) > limit or any(c in value for c in "\x00\r\n"):
            errors[key] = "Demasiado largo o con caracteres no permitidos."
            continue
        out[key] = value
    if not errors.get("display_name") and not out.get("display_name"):
        errors["display_name"] = "Escribe el nombre que verán tus clientes."
    if out.get("support_email") and not _EMAIL.match(out["support_email"]):
        errors["support_email"] = "Escribe un correo válido, como ayuda@tu-negocio.mx."
    for key in ("support_phone", "support_whatsapp"):
        if out.get(key) and not _PHONE.match(out[key]):
            errors[key] = "Escribe un teléfono válido: dígitos, espacios, guiones y + inicial."
    for key, message in (
        ("primary_color", "El color principal no contrasta lo suficiente con el texto blanco."),
        ("accent_color", "El color de acento no contrasta lo suficiente con el texto blanco."),
    ):
        value = str(form.get(key) or "").strip().lower()
        if not valid_color(value):
            errors[key] = "Usa un color en formato #rrggbb, por ejemplo #1f6feb."
        elif contrast_ratio(value, TEXT_ON_BRAND) < MIN_CONTRAST:
            errors[key] = message
        else:
            out[key] = value
    address = str(form.get("address_form") or "")
    if address not in ADDRESS_FORMS:
        errors["address_form"] = "Elige «tú» o «usted»."
    else:
        out["address_form"] = address
    if errors:
        raise FormErrors(errors)
    return out


async def save_branding(
    scope: TenantScope, tenant: Tenant, form: Mapping[str, str], actor: str
) -> Tenant:
    """Validate and store the branding form (the logo is kept); audited with what changed."""
    values = clean_branding(form)
    current = json_dict((await fresh_tenant(int(tenant.id))).branding)
    changed = sorted(k for k, v in values.items() if str(current.get(k) or "") != v)
    updated = await write_tenant_json(int(tenant.id), "branding", {**current, **values})
    await record(scope, actor, "settings.branding.updated", f"tenant:{tenant.id}", fields=changed)
    return updated


# --- logo ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    extension: str  # png, jpg, webp
    content_type: str
    width: int
    height: int


def _png(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _jpeg(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        if length < 2:
            return None
        i += 2 + length
    return None


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def sniff_image(data: bytes) -> Image:
    """What the bytes are (never what the browser said), with their pixel size; anything but a
    sane PNG, JPEG or WebP raises :class:`FormErrors` on the ``logo`` field."""
    if not data:
        raise FormErrors({"logo": "Elige un archivo de imagen."})
    if len(data) > MAX_LOGO_BYTES:
        raise FormErrors({"logo": "El logo pesa más de 512 KB: usa una imagen más ligera."})
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype", b"<")) or b"<svg" in head:
        raise FormErrors({"logo": SVG_REFUSED})
    found: tuple[str, str, tuple[int, int] | None] | None = None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        found = ("png", "image/png", _png(data))
    elif data.startswith(b"\xff\xd8\xff"):
        found = ("jpg", "image/jpeg", _jpeg(data))
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        found = ("webp", "image/webp", _webp(data))
    if found is None:
        raise FormErrors({"logo": "El archivo no es una imagen PNG, JPEG o WebP."})
    extension, content_type, size = found
    if size is None:
        raise FormErrors({"logo": "No se pudo leer la imagen: el archivo parece dañado."})
    width, height = size
    if not (MIN_LOGO_SIDE <= width <= MAX_LOGO_SIDE and MIN_LOGO_SIDE <= height <= MAX_LOGO_SIDE):
        raise FormErrors({"logo": "El logo debe medir entre 16 y 4096 píxeles de ancho y de alto."})
    return Image(extension, content_type, width, height)


def logo_path(slug: str, digest: str, extension: str) -> str:
    return f"/t/{slug}/logo/{digest}.{extension}"


async def save_logo(scope: TenantScope, tenant: Tenant, data: bytes, actor: str) -> Tenant:
    """Replace the tenant's logo; the portal shows it at once (its URL names its bytes)."""
    image = sniff_image(data)
    digest = hashlib.sha256(data).hexdigest()
    await scope.delete(TenantLogo)
    await scope.add(
        TenantLogo(
            content_type=image.content_type,
            content=data,
            digest=digest,
            width=image.width,
            height=image.height,
            created_at=datetime.now(UTC),
        )
    )
    current = json_dict((await fresh_tenant(int(tenant.id))).branding)
    current["logo_url"] = logo_path(str(tenant.slug), digest, image.extension)
    updated = await write_tenant_json(int(tenant.id), "branding", current)
    await record(
        scope,
        actor,
        "settings.logo.uploaded",
        f"tenant:{tenant.id}",
        content_type=image.content_type,
        size=len(data),
        width=image.width,
        height=image.height,
    )
    return updated


async def remove_logo(scope: TenantScope, tenant: Tenant, actor: str) -> Tenant:
    await scope.delete(TenantLogo)
    current = json_dict((await fresh_tenant(int(tenant.id))).branding)
    current.pop("logo_url", None)
    updated = await write_tenant_json(int(tenant.id), "branding", current)
    await record(scope, actor, "settings.logo.removed", f"tenant:{tenant.id}")
    return updated


async def stored_logo(scope: TenantScope, digest: str) -> Any:
    """The tenant's logo row if ``digest`` names it (an old or foreign digest is ``None``)."""
    return await scope.objects(TenantLogo).where(TenantLogo.digest == digest).first()
