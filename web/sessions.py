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

from recaudo.core.billing.account import stamp_sql
from recaudo.core.tables import Customer, PortalSession
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
    expires = _aware(row.expires_at)
    if expires <= datetime.now(UTC):
        await scope.delete(PortalSession).where(PortalSession.id == row.id)
        return None
    return Session(kind, int(row.subject_id), int(row.tenant), expires)


# Every portal page needs the customer behind the cookie: one indexed join instead of two ORM
# queries (building them cost more than running them). The account stamp rides along because
# it must be read before the statement it keys, and a subquery is cheaper than a round trip.
CUSTOMER_BY_SESSION = f"""
SELECT c.*, s.id AS session_id, s.expires_at AS session_expires_at,
  {stamp_sql("c.id")} AS account_stamp
FROM portal_session s JOIN customer c ON c.id = s.subject_id
WHERE s.tenant = {{tenant}} AND c.tenant = {{tenant}} AND s.session_hash = {{}}
  AND s.kind = 'customer'
"""
STAMP_KEY = "recaudo.account_stamp"


async def current_customer(request: Request, scope: TenantScope) -> Customer | None:
    """The customer whose valid session this request carries, for this tenant only.

    Also leaves the customer's account stamp in ``request.scope`` (see :func:`request_stamp`).
    """
    token = request.cookies.get(COOKIES["customer"])
    if not token:
        return None
    rows = await scope.raw(CUSTOMER_BY_SESSION, _hash(token))
    if not rows:
        return None
    row = rows[0]
    session_id, expires = row.pop("session_id"), _aware(row.pop("session_expires_at"))
    if expires <= datetime.now(UTC):
        await scope.delete(PortalSession).where(PortalSession.id == session_id)
        return None
    request.scope[STAMP_KEY] = (int(row["id"]), int(row.pop("account_stamp")))  # type: ignore[literal-required]
    return Customer(**row, _exists_in_db=True)


def request_stamp(request: Request, customer_id: int) -> int | None:
    """The account stamp read with this request's customer, if it was (else ``None``)."""
    found = request.scope.get(STAMP_KEY)  # type: ignore[misc]
    if isinstance(found, tuple) and found[0] == customer_id:
        return int(found[1])
    return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def end_session(
    request: Request, response: Response, scope: TenantScope, kind: Kind, path: str = "/"
) -> None:
    token = request.cookies.get(COOKIES[kind])
    if token:
        await scope.delete(PortalSession).where(PortalSession.session_hash == _hash(token))
    response.delete_cookie(COOKIES[kind], path=path)
