"""A fake Mercado Pago API: a real HTTP server on 127.0.0.1 for tests that must not go online.

It speaks the documented endpoints the Recaudo plugin (or any plugin built on the official SDK)
uses, with Mercado Pago's JSON shapes, and keeps everything in memory:

* ``POST /checkout/preferences``            — Checkout Pro preference (Bearer token checked)
* ``GET  /checkout/preferences/{id}``
* ``POST /v1/payments``                     — cash/PIX payments: ``pending`` with a voucher
* ``GET  /v1/payments/{id}``
* ``GET  /v1/payments/search?external_reference=…``
* ``POST /v1/payments/{id}/refunds``        — full or partial; ``x-idempotency-key`` honoured
* ``GET  /v1/payments/{id}/refunds``
* ``GET  /v1/customers/search?email=…``, ``POST /v1/customers``, ``POST /v1/customers/{id}/cards``
  (with a card token) and ``POST /v1/card_tokens`` (``card_id`` + ``customer_id``): saved cards
* ``POST /v1/payments`` with a ``token``: a card payment, approved unless the test card
  declines (:meth:`FakeMercadoPago.card_form_token` plays the hosted Card Form / Brick)

``payment_delay`` (seconds) makes ``POST /v1/payments`` answer late *after* acting, as a slow
provider does: a client killed while waiting finds the payment made when it retries with the
same idempotency key.

Every POST honours ``x-idempotency-key`` like Mercado Pago: the same key on the same path replays
the first answer without acting again (even if the body differs, e.g. a fresher timestamp).

Preferences honour Mercado Pago's expiry: ``expires: true`` needs ``expiration_date_from``/``_to``
in ISO 8601 with an offset (else 400, as Mercado Pago answers), and
:meth:`FakeMercadoPago.pay_preference` refuses an expired preference (:class:`PreferenceExpired`)
the way the hosted checkout would. A cash payment made inside a preference carries its
``date_of_expiration``.

Test-control helpers are Python methods, not HTTP: :meth:`FakeMercadoPago.pay_preference` plays
the customer paying a Checkout Pro preference, :meth:`~FakeMercadoPago.set_status` moves a payment
(e.g. to ``charged_back``), :meth:`~FakeMercadoPago.go_down` and
:meth:`~FakeMercadoPago.come_back` play an API outage (5xx answers or dropped connections), and
:meth:`~FakeMercadoPago.signed_webhook` builds the notification Mercado Pago would send, signed
exactly as the SDK's ``WebhookSignatureValidator`` expects
(``x-signature: ts=<unix seconds>,v1=<hex HMAC-SHA256>`` over
``id:<data.id>;request-id:<x-request-id>;ts:<ts>;``). :meth:`~FakeMercadoPago.forged_webhook` and
:meth:`~FakeMercadoPago.stale_webhook` build the bad variants. Received requests, with lower-cased
headers and parsed JSON, are in :attr:`FakeMercadoPago.requests`.

Usage, as a pytest fixture::

    from tests.fakes.mercadopago import FakeMercadoPago

    @pytest.fixture
    def mp() -> Iterator[FakeMercadoPago]:
        with FakeMercadoPago(access_tokens={"TEST-token"}) as fake:
            yield fake

    async def test_pay(mp):
        method = MercadoPagoMethod(api_base=mp.url)
        ...
        payment = mp.pay_preference(mp.last_preference_id, status="approved")
        notification = mp.signed_webhook(payment["id"], secret="whsec")

Point the SDK at ``fake.url`` with a custom ``mercadopago.http.HttpClient`` (see
``recaudo.plugins.mercadopago.client.BaseUrlHttpClient``); a whole Recaudo process can use it
through ``RECAUDO_MERCADOPAGO_API_BASE``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from recaudo.core.payments.method import WebhookRequest

DEFAULT_TOKEN = "TEST-0000000000000000-000000-fake"
COLLECTOR_ID = 123456789

#: A 1×1 PNG, standing in for the QR image Mercado Pago returns as base64.
_PIXEL_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"
    "AAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)

#: payment_method_id → payment_type_id, for the methods the fake accepts without a card token.
OFFLINE_METHODS: dict[str, str] = {
    "oxxo": "ticket",
    "paycash": "ticket",
    "efecty": "ticket",
    "bolbradesco": "ticket",
    "rapipago": "ticket",
    "pagofacil": "ticket",
    "abitab": "ticket",
    "redpagos": "ticket",
    "pagoefectivo_atm": "atm",
    "pix": "bank_transfer",
}


class PreferenceExpired(Exception):
    """The customer tried to pay a preference outside its validity (Mercado Pago's page says the
    link expired and takes no payment)."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received (headers lower-cased, body parsed as JSON when possible)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


@dataclass
class _Stored:
    status: int
    body: Any


@dataclass
class FakeMercadoPago:
    """In-memory Mercado Pago served over HTTP in a background thread. Use as a context manager."""

    access_tokens: set[str] = field(default_factory=lambda: {DEFAULT_TOKEN})
    site_currency: str = "MXN"  # what /v1/payments charges in (Mercado Pago uses the account's)
    requests: list[RecordedRequest] = field(default_factory=list)
    preferences: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[int, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    #: While set, the API is "down": an HTTP status (e.g. 503) answers every call with that
    #: error; ``"reset"`` drops each connection unanswered, as a timeout or crash looks to a
    #: client. See :meth:`go_down` and :meth:`come_back`.
    down: int | str | None = None
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)
    card_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_delay: float = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._next_id = 1_320_000_001
        self._idempotent: dict[tuple[str, str], _Stored] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeMercadoPago:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeMercadoPago:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """Base URL to give the SDK instead of ``https://api.mercadopago.com``."""
        if self._server is None:
            raise RuntimeError("the fake server is not running (use it as a context manager)")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    # --- inspection -------------------------------------------------------------------------

    def requests_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        with self._lock:
            return [
                r for r in self.requests if r.method == method and r.path.startswith(path_prefix)
            ]

    @property
    def last_preference_id(self) -> str:
        with self._lock:
            return next(reversed(self.preferences))

    # --- test control -----------------------------------------------------------------------

    def create_payment(
        self,
        *,
        amount: str | Decimal | int,
        currency: str | None = None,
        external_reference: str = "",
        status: str = "approved",
        status_detail: str = "",
        payment_method_id: str = "visa",
        payment_type_id: str = "credit_card",
        payer_email: str = "comprador@example.com",
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store a payment as if a customer had made it; returns the API object."""
        now = _now()
        with self._lock:
            payment_id = self._new_id()
            payment: dict[str, Any] = {
                "id": payment_id,
                "status": status,
                "status_detail": status_detail or _default_detail(status),
                "transaction_amount": Decimal(str(amount)),
                "transaction_amount_refunded": Decimal(0),
                "currency_id": currency or self.site_currency,
                "external_reference": external_reference,
                "payment_method_id": payment_method_id,
                "payment_type_id": payment_type_id,
                "payer": {"email": payer_email},
                "collector_id": COLLECTOR_ID,
                "live_mode": False,
                "date_created": now,
                "date_last_updated": now,
                "date_approved": now if status == "approved" else None,
                "refunds": [],
                **(extra or {}),
            }
            self.payments[payment_id] = payment
            self.refunds[payment_id] = []
            return self._public(payment)

    def pay_preference(
        self,
        preference_id: str,
        *,
        status: str = "approved",
        status_detail: str = "",
        payment_method_id: str = "visa",
        payment_type_id: str = "credit_card",
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """The customer pays a Checkout Pro preference: a payment for the sum of its items.

        ``at`` is when they pay (default now); outside the preference's validity it raises
        :class:`PreferenceExpired`. A ``ticket``/``atm`` payment is a voucher valid until the
        preference's ``date_of_expiration``.
        """
        with self._lock:
            pref = self.preferences[preference_id]
            if not preference_open(pref, at or datetime.now(UTC)):
                raise PreferenceExpired(preference_id)
            items = pref["items"]
            total = sum(
                (Decimal(str(i["unit_price"])) * int(i.get("quantity", 1)) for i in items),
                Decimal(0),
            )
            return self.create_payment(
                amount=total,
                currency=items[0]["currency_id"],
                external_reference=str(pref.get("external_reference") or ""),
                status=status,
                status_detail=status_detail,
                payment_method_id=payment_method_id,
                payment_type_id=payment_type_id,
                payer_email=(pref.get("payer") or {}).get("email") or "comprador@example.com",
                extra={
                    "metadata": pref.get("metadata") or {},
                    "preference_id": preference_id,
                    **(
                        {"date_of_expiration": pref.get("date_of_expiration")}
                        if payment_type_id in ("ticket", "atm") and pref.get("date_of_expiration")
                        else {}
                    ),
                },
            )

    def set_status(
        self,
        payment_id: int | str,
        status: str,
        status_detail: str = "",
        *,
        amount_refunded: str | Decimal | None = None,
    ) -> dict[str, Any]:
        """Move a payment to another status (approval of a voucher, chargeback, expiry…)."""
        with self._lock:
            payment = self.payments[int(payment_id)]
            payment["status"] = status
            payment["status_detail"] = status_detail or _default_detail(status)
            if amount_refunded is not None:
                payment["transaction_amount_refunded"] = Decimal(str(amount_refunded))
            payment["date_last_updated"] = _now()
            if status == "approved" and not payment.get("date_approved"):
                payment["date_approved"] = payment["date_last_updated"]
            return self._public(payment)

    def card_form_token(
        self, last4: str = "4242", *, decline: bool = False, brand: str = "visa"
    ) -> str:
        """What Mercado Pago's Card Form / Card Payment Brick returns in the browser: a one-time
        token for the card typed there (the number itself never leaves Mercado Pago)."""
        with self._lock:
            token = uuid.uuid4().hex
            self.card_tokens[token] = {
                "last_four_digits": last4,
                "payment_method": {"id": brand, "name": brand.capitalize()},
                "expiration_month": 12,
                "expiration_year": 2030,
                "decline": decline,
            }
            return token

    def go_down(self, how: int | str = 503) -> None:
        """Start an outage: every call fails (``how``: an HTTP status or ``"reset"``)."""
        self.down = how

    def come_back(self) -> None:
        """End the outage."""
        self.down = None

    def signed_webhook(
        self,
        payment_id: int | str,
        secret: str,
        *,
        request_id: str | None = None,
        ts: int | None = None,
        action: str = "payment.updated",
        topic: str = "payment",
    ) -> WebhookRequest:
        """The notification Mercado Pago sends about ``payment_id``, correctly signed.

        ``ts`` is Unix time in **seconds**: that is what the SDK validator compares (it multiplies
        by 1000 before comparing with its millisecond clock) and what real deliveries carry.
        """
        data_id = str(payment_id)
        request_id = request_id or str(uuid.uuid4())
        ts = int(time.time()) if ts is None else ts
        signature = sign(secret, data_id.lower(), request_id, ts)
        body = {
            "id": self._new_id(),
            "live_mode": False,
            "type": topic,
            "date_created": _now(),
            "user_id": COLLECTOR_ID,
            "api_version": "v1",
            "action": action,
            "data": {"id": data_id},
        }
        return WebhookRequest(
            headers={
                "content-type": "application/json",
                "x-signature": f"ts={ts},v1={signature}",
                "x-request-id": request_id,
            },
            query={"data.id": data_id, "type": topic},
            body=json.dumps(body).encode(),
        )

    def forged_webhook(self, payment_id: int | str, **kwargs: Any) -> WebhookRequest:
        """Same shape as a genuine notification, signed with a secret Mercado Pago never had."""
        return self.signed_webhook(payment_id, "forged-" + uuid.uuid4().hex, **kwargs)

    def stale_webhook(
        self, payment_id: int | str, secret: str, *, age_seconds: int = 3600, **kwargs: Any
    ) -> WebhookRequest:
        """A genuinely signed notification captured ``age_seconds`` ago (a replay)."""
        return self.signed_webhook(payment_id, secret, ts=int(time.time()) - age_seconds, **kwargs)

    # --- API behaviour ----------------------------------------------------------------------

    def _new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def _public(self, payment: Any) -> Any:
        """A JSON-ready copy (Decimals become JSON numbers, as Mercado Pago sends them)."""
        return json.loads(json.dumps(payment, default=_json_default))

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any]:
        try:
            payload = json.loads(raw, parse_float=Decimal) if raw else None
        except ValueError:
            return 400, _error(400, "bad_request", "invalid JSON body")
        with self._lock:
            self.requests.append(
                RecordedRequest(method, path, query, headers, json.loads(raw) if raw else None)
            )
        if isinstance(self.down, int):
            return self.down, _error(self.down, "service_unavailable", "try again later")
        token = headers.get("authorization", "")
        if not token.startswith("Bearer ") or token[7:] not in self.access_tokens:
            return 401, _error(401, "unauthorized", "invalid access token")
        key = headers.get("x-idempotency-key", "")
        if method == "POST" and key:
            with self._lock:
                stored = self._idempotent.get((path, key))
                if stored is not None:
                    return stored.status, stored.body
                status, body = self._route(method, path, query, payload)
                if status < 500:
                    self._idempotent[(path, key)] = _Stored(status, body)
                return status, body
        with self._lock:
            return self._route(method, path, query, payload)

    def _route(
        self, method: str, path: str, query: dict[str, str], payload: Any
    ) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if parts[:2] in (["v1", "customers"], ["v1", "card_tokens"]):
            return self._saved_cards(method, parts, query, payload)
        if (
            method == "POST"
            and parts == ["v1", "payments"]
            and isinstance(payload, dict)
            and (payload.get("token"))
        ):
            return self._create_card_payment(payload)
        if method == "POST" and parts == ["checkout", "preferences"]:
            return self._create_preference(payload)
        if method == "GET" and parts[:2] == ["checkout", "preferences"] and len(parts) == 3:
            pref = self.preferences.get(parts[2])
            return (200, pref) if pref else (404, _error(404, "not_found", "preference"))
        if parts[:2] != ["v1", "payments"]:
            return 404, _error(404, "not_found", f"no route {method} {path}")
        if method == "POST" and len(parts) == 2:
            return self._create_cash_payment(payload)
        if method == "GET" and parts[2:] == ["search"]:
            return 200, self._search(query)
        if len(parts) < 3 or not parts[2].isdigit():
            return 404, _error(404, "not_found", "payment")
        payment = self.payments.get(int(parts[2]))
        if payment is None:
            return 404, _error(404, "not_found", f"Payment not found {parts[2]}")
        if method == "GET" and len(parts) == 3:
            return 200, self._public(payment)
        if parts[3:] == ["refunds"]:
            if method == "GET":
                return 200, self._public(self.refunds[payment["id"]])
            if method == "POST":
                return self._refund(payment, payload or {})
        return 405, _error(405, "method_not_allowed", path)

    def _create_preference(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not body.get("items"):
            return 400, _error(400, "invalid_items", "items needed")
        for item in body["items"]:
            price = item.get("unit_price")
            if not isinstance(price, Decimal | int) or price <= 0 or not item.get("currency_id"):
                return 400, _error(400, "invalid_unit_price", "unit_price must be positive")
        if body.get("expires"):
            start = _parse_iso(body.get("expiration_date_from"))
            end = _parse_iso(body.get("expiration_date_to"))
            if start is None or end is None or end <= start:
                return 400, _error(
                    400, "invalid_expiration_date", "expiration dates need ISO 8601 with offset"
                )
        if "date_of_expiration" in body and _parse_iso(body["date_of_expiration"]) is None:
            return 400, _error(400, "invalid_date_of_expiration", "ISO 8601 with offset")
        back = body.get("back_urls") or {}
        if body.get("auto_return") and not back.get("success"):
            return 400, _error(400, "invalid_auto_return", "back_url.success must be defined")
        pref_id = f"{COLLECTOR_ID}-{uuid.uuid4()}"
        pref = {
            **body,
            "id": pref_id,
            "collector_id": COLLECTOR_ID,
            "date_created": _now(),
            "init_point": f"{self.url}/checkout/v1/redirect?pref_id={pref_id}",
            "sandbox_init_point": f"{self.url}/sandbox/checkout/v1/redirect?pref_id={pref_id}",
        }
        pref = self._public(pref)
        self.preferences[pref_id] = pref
        return 201, pref

    def _create_cash_payment(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            return 400, _error(400, "bad_request", "body needed")
        method_id = str(body.get("payment_method_id") or "")
        amount = body.get("transaction_amount")
        if method_id not in OFFLINE_METHODS:
            return 400, _error(400, "bad_request", f"{method_id!r} needs a card token")
        if not isinstance(amount, Decimal | int) or amount <= 0:
            return 400, _error(400, "bad_request", "invalid transaction_amount")
        if not (body.get("payer") or {}).get("email"):
            return 400, _error(400, "bad_request", "payer.email is required")
        expires = body.get("date_of_expiration") or _iso(datetime.now(UTC) + timedelta(days=3))
        reference = f"{self._next_id % 10**14:014d}"
        extra: dict[str, Any] = {
            "description": body.get("description", ""),
            "notification_url": body.get("notification_url"),
            "metadata": body.get("metadata") or {},
            "date_of_expiration": expires,
        }
        if method_id == "pix":
            qr = f"00020126580014br.gov.bcb.pix0136{uuid.uuid4()}5204000053039865802BR6304ABCD"
            extra["point_of_interaction"] = {
                "type": "OPENPLATFORM",
                "transaction_data": {
                    "qr_code": qr,
                    "qr_code_base64": _PIXEL_PNG,
                    "ticket_url": f"{self.url}/pix/{reference}",
                },
            }
            extra["transaction_details"] = {"external_resource_url": None}
            detail = "pending_waiting_transfer"
        else:
            extra["transaction_details"] = {
                "payment_method_reference_id": reference,
                "external_resource_url": f"{self.url}/payments/{reference}/ticket",
                "verification_code": reference,
            }
            extra["barcode"] = {"content": f"{reference}{len(method_id):04d}"}
            detail = "pending_waiting_payment"
        payment = self.create_payment(
            amount=amount,
            external_reference=str(body.get("external_reference") or ""),
            status="pending",
            status_detail=detail,
            payment_method_id=method_id,
            payment_type_id=OFFLINE_METHODS[method_id],
            payer_email=body["payer"]["email"],
            extra=extra,
        )
        return 201, payment

    def _saved_cards(
        self, method: str, parts: list[str], query: dict[str, str], payload: Any
    ) -> tuple[int, Any]:
        body = payload if isinstance(payload, dict) else {}
        if parts == ["v1", "customers", "search"] and method == "GET":
            email = query.get("email", "")
            found = [c for c in self.customers.values() if c["email"] == email]
            return 200, {"paging": {"total": len(found)}, "results": found}
        if parts == ["v1", "customers"] and method == "POST":
            if not body.get("email"):
                return 400, _error(400, "bad_request", "email is required")
            if any(c["email"] == body["email"] for c in self.customers.values()):
                return 400, _error(400, "already_exists", "the customer already exists")
            customer = {"id": f"{self._new_id()}-cust", "email": body["email"], "cards": []}
            self.customers[customer["id"]] = customer
            return 201, customer
        if len(parts) == 4 and parts[3] == "cards" and method == "POST":
            customer = self.customers.get(parts[2])
            data = self.card_tokens.pop(str(body.get("token") or ""), None)
            if customer is None:
                return 404, _error(404, "not_found", "customer")
            if data is None:
                return 400, _error(400, "invalid_token", "card token invalid or used")
            card = {"id": str(self._new_id()), "customer_id": customer["id"], **data}
            self.cards[card["id"]] = card
            customer["cards"].append(card["id"])
            return 200, card
        if parts == ["v1", "card_tokens"] and method == "POST":
            card = self.cards.get(str(body.get("card_id") or ""))
            if card is None or card["customer_id"] != body.get("customer_id"):
                return 400, _error(400, "invalid_card", "card not found for that customer")
            token = uuid.uuid4().hex
            self.card_tokens[token] = {**card, "saved_card": card["id"]}
            return 201, {"id": token, "card_id": card["id"]}
        return 404, _error(404, "not_found", f"no route {method}")

    def _create_card_payment(self, body: dict[str, Any]) -> tuple[int, Any]:
        data = self.card_tokens.pop(str(body.get("token")), None)
        amount = body.get("transaction_amount")
        if data is None:
            return 400, _error(400, "invalid_token", "card token invalid or used")
        if not isinstance(amount, Decimal | int) or amount <= 0:
            return 400, _error(400, "bad_request", "invalid transaction_amount")
        payer = body.get("payer") or {}
        if data.get("saved_card") and payer.get("type") != "customer":
            return 400, _error(400, "bad_request", "a saved card needs payer.type customer")
        declined = bool(data.get("decline"))
        payment = self.create_payment(
            amount=amount,
            external_reference=str(body.get("external_reference") or ""),
            status="rejected" if declined else "approved",
            status_detail="cc_rejected_insufficient_amount" if declined else "",
            payment_method_id=str(data["payment_method"]["id"]),
            extra={"payer": payer, "metadata": body.get("metadata") or {}},
        )
        return 201, payment

    def _search(self, query: dict[str, str]) -> dict[str, Any]:
        found = [
            p
            for p in self.payments.values()
            if all(
                str(p.get(name) or "") == value
                for name, value in query.items()
                if name in ("external_reference", "status", "payment_method_id")
            )
        ]
        found.sort(key=lambda p: p["id"], reverse=query.get("criteria") == "desc")
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 30))
        page = found[offset : offset + limit]
        return {
            "paging": {"total": len(found), "limit": limit, "offset": offset},
            "results": [self._public(p) for p in page],
        }

    def _refund(self, payment: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any]:
        if payment["status"] != "approved":
            return 400, _error(
                400, "invalid_status", f"cannot refund a {payment['status']} payment"
            )
        remaining = payment["transaction_amount"] - payment["transaction_amount_refunded"]
        amount = body.get("amount", remaining)
        if not isinstance(amount, Decimal | int) or amount <= 0 or amount > remaining:
            return 400, _error(400, "invalid_refund_amount", f"at most {remaining} can be refunded")
        refund = {
            "id": self._new_id(),
            "payment_id": payment["id"],
            "amount": Decimal(amount),
            "status": "approved",
            "date_created": _now(),
            "source": {"type": "collector", "id": str(COLLECTOR_ID)},
            "unique_sequence_number": None,
        }
        self.refunds[payment["id"]].append(refund)
        payment["refunds"].append(refund)
        payment["transaction_amount_refunded"] += Decimal(amount)
        if payment["transaction_amount_refunded"] == payment["transaction_amount"]:
            payment["status"], payment["status_detail"] = "refunded", "refunded"
        else:
            payment["status_detail"] = "partially_refunded"
        payment["date_last_updated"] = _now()
        return 201, self._public(refund)


def sign(secret: str, data_id: str | None, request_id: str | None, ts: int | str) -> str:
    """Mercado Pago's v1 signature: HMAC-SHA256 (hex) of the documented manifest.

    Empty parts are left out of the manifest, exactly as the SDK validator does.
    """
    parts = [f"id:{data_id}"] if data_id else []
    if request_id:
        parts.append(f"request-id:{request_id}")
    parts.append(f"ts:{ts}")
    manifest = ";".join(parts) + ";"
    return hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    owner: FakeMercadoPago
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        if self.owner.down == "reset":
            self.close_connection = True  # no answer at all: the client sees a dropped connection
            return
        try:
            status, body = self.owner.handle(self.command, split.path, query, headers, raw)
        except Exception as exc:  # a bug in the fake must show up as a 500, not a hang
            status, body = 500, _error(500, "internal_error", repr(exc))
        if self.command == "POST" and split.path == "/v1/payments" and self.owner.payment_delay:
            time.sleep(self.owner.payment_delay)  # acted already; answers late
        data = json.dumps(body, default=_json_default).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-request-id", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _error(status: int, error: str, message: str) -> dict[str, Any]:
    return {"status": status, "error": error, "message": message, "cause": []}


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _parse_iso(text: Any) -> datetime | None:
    """A date Mercado Pago accepts: ISO 8601 *with* an offset (``Z`` or ``±hh:mm``)."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def preference_open(pref: dict[str, Any], at: datetime) -> bool:
    """Whether a preference takes payments at ``at`` (always, unless ``expires`` is true)."""
    if not pref.get("expires"):
        return True
    start = _parse_iso(pref.get("expiration_date_from"))
    end = _parse_iso(pref.get("expiration_date_to"))
    return start is not None and end is not None and start <= at <= end


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _now() -> str:
    return _iso(datetime.now(UTC))


def _default_detail(status: str) -> str:
    return {
        "approved": "accredited",
        "pending": "pending_waiting_payment",
        "in_process": "pending_contingency",
        "rejected": "cc_rejected_other_reason",
        "cancelled": "by_collector",
        "refunded": "refunded",
        "charged_back": "settled",
        "in_mediation": "in_mediation",
        "authorized": "pending_capture",
    }.get(status, status)
