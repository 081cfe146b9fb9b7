"""Helpers shared by the settings tests (tests/test_settings_*.py)."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import httpx

from recaudo.core.common.jsonfield import loads
from recaudo.core.tables import AuditEvent
from recaudo.tenants.models import Tenant
from tests.test_staff_http import Side, csrf


def png(width: int, height: int) -> bytes:
    """A real (tiny) PNG of ``width`` × ``height`` pixels."""
    raw = b"".join(b"\x00" + b"\x10\x20\x30" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def jpeg(width: int, height: int) -> bytes:
    """The start of a baseline JPEG: enough for its type and size to be read."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


BRAND_FORM = {
    "display_name": "Ferretería Nueva",
    "primary_color": "#0b5d1e",
    "accent_color": "#5b2a86",
    "tagline": "Todo para tu obra",
    "support_email": "ayuda@nueva.example",
    "support_phone": "+52 55 1234 5678",
    "support_whatsapp": "+52 55 8765 4321",
    "support_hours": "lunes a viernes, 9 a 18 h",
    "address_form": "usted",
}


async def upload(
    c: httpx.AsyncClient, side: Side, url: str, name: str, content: bytes, kind: str
) -> httpx.Response:
    token = await csrf(c, side)
    return await c.post(
        url,
        data={"_csrf_token": token},
        files={"logo": (name, content, kind)},
        headers={"accept": "text/html", "x-csrftoken": token},
    )


async def tenant_row(side: Side) -> Tenant:
    row = await Tenant.objects().where(Tenant.id == side.scope.tenant_id).first()
    assert row is not None
    return row


async def branding_of(side: Side) -> dict[str, Any]:
    return dict(loads((await tenant_row(side)).branding, {}) or {})


async def policy_of_side(side: Side) -> dict[str, Any]:
    return dict(loads((await tenant_row(side)).policy, {}) or {})


async def actions(side: Side) -> list[str]:
    rows = await side.scope.objects(AuditEvent).order_by(AuditEvent.id)
    return [str(r.action) for r in rows]
