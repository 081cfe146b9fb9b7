"""Optional TOTP two-factor sign-in for staff (RFC 6238 through pyotp; QR codes with segno).

The secret is stored encrypted with the key that protects plugin secrets (derived from
``RECAUDO_SECRET_KEY``). Enrolment stores a pending secret that is switched on only once a code
from it is confirmed. A code is accepted for the current time step or the one before or after,
and never twice: ``last_step`` only grows, set by a conditional update, so a code replayed (even
concurrently) is refused. Recovery codes (shown once) are stored as SHA-256 and each works once.

Sign-in asks for the code after the password: the password step leaves a short-lived pending
sign-in (a ``login2fa`` staff token in its own cookie, 5 minutes), not a session. Wrong codes
are rate limited per user (:data:`MAX_CODE_FAILURES` in :data:`CODE_WINDOW`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import segno

from recaudo.core import db
from recaudo.core.common import ratelimit
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.common.ratelimit import Limit
from recaudo.core.tables import StaffTotp, StaffUser, TeamPolicy
from recaudo.tenants.models import RateLimitHit
from recaudo.tenants.plugin_config import decrypt, encrypt
from recaudo.tenants.scoped import TenantScope

STEP = 30
MAX_CODE_FAILURES = 5
CODE_WINDOW = timedelta(minutes=15)
RECOVERY_CODES = 8
ISSUER = "Recaudo"


def _now() -> datetime:
    return datetime.now(UTC)


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def clean_code(raw: str) -> str:
    return "".join((raw or "").split()).replace("-", "").lower()[:32]


async def state_of(scope: TenantScope, user_id: int) -> StaffTotp | None:
    row: StaffTotp | None = await scope.objects(StaffTotp).where(StaffTotp.staff == user_id).first()
    return row


async def enabled_for(scope: TenantScope, user_id: int) -> bool:
    row = await state_of(scope, user_id)
    return bool(row and row.enabled)


async def enabled_ids(scope: TenantScope) -> set[int]:
    rows = await scope.select(StaffTotp, StaffTotp.staff).where(StaffTotp.enabled == True)  # noqa: E712
    return {int(r["staff"]) for r in rows}


async def start_enrolment(scope: TenantScope, user: StaffUser, secret_key: str) -> str:
    """A new pending secret for ``user`` (replacing a pending one); refused while enabled."""
    row = await state_of(scope, int(user.id))
    if row is not None and row.enabled:
        raise ValueError("totp: already enabled; disable it first")
    secret = pyotp.random_base32()
    sealed = encrypt(secret, secret_key)
    if row is None:
        await scope.add(StaffTotp(staff=user.id, secret=sealed, enabled=False, created_at=_now()))
    else:
        await scope.update(
            StaffTotp, {StaffTotp.secret: sealed, StaffTotp.last_step: 0, StaffTotp.recovery: "[]"}
        ).where(StaffTotp.id == row.id)
    return secret


def pending_secret(row: StaffTotp | None, secret_key: str) -> str:
    if row is None or row.enabled or not row.secret:
        return ""
    return decrypt(str(row.secret), secret_key)


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer or ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code as an inline SVG element (no XML declaration), scaled by CSS."""
    svg: str = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")
    return svg


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step (current, previous or next) whose code is ``code``, else ``None``."""
    code = clean_code(code)
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // STEP)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


async def _use_step(scope: TenantScope, row_id: int, step: int) -> bool:
    """Record ``step`` as used unless it (or a later one) already was: replays are refused."""
    done = await (
        scope.update(StaffTotp, {StaffTotp.last_step: step})
        .where((StaffTotp.id == row_id) & (StaffTotp.last_step < step))
        .returning(StaffTotp.id)
    )
    return bool(done)


async def _lock_user(scope: TenantScope, user_id: int) -> None:
    """Serialise read-modify-writes of one user's row (SQLite's write transactions already are)."""
    if db.engine().engine_type in ("postgres", "cockroach"):
        digest = hashlib.sha256(f"recaudo-totp:{scope.tenant_id}:{user_id}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        await RateLimitHit.raw("SELECT pg_advisory_xact_lock({})", key)  # any table's engine


def new_recovery_codes() -> list[str]:
    return [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]


async def confirm_enrolment(
    scope: TenantScope, user: StaffUser, code: str, secret_key: str
) -> list[str] | None:
    """Switch 2FA on when ``code`` matches the pending secret; returns the recovery codes."""
    row = await state_of(scope, int(user.id))
    secret = pending_secret(row, secret_key)
    if row is None or not secret:
        return None
    step = matching_step(secret, code)
    if step is None or not await _use_step(scope, int(row.id), step):
        return None
    codes = new_recovery_codes()
    await scope.update(
        StaffTotp,
        {
            StaffTotp.enabled: True,
            StaffTotp.enabled_at: _now(),
            StaffTotp.recovery: [_hash(c.replace("-", "")) for c in codes],
        },
    ).where(StaffTotp.id == row.id)
    await record(scope, f"staff:{user.id}", "staff.2fa_enabled", f"staff:{user.id}")
    return codes


async def verify(scope: TenantScope, user_id: int, code: str, secret_key: str) -> str | None:
    """Check a sign-in code: ``"totp"``, ``"recovery"`` or ``None``. Each code works once."""
    row = await state_of(scope, user_id)
    if row is None or not row.enabled:
        return None
    step = matching_step(decrypt(str(row.secret), secret_key), code)
    if step is not None:
        return "totp" if await _use_step(scope, int(row.id), step) else None
    cleaned = clean_code(code)
    if len(cleaned) != 12:
        return None
    async with db.transaction():
        await _lock_user(scope, user_id)  # one recovery code, one use, even concurrently
        fresh = await state_of(scope, user_id)
        left: list[Any] = list(loads(fresh.recovery, []) or []) if fresh else []
        wanted = _hash(cleaned)
        if fresh is None or wanted not in left:
            return None
        left.remove(wanted)
        await scope.update(StaffTotp, {StaffTotp.recovery: left}).where(StaffTotp.id == fresh.id)
    await record(scope, f"staff:{user_id}", "staff.2fa_recovery_used", f"staff:{user_id}")
    return "recovery"


async def recovery_left(scope: TenantScope, user_id: int) -> int:
    row = await state_of(scope, user_id)
    return len(loads(row.recovery, []) or []) if row is not None and row.enabled else 0


async def disable(scope: TenantScope, user: StaffUser, code: str, secret_key: str) -> bool:
    """Switch 2FA off, proven with a current code (or a recovery code)."""
    if await verify(scope, int(user.id), code, secret_key) is None:
        return False
    await scope.delete(StaffTotp).where(StaffTotp.staff == user.id)
    await record(scope, f"staff:{user.id}", "staff.2fa_disabled", f"staff:{user.id}")
    return True


def code_limit(scope: TenantScope, user_id: int) -> Limit:
    return Limit(f"staff:2fa:{scope.tenant_id}:{user_id}", MAX_CODE_FAILURES, CODE_WINDOW)


async def admit_code(scope: TenantScope, user_id: int) -> int | None:
    """Count a code attempt (a failure until :func:`code_ok`); ``None`` when limited."""
    ids = await ratelimit.hit([code_limit(scope, user_id)])
    return ids[0] if ids else None


async def code_ok(scope: TenantScope, user_id: int) -> None:
    await ratelimit.clear(code_limit(scope, user_id).bucket)


# --- the tenant's policy ------------------------------------------------------------------------


async def policy(scope: TenantScope) -> TeamPolicy | None:
    row: TeamPolicy | None = await scope.objects(TeamPolicy).order_by(TeamPolicy.id).first()
    return row


async def set_policy(scope: TenantScope, actor: str, **values: bool) -> None:
    """Change team policy flags (``owners_require_2fa``, ``checklist_dismissed``), audited."""
    columns: dict[Any, Any] = {getattr(TeamPolicy, k): bool(v) for k, v in values.items()}
    columns[TeamPolicy.updated_at] = _now()
    async with db.transaction():
        if await policy(scope) is None:
            await scope.add(TeamPolicy(updated_at=_now()))
        await scope.update(TeamPolicy, columns)
        await record(scope, actor, "team.policy_changed", "team_policy", **values)


async def owners_require_2fa(scope: TenantScope) -> bool:
    row = await policy(scope)
    return bool(row and row.owners_require_2fa)


async def must_enroll(scope: TenantScope, user: StaffUser) -> bool:
    """An owner of a tenant that requires 2FA for owners, without it switched on."""
    if str(user.role) != "owner" or not await owners_require_2fa(scope):
        return False
    return not await enabled_for(scope, int(user.id))
