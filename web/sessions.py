"""Server-side sessions for customers and staff: the cookie holds a random id, the DB its hash.

Sessions live in the database so any web process can serve any request. They rotate on login (a
new id is issued and the old one deleted, so a fixated id is useless) and expire.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from litestar import Request
from litestar.response import Response

from recaudo.core.tables import PortalSession
from recaudo.tenants.scoped import TenantScope

Kind = Literal["customer", "staff"]
COOKIES: dict[str, str] = {"customer": "recaudo_portal", "staff": "recaudo_staff"}
LIFETIME: dict[str, timedelta] = {"customer": timedelta(hours=2), "staff": timedelta(hours=10)}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    kind: Kind
    subject_id: int
    tenant_id: int
    expires_at: datetime


async def start_session(
    request: Request,
    response: Response,
    scope: TenantScope,
    kind: Kind,
    subject_id: int,
    path: str = "/",
    secure: bool = False,
) -> None:
    """Issue a new session (dropping any the browser already had for this kind)."""
    await end_session(request, response, scope, kind, path)
    token = secrets.token_urlsafe(32)
    await scope.add(
        PortalSession(
            session_hash=_hash(token),
            kind=kind,
            subject_id=subject_id,
            csrf_token=secrets.token_hex(16),
            expires_at=datetime.now(UTC) + LIFETIME[kind],
        )
    )
    response.set_cookie(
        COOKIES[kind],
        token,
        path=path,
        httponly=True,
        secure=secure,
        samesite="lax",
        max_age=int(LIFETIME[kind].total_seconds()),
    )


async def current_session(request: Request, scope: TenantScope, kind: Kind) -> Session | None:
    token = request.cookies.get(COOKIES[kind])
    if not token:
        return None
    row = (
        await scope.objects(PortalSession)
        .where((PortalSession.session_hash == _hash(token)) & (PortalSession.kind == kind))
        .first()
    )
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC):
        await scope.delete(PortalSession).where(PortalSession.id == row.id)
        return None
    return Session(kind, int(row.subject_id), int(row.tenant), expires)


async def end_session(
    request: Request, response: Response, scope: TenantScope, kind: Kind, path: str = "/"
) -> None:
    token = request.cookies.get(COOKIES[kind])
    if token:
        await scope.delete(PortalSession).where(PortalSession.session_hash == _hash(token))
    response.delete_cookie(COOKIES[kind], path=path)
