"""Staff accounts: argon2id password hashes (argon2-cffi), roles owner/collector/viewer."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from recaudo.core.tables import STAFF_ROLES, StaffUser
from recaudo.tenants.scoped import TenantScope

_hasher = PasswordHasher()
MIN_PASSWORD = 10
# Verifying against this keeps the response time the same whether or not the email exists.
_DUMMY_HASH = _hasher.hash("recaudo-timing-equaliser")


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
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"password: at least {MIN_PASSWORD} characters")
    if await scope.exists(StaffUser).where(StaffUser.email == email):
        raise StaffError(f"email {email!r}: already a staff user of this tenant")
    user = StaffUser(email=email, name=name, password_hash=_hasher.hash(password), role=role)
    await scope.add(user)
    return user


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
