"""``Idempotency-Key`` with Stripe's semantics, for the REST API's POSTs.

The first request with a key claims it by inserting its ``idempotency_record`` row (unique
``"<tenant>:<key>"``) in the same transaction that executes the request and stores its response,
so the claim, the changes and the stored answer commit together or not at all:

* same key, same method, path and body → the stored status and body, byte for byte;
* same key, another body or path → :class:`KeyReused` (HTTP 422), nothing executes;
* concurrent requests with one key → one executes; the others wait on the unique index (on
  SQLite on the write lock), then find the stored answer and replay it;
* a 4xx answer is stored and replayed too; its changes are rolled back to a savepoint first;
* an unexpected error rolls everything back, claim included, so the key may be retried;
* records expire after :data:`TTL` (24 hours): the key is then free again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from recaudo.core import db
from recaudo.core.tables import IdempotencyRecord
from recaudo.tenants.scoped import TenantScope

TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class IdempotencyError(Exception):
    """The key cannot be used for this request; ``status`` is the HTTP status to answer."""

    status = 422

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadKey(IdempotencyError):
    status = 400


class KeyReused(IdempotencyError):
    status = 422


class InProgress(IdempotencyError):
    status = 409


@dataclass(frozen=True)
class Outcome:
    status: int
    body: bytes
    replayed: bool


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise BadKey(
            f"Idempotency-Key: 1 to {MAX_KEY_LENGTH} printable ASCII characters (e.g. a UUID)"
        )
    return key


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def run_once(
    scope: TenantScope,
    *,
    key: str,
    api_key_id: int,
    request: str,
    body: bytes,
    execute: Callable[[], Awaitable[tuple[int, bytes]]],
) -> Outcome:
    """Run ``execute`` once for ``key`` (see the module docstring) and return its answer."""
    key = check_key(key)
    digest = body_hash(body)
    lookup = f"{scope.tenant_id}:{key}"
    now = datetime.now(UTC)
    async with db.transaction() as txn:
        found = await _find(scope, lookup)
        if found is not None and now - _aware(found.created_at) >= TTL:
            await scope.delete(IdempotencyRecord).where(IdempotencyRecord.id == found.id)
            found = None
        if found is None:
            # Expired records of this tenant go as new keys arrive (created_at is indexed).
            await scope.delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - TTL)
            claimed = await scope.add_unless_exists(
                IdempotencyRecord(
                    lookup=lookup,
                    key=key,
                    api_key_id=api_key_id,
                    request=request[:300],
                    body_hash=digest,
                    state="started",
                    created_at=now,
                )
            )
            if claimed is not None:
                savepoint = await txn.savepoint()
                status, payload = await execute()
                if status >= 400:
                    await savepoint.rollback_to()  # a refused request changes nothing
                await scope.update(
                    IdempotencyRecord,
                    {
                        IdempotencyRecord.state: "done",
                        IdempotencyRecord.response_status: status,
                        IdempotencyRecord.response_body: payload.decode("utf-8"),
                    },
                ).where(IdempotencyRecord.id == claimed)
                return Outcome(status, payload, replayed=False)
            # Another request claimed the key meanwhile and has committed: read its answer.
            found = await _find(scope, lookup)
            if found is None:  # pragma: no cover - it was there a moment ago
                raise InProgress("Idempotency-Key: a request with this key is in progress")
        return _replay(found, request, digest)


async def _find(scope: TenantScope, lookup: str) -> IdempotencyRecord | None:
    return await scope.objects(IdempotencyRecord).where(IdempotencyRecord.lookup == lookup).first()


def _replay(found: IdempotencyRecord, request: str, digest: str) -> Outcome:
    if str(found.request) != request[:300] or str(found.body_hash) != digest:
        raise KeyReused(
            "Idempotency-Key: already used with another request body or path; "
            "use a new key for a new request"
        )
    if str(found.state) != "done":
        raise InProgress("Idempotency-Key: a request with this key is in progress; retry later")
    return Outcome(int(found.response_status), str(found.response_body).encode("utf-8"), True)
