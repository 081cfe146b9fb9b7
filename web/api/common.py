"""What every API route shares: the caller behind the key, cursors, and idempotent POSTs."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import HeaderParameter
from litestar.response import Response

from recaudo.core import db
from recaudo.core.access.apikeys import ApiCaller, authenticate
from recaudo.core.common.idempotency import IdempotencyError, run_once
from recaudo.tenants.scoped import TenantScope, as_id
from recaudo.web.api.errors import JSON, ApiError, encode_error, field_error

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        max_length=255,
        description=(
            "Any unique string (e.g. a UUID). Repeating it with the same body replays the first "
            "response for 24 hours; with another body the answer is 422."
        ),
    ),
]
READ_ONLY = "this API key is read-only; use a key with scope write"


async def provide_caller(request: Request[Any, Any, Any]) -> ApiCaller:
    """The key's caller; 401 when the key is missing, unknown or revoked."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise NotAuthorizedException("Authorization: missing; send 'Authorization: Bearer KEY'")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("Authorization: use 'Bearer KEY'")
    caller = await authenticate(token)
    if caller is None:
        raise NotAuthorizedException("Authorization: unknown or revoked API key")
    return caller


async def provide_writer(caller: NamedDependency[ApiCaller]) -> ApiCaller:
    """A caller whose key may change things; a read key gets 403."""
    if not caller.can_write:
        raise field_error(403, "Authorization", READ_ONLY)
    return caller


async def provide_api_scope(caller: NamedDependency[ApiCaller]) -> TenantScope:
    return TenantScope(caller.tenant_id)


# --- cursor pagination (keyset by id, newest first) ---------------------------------------------


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"c1:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id a page continues after; a cursor we did not make is a 400 naming ``cursor``."""
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raw = ""
    version, _, value = raw.partition(":")
    last = as_id(value) if version == "c1" else None
    if last is None or len(cursor) > 40:
        raise field_error(400, "cursor", "not a cursor from a previous page's `next`")
    return last


async def page(
    query: Any, id_column: Any, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """One page of ``query`` (newest first) and the cursor of the next one, if any."""
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(id_column < after)
    rows = list(await query.order_by(id_column, ascending=False).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(int(rows[-1].id)) if more and rows else None)


# --- input checks and idempotent POSTs ----------------------------------------------------------


def check_text(value: Any, path: str = "") -> None:
    """Refuse text the database cannot store (NUL, lone surrogates), naming the field."""
    if isinstance(value, msgspec.Struct):
        value = msgspec.structs.asdict(value)
    if isinstance(value, dict):
        for key, item in value.items():
            check_text(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_text(item, f"{path}[{i}]")
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise field_error(400, path, "text is not valid Unicode") from None
        if "\x00" in value:
            raise field_error(400, path, "NUL characters are not allowed")


def _unique_violation(exc: Exception) -> bool:
    return "unique" in str(exc).lower() or type(exc).__name__ == "UniqueViolationError"


async def _guarded(action: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await action()
    except ApiError:
        raise
    except Exception as exc:
        if _unique_violation(exc):  # a concurrent request took the same number first
            raise field_error(409, "number", "already used") from None
        raise


async def idempotent_post(
    request: Request[Any, Any, Any],
    caller: ApiCaller,
    scope: TenantScope,
    action: Callable[[], Awaitable[Any]],
    status: int | Callable[[Any], int] = 201,
) -> Response[Any]:
    """Run ``action`` in one transaction, once per ``Idempotency-Key`` when one is sent.

    ``action`` returns the response body (a Struct) or raises :class:`ApiError`; ``status`` is
    the success status, or a function of the body when it depends on what happened (a file
    already imported is 200, a new one 201).
    """

    def status_of(payload: Any) -> int:
        return status(payload) if callable(status) else status

    key = request.headers.get("idempotency-key")
    if key is None:
        async with db.transaction():
            payload = await _guarded(action)
        return Response(
            content=msgspec.json.encode(payload), status_code=status_of(payload), media_type=JSON
        )
    body = await request.body()

    async def execute() -> tuple[int, bytes]:
        try:
            payload = await _guarded(action)
        except ApiError as err:
            return err.status_code, encode_error(err)
        return status_of(payload), msgspec.json.encode(payload)

    try:
        outcome = await run_once(
            scope,
            key=key,
            api_key_id=caller.key_id,
            request=f"{request.method} {request.url.path}",
            body=body,
            execute=execute,
        )
    except IdempotencyError as exc:
        raise field_error(exc.status, "Idempotency-Key", exc.message) from None
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return Response(
        content=outcome.body, status_code=outcome.status, media_type=JSON, headers=headers
    )
