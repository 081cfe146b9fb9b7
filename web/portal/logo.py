"""The tenant's uploaded logo (Ajustes → Marca), public like the portal's front door.

The address names the logo's SHA-256 (``/logo/<digest>.<ext>``), so a new logo has a new URL and
the response may be cached for a year. The type is the one sniffed from the bytes at upload (PNG,
JPEG or WebP; SVG is never accepted), sent with ``nosniff`` and a CSP that lets nothing run.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import get
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from recaudo.core.tenant_settings.branding import stored_logo
from recaudo.tenants.scoped import TenantScope

_NAME = re.compile(r"^([0-9a-f]{64})\.(png|jpg|webp)$")
_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


@get(
    "/logo/{name:str}",
    name="portal:logo",
    operation_id="portal_logo",
    cache_control=CacheControlHeader(public=True, max_age=365 * 86400),
)
async def portal_logo(
    tenant_scope: NamedDependency[TenantScope], name: FromPath[str]
) -> Response[bytes]:
    match = _NAME.match(name)
    row = await stored_logo(tenant_scope, match.group(1)) if match else None
    if match is None or row is None or _TYPES[match.group(2)] != str(row.content_type):
        raise NotFoundException("Logo no encontrado")
    return Response(
        bytes(row.content or b""),
        media_type=str(row.content_type),
        headers={
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; sandbox",
            "content-disposition": "inline",
        },
    )


ROUTES: list[Any] = [portal_logo]
