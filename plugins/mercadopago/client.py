"""Building the official SDK for one tenant, and the few conversions at its boundary.

The SDK joins its fixed ``Config.api_base_url`` with each resource path and hands the absolute URL
to the ``HttpClient`` it was given. Passing our own :class:`BaseUrlHttpClient` (a documented
``SDK(http_client=...)`` argument) is therefore the supported way to talk to another host — a
test double or a regional proxy — without touching the SDK's private attributes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import mercadopago
from mercadopago.config import Config, RequestOptions
from mercadopago.http import HttpClient

#: The SDK's own base URL (read through its public property, so an SDK upgrade stays in charge).
MP_API_BASE: str = Config().api_base_url
#: Seconds per API call: the SDK default (60 s) would hold a worker thread far too long.
TIMEOUT_SECONDS = 20.0
MAX_RETRIES = 2
#: Mercado Pago rejects idempotency keys longer than this (the SDK checks it too).
MAX_IDEMPOTENCY_KEY = 64


class MercadoPagoConfigError(ValueError):
    """The tenant's Mercado Pago settings are incomplete (e.g. no access token)."""


class BaseUrlHttpClient(HttpClient):
    """The SDK's ``requests`` transport, sending calls for the real API host to ``api_base``."""

    def __init__(self, api_base: str = MP_API_BASE) -> None:
        self.api_base = api_base.rstrip("/")

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        maxretries: int | None = None,
        retry_on: list[int] | None = None,
        backoff_factor: float | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        if url.startswith(MP_API_BASE) and self.api_base != MP_API_BASE:
            url = self.api_base + url[len(MP_API_BASE) :]
        return super().request(method, url, maxretries, retry_on, backoff_factor, **kwargs)


def make_sdk(settings: Mapping[str, Any], api_base: str = MP_API_BASE) -> mercadopago.SDK:
    """A fresh SDK for one tenant (cheap; never cached, so no token outlives the call)."""
    token = str(settings.get("access_token") or "").strip()
    if not token:
        raise MercadoPagoConfigError("Mercado Pago: access_token is not configured")
    options = RequestOptions(connection_timeout=TIMEOUT_SECONDS, max_retries=MAX_RETRIES)
    return mercadopago.SDK(token, http_client=BaseUrlHttpClient(api_base), request_options=options)


def call_options(idempotency_key: str = "") -> RequestOptions:
    """Per-call options; with a key, the same request retried cannot act twice at the provider."""
    headers = (
        {"x-idempotency-key": idempotency_key_header(idempotency_key)} if idempotency_key else {}
    )
    return RequestOptions(
        connection_timeout=TIMEOUT_SECONDS, max_retries=MAX_RETRIES, custom_headers=headers
    )


def idempotency_key_header(key: str) -> str:
    """``key`` itself when Mercado Pago accepts it, else its SHA-256 (stable and 64 chars)."""
    key = key.strip()
    if not key:
        raise ValueError("an idempotency key is required")
    if len(key) <= MAX_IDEMPOTENCY_KEY:
        return key
    return hashlib.sha256(key.encode()).hexdigest()


def json_number(value: Decimal) -> int | float:
    """A JSON number for an exact decimal amount, for the SDK only.

    The SDK serialises bodies with ``json.JSONEncoder``, which rejects ``Decimal``, so the amount
    must become an ``int`` or ``float`` here and nowhere else. Integral amounts (CLP, COP) go as
    ``int``; others as the float whose shortest repr is the same decimal — true for every amount
    of up to 15 significant digits — and we check it instead of assuming it.
    """
    if value == value.to_integral_value():
        return int(value)
    number = float(value)
    if Decimal(repr(number)) != value:
        raise ValueError(f"{value} cannot be sent to Mercado Pago exactly")
    return number
