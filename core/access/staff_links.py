"""One-time staff links: invitations (72 h) and password resets (30 min).

A token is ``secrets.token_urlsafe(32)``; only its SHA-256 is stored in ``staff_token``. Using a
token claims it with one conditional update (``used_at IS NULL AND expires_at > now``) inside the
transaction that does the work, so of two concurrent uses exactly one succeeds, and a use that
fails (e.g. the email became a staff user meanwhile) gives the token back by rolling back.
Links are absolute, built from ``RECAUDO_BASE_URL`` (never from request headers).

Also here: the team operations an owner performs (invite, change role, deactivate, reactivate),
which keep at least one active owner and end a deactivated user's sessions. Every change is an
audit event.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from recaudo.core import db
from recaudo.core.access.staff import StaffError, check_password, hash_password
from recaudo.core.common import ratelimit
from recaudo.core.common.audit import record
from recaudo.core.common.ratelimit import Limit
from recaudo.core.tables import STAFF_ROLES, PortalSession, StaffToken, StaffUser
from recaudo.tenants.models import RateLimitHit
from recaudo.tenants.scoped import TenantScope

Kind = Literal["invite", "reset", "login2fa"]
TTL: dict[str, timedelta] = {
    "invite": timedelta(hours=72),
    "reset": timedelta(minutes=30),
    "login2fa": timedelta(minutes=5),
}
PATHS = {"invite": "invitacion", "reset": "restablecer"}
LinkState = Literal["valid", "used", "expired", "unknown"]

RESET_WINDOW = timedelta(minutes=15)
MAX_RESETS_PER_EMAIL = 3
MAX_RESETS_PER_IP = 10


class TeamError(StaffError):
    """A team change that is not allowed; the message names the field or the reason."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def normalise_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    if "@" not in email or len(email) > 254 or " " in email or email.startswith("@"):
        raise TeamError(f"email {raw!r}: not an email address")
    return email


def link_for(base_url: str, slug: str, kind: str, token: str) -> str:
    """The absolute staff link: ``<RECAUDO_BASE_URL>/t/<slug>/staff/<path>/<token>``."""
    return f"{base_url.rstrip('/')}/t/{slug}/staff/{PATHS[kind]}/{token}"


async def issue(
    scope: TenantScope, kind: Kind, email: str, role: str = "", created_by: str = ""
) -> str:
    """Store a new one-time token; returns it (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    await scope.add(
        StaffToken(
            kind=kind,
            email=email,
            role=role,
            token_hash=token_hash(token),
            expires_at=_now() + TTL[kind],
            used_at=None,
            created_by=created_by[:100],
            created_at=_now(),
        )
    )
    return token


@dataclass(frozen=True)
class TokenInfo:
    state: LinkState
    kind: str = ""
    email: str = ""
    role: str = ""
    id: int = 0


async def inspect(scope: TenantScope, kind: Kind, token: str) -> TokenInfo:
    """What a token is, without using it (the GET page of a link)."""
    if not token or len(token) > 100:
        return TokenInfo("unknown")
    row = (
        await scope.objects(StaffToken)
        .where((StaffToken.token_hash == token_hash(token)) & (StaffToken.kind == kind))
        .first()
    )
    if row is None:
        return TokenInfo("unknown")
    state: LinkState = "valid"
    if row.used_at is not None:
        state = "used"
    elif _aware(row.expires_at) <= _now():
        state = "expired"
    return TokenInfo(state, str(row.kind), str(row.email), str(row.role), int(row.id))


async def claim(scope: TenantScope, kind: Kind, token: str) -> TokenInfo:
    """Use a token once: the conditional update lets exactly one of concurrent uses through."""
    info = await inspect(scope, kind, token)
    if info.state != "valid":
        return info
    now = _now()
    claimed = await (
        scope.update(StaffToken, {StaffToken.used_at: now})
        .where(
            StaffToken.id == info.id,
            StaffToken.used_at.is_null(),
            StaffToken.expires_at > now,
        )
        .returning(StaffToken.id)
    )
    if not claimed:
        return TokenInfo("used", info.kind, info.email, info.role, info.id)
    return info


# --- invitations --------------------------------------------------------------------------------


async def invite(scope: TenantScope, email: str, role: str, actor: str) -> tuple[StaffToken, str]:
    """Invite ``email`` with ``role``; returns the stored row and the token for the link.

    Refused when the email already belongs to a staff user of this tenant (reactivate instead).
    An earlier unused invitation for the same email stops working: the newest link counts.
    """
    email = normalise_email(email)
    if role not in STAFF_ROLES:
        raise TeamError(f"role {role!r}: use one of {', '.join(STAFF_ROLES)}")
    if await scope.exists(StaffUser).where(StaffUser.email == email):
        raise TeamError(f"email {email!r}: already a member of the team")
    async with db.transaction():
        await scope.update(StaffToken, {StaffToken.used_at: _now()}).where(
            (StaffToken.kind == "invite")
            & (StaffToken.email == email)
            & StaffToken.used_at.is_null()
        )
        token = await issue(scope, "invite", email, role, actor)
        await record(scope, actor, "staff.invited", f"invite:{email}"[:100], role=role)
    row = await scope.objects(StaffToken).where(StaffToken.token_hash == token_hash(token)).first()
    assert row is not None  # just written
    return row, token


async def pending_invitations(scope: TenantScope) -> list[StaffToken]:
    return list(
        await scope.objects(StaffToken)
        .where(
            (StaffToken.kind == "invite")
            & StaffToken.used_at.is_null()
            & (StaffToken.expires_at > _now())
        )
        .order_by(StaffToken.created_at, ascending=False)
    )


async def revoke_invitation(scope: TenantScope, invitation_id: int, actor: str) -> bool:
    done = await (
        scope.update(StaffToken, {StaffToken.used_at: _now()})
        .where(
            (StaffToken.id == invitation_id)
            & (StaffToken.kind == "invite")
            & StaffToken.used_at.is_null()
        )
        .returning(StaffToken.email)
    )
    if done:
        await record(scope, actor, "staff.invite_revoked", f"invite:{done[0]['email']}"[:100])
    return bool(done)


async def accept_invitation(
    scope: TenantScope, token: str, name: str, password: str
) -> tuple[TokenInfo, StaffUser | None]:
    """Create the invited staff user (once); ``(info, None)`` when the link is not valid."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise TeamError("name: required, at most 200 characters")
    password_hash = hash_password(password)  # before the transaction: argon2 is slow
    async with db.transaction():
        info = await claim(scope, "invite", token)
        if info.state != "valid":
            return info, None
        if await scope.exists(StaffUser).where(StaffUser.email == info.email):
            raise TeamError(f"email {info.email!r}: already a member of the team")
        user = StaffUser(
            email=info.email,
            name=name,
            password_hash=password_hash,
            role=info.role,
            active=True,
            created_at=_now(),
        )
        await scope.add(user)
        await record(
            scope, f"staff:{user.id}", "staff.invite_accepted", f"staff:{user.id}", role=info.role
        )
    return info, user


# --- password reset -----------------------------------------------------------------------------


def reset_limits(scope: TenantScope, email: str, ip: str) -> tuple[Limit, Limit]:
    fp = ratelimit.fingerprint
    return (
        Limit(
            f"staff:reset:{scope.tenant_id}:{fp(email.strip().lower())}",
            MAX_RESETS_PER_EMAIL,
            RESET_WINDOW,
        ),
        Limit(f"staff:reset-ip:{fp(ip)}", MAX_RESETS_PER_IP, RESET_WINDOW),
    )


async def request_reset(scope: TenantScope, email: str, ip: str) -> tuple[bool, str | None]:
    """``(admitted, token)``: the token is ``None`` when no active staff user has this email.

    Counted against its limits before the email is looked up, whether it exists or not, so
    neither the answer nor the limit says who is on the team.
    """
    email = (email or "").strip().lower()[:254]
    if await ratelimit.hit(reset_limits(scope, email, ip)) is None:
        return False, None
    await record(scope, "ip:" + ratelimit.fingerprint(ip), "staff.reset_requested")
    user = (
        await scope.objects(StaffUser)
        .where((StaffUser.email == email) & (StaffUser.active == True))  # noqa: E712
        .first()
    )
    if user is None:
        return True, None
    return True, await issue(scope, "reset", email, "", f"staff:{user.id}")


async def reset_password(
    scope: TenantScope, token: str, password: str
) -> tuple[TokenInfo, StaffUser | None]:
    """Set a new password through a reset link (once) and end every session of that user."""
    password_hash = hash_password(password)
    async with db.transaction():
        info = await claim(scope, "reset", token)
        if info.state != "valid":
            return info, None
        user = (
            await scope.objects(StaffUser)
            .where((StaffUser.email == info.email) & (StaffUser.active == True))  # noqa: E712
            .first()
        )
        if user is None:
            return TokenInfo("unknown"), None
        user.password_hash = password_hash
        await scope.save(user)
        await end_all_sessions(scope, int(user.id))
        await record(scope, f"staff:{user.id}", "staff.password_reset", f"staff:{user.id}")
    return info, user


# --- the team -----------------------------------------------------------------------------------


async def end_all_sessions(scope: TenantScope, user_id: int) -> None:
    await scope.delete(PortalSession).where(
        (PortalSession.kind == "staff") & (PortalSession.subject_id == user_id)
    )


async def active_owners(scope: TenantScope) -> int:
    return int(
        await scope.count(StaffUser).where(
            (StaffUser.role == "owner") & (StaffUser.active == True)  # noqa: E712
        )
    )


async def _lock_team(scope: TenantScope) -> None:
    """Serialise team changes of one tenant (SQLite's write transactions already are)."""
    if db.engine().engine_type in ("postgres", "cockroach"):
        key = int.from_bytes(
            hashlib.sha256(f"recaudo-team:{scope.tenant_id}".encode()).digest()[:8],
            "big",
            signed=True,
        )
        await RateLimitHit.raw("SELECT pg_advisory_xact_lock({})", key)  # any table's engine


async def _member(scope: TenantScope, user_id: int) -> StaffUser:
    user = await scope.get(StaffUser, user_id)
    if user is None:
        from recaudo.core.casework.review import NotFound

        raise NotFound("Miembro del equipo no encontrado.")
    return user


async def change_role(scope: TenantScope, user_id: int, role: str, actor: StaffUser) -> StaffUser:
    if role not in STAFF_ROLES:
        raise TeamError(f"role {role!r}: use one of {', '.join(STAFF_ROLES)}")
    async with db.transaction():
        await _lock_team(scope)
        user = await _member(scope, user_id)
        before = str(user.role)
        if before == role:
            return user
        if before == "owner" and user.active and await active_owners(scope) <= 1:
            raise TeamError("role: the team needs at least one active owner")
        user.role = role
        await scope.save(user)
        await record(
            scope,
            f"staff:{actor.id}",
            "staff.role_changed",
            f"staff:{user.id}",
            before=before,
            after=role,
        )
    return user


async def set_active(scope: TenantScope, user_id: int, active: bool, actor: StaffUser) -> StaffUser:
    async with db.transaction():
        await _lock_team(scope)
        user = await _member(scope, user_id)
        if bool(user.active) == active:
            return user
        if not active and int(user.id) == int(actor.id):
            raise TeamError("active: you cannot deactivate yourself")
        if not active and user.role == "owner" and await active_owners(scope) <= 1:
            raise TeamError("active: the team needs at least one active owner")
        user.active = active
        await scope.save(user)
        if not active:
            await end_all_sessions(scope, int(user.id))
        action = "staff.reactivated" if active else "staff.deactivated"
        await record(scope, f"staff:{actor.id}", action, f"staff:{user.id}")
    return user


async def team(scope: TenantScope) -> list[StaffUser]:
    return list(await scope.objects(StaffUser).order_by(StaffUser.id))


__all__ = [
    "TTL",
    "TeamError",
    "TokenInfo",
    "accept_invitation",
    "change_role",
    "check_password",
    "claim",
    "invite",
    "issue",
    "link_for",
    "request_reset",
    "reset_password",
    "set_active",
]
