"""Every error of ``/api/v1`` is JSON: ``{"status_code", "detail", "errors": [...]}``.

Each item of ``errors`` is ``{"field", "message"}``.

Input that cannot be stored or parsed (bad JSON, wrong types, too big, NUL characters) is a 4xx
naming the field; only our own bugs are a 500, logged, with a generic message.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
import msgspec
from litestar import Request
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Response

from recaudo.web.api.schemas import ErrorBody, FieldError

log = logging.getLogger(__name__)
JSON = "application/json"


class ApiError(Exception):
    """A 4xx answer with its errors field by field."""

    def __init__(self, status_code: int, detail: str, errors: list[FieldError] | None = None):
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.errors = errors or []

    def body(self) -> ErrorBody:
        return ErrorBody(self.status_code, self.detail, self.errors)


def field_error(status: int, field: str, message: str) -> ApiError:
    return ApiError(status, f"{field}: {message}", [FieldError(field, message)])


_LINE = re.compile(r"^line (\d+)$")
_FIELD = re.compile(r"^([a-z_]+)(?: .*)?$")


def from_domain(exc: Exception, prefix: str = "", status: int = 422) -> ApiError:
    """A domain error (``"field: message"``, as core's services word them) as an API error."""
    text = str(exc)
    head, sep, rest = text.partition(": ")
    field, message = "", text
    if sep:
        line = _LINE.match(head)
        match = _FIELD.match(head)
        if line:
            field, message = f"lines[{int(line.group(1)) - 1}]", rest
        elif match:
            name = match.group(1)
            field = "customer_id" if name == "customer" else name
            message = rest if head == name else f"{head.partition(' ')[2]}: {rest}"
    field = f"{prefix}{'.' if prefix and field else ''}{field}" if prefix else field
    detail = f"{field}: {message}" if field else message
    return ApiError(status, detail, [FieldError(field or prefix or "body", message)])


def encode_error(err: ApiError) -> bytes:
    return msgspec.json.encode(err.body())


def _json(err: ApiError, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        content=encode_error(err), status_code=err.status_code, media_type=JSON, headers=headers
    )


_AT = re.compile(r" - at `\$\.?(.*)`$")
_MISSING = re.compile(r"missing required field `([^`]+)`")


def _body_field(key: str, message: str) -> tuple[str, str]:
    """The field a msgspec message is about, as ``lines[0].unit_amount``; and the message."""
    path = ""
    at = _AT.search(message)
    if at:
        path, message = at.group(1), message[: at.start()]
    missing = _MISSING.search(message)
    if missing:
        path = f"{path}.{missing.group(1)}" if path else missing.group(1)
    if path:
        return path, message
    return ("body" if key in ("data", "body", "") else key), message


HEADER_NAMES = {"idempotency_key": "Idempotency-Key"}


def _validation_errors(exc: ValidationException) -> list[FieldError]:
    errors = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            key = str(item.get("key") or "")
            message = str(item.get("message", "invalid value"))
            if item.get("source") == "body" or key in ("", "data"):
                key, message = _body_field(key, message)
            key = HEADER_NAMES.get(key, key)
            errors.append(FieldError(key, message))
    if not errors:
        errors.append(FieldError("body", str(exc.detail)))
    return errors


UNSTORABLE_TEXT = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
    UnicodeDecodeError,
)


ERROR_RESPONSES: dict[int, ResponseSpec] = {
    code: ResponseSpec(data_container=ErrorBody, description=text)
    for code, text in (
        (400, "Malformed input: the errors name each field."),
        (401, "Missing, unknown or revoked API key."),
        (403, "A read-only key tried to change something."),
        (404, "No such row for this key's tenant."),
    )
}
POST_RESPONSES: dict[int, ResponseSpec] = {
    **ERROR_RESPONSES,
    409: ResponseSpec(
        data_container=ErrorBody, description="Number already used, or key in progress."
    ),
    413: ResponseSpec(data_container=ErrorBody, description="Body larger than 2 MiB."),
    422: ResponseSpec(
        data_container=ErrorBody,
        description="Invalid values, or an Idempotency-Key reused with another body.",
    ),
}


def api_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, ApiError):
        return _json(exc)
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)[:1000]
        return _json(ApiError(400, detail or "invalid request", errors))
    if isinstance(exc, NotAuthorizedException):
        err = ApiError(401, str(exc.detail), [FieldError("Authorization", str(exc.detail))])
        return _json(err, {"WWW-Authenticate": 'Bearer realm="recaudo"'})
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        detail = str(exc.detail)
        if exc.status_code == 413:
            detail = "body: request body too large"
            return _json(ApiError(413, detail, [FieldError("body", "too large")]))
        errors = [] if exc.status_code in (404, 405) else [FieldError("body", detail)]
        return _json(ApiError(exc.status_code, detail, errors))
    if isinstance(exc, RecursionError):  # JSON nested thousands of levels deep
        return _json(field_error(400, "body", "JSON nested too deeply"))
    if isinstance(exc, UNSTORABLE_TEXT):
        return _json(field_error(400, "body", "text contains characters that cannot be stored"))
    log.exception("unhandled API error on %s %s", request.method, request.url.path)
    body = ErrorBody(500, "Internal error; try again in a few minutes.")
    return Response(content=msgspec.json.encode(body), status_code=500, media_type=JSON)
