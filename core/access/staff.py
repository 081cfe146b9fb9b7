"""Staff accounts: argon2id password hashes (argon2-cffi), roles owner/collector/viewer.

Sign-in attempts are limited before the password is checked: within 15 minutes, 5 failures for
one email at a tenant (a successful login starts that count again) and 20 failures from one
address across every tenant. An attempt takes its place in both counts atomically *before* the
(slow) argon2 check, so concurrent guesses cannot all slip past the limit; a successful attempt
gives its place back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from recaudo.core.common import ratelimit
from recaudo.core.common.ratelimit import Limit
from recaudo.core.tables import STAFF_ROLES, StaffUser
from recaudo.tenants.scoped import TenantScope

_hasher = PasswordHasher()
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
# Verifying against this keeps the response time the same whether or not the email exists.
_DUMMY_HASH = _hasher.hash("recaudo-timing-equaliser")


LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 20


class StaffError(ValueError):
    """Invalid staff data; the message names the field."""


def can_act(role: str) -> bool:
    """Viewers read; owners and collectors act."""
    return role in ("owner", "collector")


async def create_staff(
    scope: TenantScope, email: str, password: str, role: str = "collector", name: str = ""
) -> StaffUser:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise StaffError(f"email {email!r}: not an email address")
    if role not in STAFF_ROLES:
        raise StaffError(f"role {role!r}: use one of {', '.join(STAFF_ROLES)}")
    check_password(password)
    if await scope.exists(StaffUser).where(StaffUser.email == email):
        raise StaffError(f"email {email!r}: already a staff user of this tenant")
    user = StaffUser(email=email, name=name, password_hash=hash_password(password), role=role)
    await scope.add(user)
    return user


def check_password(password: str) -> None:
    """The password rules (length); the message names the field."""
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise StaffError(f"password: at most {MAX_PASSWORD} characters")


def hash_password(password: str) -> str:
    """An argon2id hash of a password that passed :func:`check_password`."""
    check_password(password)
    return _hasher.hash(password)


async def authenticate(scope: TenantScope, email: str, password: str) -> StaffUser | None:
    user = (
        await scope.objects(StaffUser)
        .where(
            (StaffUser.email == email.strip().lower()) & (StaffUser.active == True)  # noqa: E712
        )
        .first()
    )
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        await scope.save(user)
    return user


def login_limits(scope: TenantScope, email: str, ip: str) -> tuple[Limit, Limit]:
    fp = ratelimit.fingerprint
    return (
        Limit(
            f"staff:email:{scope.tenant_id}:{fp(email.strip().lower())}",
            MAX_FAILURES_PER_EMAIL,
            LOGIN_WINDOW,
        ),
        Limit(f"staff:ip:{fp(ip)}", MAX_FAILURES_PER_IP, LOGIN_WINDOW),
    )


@dataclass(frozen=True)
class LoginAttempt:
    """A sign-in attempt that was admitted: its places in the email and address counts."""

    email_bucket: str
    ip_hit: int


async def begin_login(scope: TenantScope, email: str, ip: str) -> LoginAttempt | None:
    """Admit an attempt (counted as a failure until :func:`login_succeeded`), or ``None``."""
    limits = login_limits(scope, email, ip)
    ids = await ratelimit.hit(limits)
    if ids is None:
        return None
    return LoginAttempt(email_bucket=limits[0].bucket, ip_hit=ids[1])


async def login_succeeded(attempt: LoginAttempt) -> None:
    """The password was right: the email's failures start again and the address keeps its place."""
    await ratelimit.clear(attempt.email_bucket)
    await ratelimit.release([attempt.ip_hit])
