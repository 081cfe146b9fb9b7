"""API keys for ``/api/v1``: issued once, stored hashed, revocable; the key decides the tenant.

A key reads ``rk_<prefix>_<secret>``. ``prefix`` (12 hex digits) is public and unique across
tenants, so a request's key is found with one indexed lookup; ``secret`` comes from
:func:`secrets.token_urlsafe` and only its SHA-256 is stored, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from recaudo.core import db
from recaudo.core.common.audit import record
from recaudo.core.tables import API_KEY_SCOPES, ApiKey
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope, as_id, unscoped

KEY_PREFIX = "rk"
MAX_KEY_LENGTH = 200
# last_used_at is written at most this often per key: not one write per request.
LAST_USED_EVERY = timedelta(minutes=1)
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


class ApiKeyError(ValueError):
    """Invalid key data; the message names the field."""


@dataclass(frozen=True)
class IssuedKey:
    """A new key and its plaintext, which is shown once and never stored."""

    row: ApiKey
    plaintext: str


@dataclass(frozen=True)
class ApiCaller:
    """Who is calling the API: the key's tenant, the key and what it may do."""

    tenant_id: int
    key_id: int
    scope: str
    name: str
    country: str = "MX"
    currency: str = "MXN"
    timezone: str = "America/Mexico_City"

    @property
    def can_write(self) -> bool:
        return self.scope == "write"

    @property
    def actor(self) -> str:
        return f"apikey:{self.key_id}"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if len(name) > 100:
        raise ApiKeyError("name: at most 100 characters")
    return name


async def create_api_key(
    scope: TenantScope, *, key_scope: str, name: str = "", actor: str
) -> IssuedKey:
    """Issue a key with ``key_scope`` read or write; the plaintext is in the result only."""
    if key_scope not in API_KEY_SCOPES:
        raise ApiKeyError(f"scope {key_scope!r}: use one of {', '.join(API_KEY_SCOPES)}")
    clean = _clean_name(name)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(
        name=clean,
        prefix=prefix,
        secret_hash=_hash(secret),
        scope=key_scope,
        created_by=actor[:100],
        created_at=datetime.now(UTC),
    )
    async with db.transaction():
        await scope.add(row)
        await record(
            scope, actor, "apikey.created", f"api_key:{row.id}", key_scope=key_scope, name=clean
        )
    return IssuedKey(row, f"{KEY_PREFIX}_{prefix}_{secret}")


async def list_api_keys(scope: TenantScope) -> list[ApiKey]:
    """Every key of the tenant, newest first (hashes included: never show them)."""
    return list(await scope.objects(ApiKey).order_by(ApiKey.id, ascending=False))


async def revoke_api_key(scope: TenantScope, key_id: object, actor: str) -> ApiKey:
    """Revoke a key of this tenant at once; revoking a revoked key changes nothing."""
    row = await scope.get(ApiKey, key_id)
    if row is None:
        raise LookupError(f"API key {key_id}: not found")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        async with db.transaction():
            await scope.save(row)
            await record(scope, actor, "apikey.revoked", f"api_key:{row.id}", name=str(row.name))
    return row


def parse_key(raw: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a well-formed key, else ``None``."""
    if not raw or len(raw) > MAX_KEY_LENGTH or not raw.isascii():
        return None
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    prefix, secret = parts[1], parts[2]
    if len(prefix) != 12 or any(c not in "0123456789abcdef" for c in prefix) or not secret:
        return None
    return prefix, secret


async def authenticate(raw: str) -> ApiCaller | None:
    """The caller a key stands for, or ``None`` for a missing, unknown or revoked key."""
    parsed = parse_key(raw.strip())
    if parsed is None:
        return None
    prefix, secret = parsed
    # Platform-wide on purpose: the key is what tells us the tenant.
    row = await unscoped(ApiKey).objects().where(ApiKey.prefix == prefix).first()
    stored = str(row.secret_hash) if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(_hash(secret), stored)
    if row is None or not matches or row.revoked_at is not None:
        return None
    tenant_id = as_id(row.tenant)
    if tenant_id is None:
        return None
    tenant = await Tenant.objects().where(Tenant.id == tenant_id).first()
    if tenant is None or str(tenant.status) != "active":
        return None
    now = datetime.now(UTC)
    last = row.last_used_at
    if last is None or now - _aware(last) >= LAST_USED_EVERY:
        await (
            TenantScope(tenant_id)
            .update(ApiKey, {ApiKey.last_used_at: now})
            .where(ApiKey.id == row.id)
        )
    return ApiCaller(
        tenant_id,
        int(row.id),
        str(row.scope),
        str(row.name),
        str(tenant.country),
        str(tenant.currency),
        str(tenant.timezone),
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
