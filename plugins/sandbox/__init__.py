"""Sandbox gateway: a pretend payment provider that lives inside Recaudo.

``start_checkout`` opens a charge and sends the customer to our own checkout page, where a tester
approves, rejects or leaves the payment pending. The decision is then delivered exactly like a real
provider would: a signed webhook to ``/hooks/sandbox/<tenant>``, after which the worker asks
:meth:`SandboxMethod.fetch_status` for the authoritative state. No external account is needed, so
the whole payment flow works in the demo and in tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from recaudo.api import (
    Checkout,
    CheckoutResult,
    EventRef,
    Fee,
    Money,
    PaymentMethod,
    PluginContext,
    PluginSettingsSchema,
    ProviderPayment,
    RefundResult,
    SavedInstrument,
    SettingField,
    WebhookRejected,
    WebhookRequest,
    hookimpl,
)
from recaudo.plugins.sandbox.tables import SandboxCharge

RECAUDO_API = "1.0"  # the plugin API this plugin is written for

#: Like a real hosted checkout, the page stops taking payments after a while.
CHECKOUT_TTL = timedelta(minutes=60)
FEE_LABEL = "Comisión de la pasarela de prueba"
SETTINGS_FIELDS = (
    SettingField(
        "fee_percent_bp",
        "Comisión de la pasarela (puntos base)",
        "integer",
        default=0,
        help="150 = 1.5 %: se muestra al elegir el método y se suma en la pasarela de prueba.",
    ),
)
TOLERANCE_S = 300
_secret = {"key": ""}


def _signing_key() -> bytes:
    if not _secret["key"]:
        raise WebhookRejected("sandbox is not configured")
    return hashlib.sha256(b"recaudo-sandbox:" + _secret["key"].encode()).digest()


def sign(body: bytes, ts: int) -> str:
    digest = hmac.new(_signing_key(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


class SandboxMethod(PaymentMethod):
    name = "sandbox"
    label = "Tarjeta de prueba (sandbox)"
    description = (
        "Pasarela de pruebas: tú decides si el pago se aprueba, se rechaza o queda pendiente."
    )
    icon = "/static/img/card.svg"
    translations = {
        "en": {
            label: "Test card (sandbox)",
            description: "Test gateway: you decide whether the payment is approved, rejected "
            "or left pending.",
            FEE_LABEL: "Test gateway fee",
        }
    }
    settings_schema = SETTINGS_FIELDS
    supports_refunds = True
    supports_saved_instruments = True
    test_only = True  # anyone can "approve" a sandbox charge: never for a real business

    def fees(self, amount: Money, settings: Mapping[str, Any]) -> list[Fee]:
        """The fee the tenant set (``fee_percent_bp``), on top of ``amount``."""
        fee = fee_for(amount, settings)
        return [Fee(FEE_LABEL, amount=fee, percent_bp=_bp(settings))] if fee.amount else []

    async def start_checkout(self, ctx: PluginContext, checkout: Checkout) -> CheckoutResult:
        if not ctx.tenant.test:
            raise ValueError("the sandbox gateway is only for test tenants")
        existing = (
            await ctx.db.objects(SandboxCharge)
            .where(SandboxCharge.our_payment_id == checkout.payment_id)
            .first()
        )
        if existing is None:
            [existing] = await ctx.db.add(
                SandboxCharge(
                    provider_id="sbx_" + secrets.token_hex(12),
                    our_payment_id=checkout.payment_id,
                    currency=checkout.amount.currency,
                    amount=checkout.amount.amount,
                    notification_url=checkout.notification_url,
                    return_url=checkout.return_url,
                    description=checkout.description[:300],
                    expires_at=datetime.now(UTC) + CHECKOUT_TTL,
                )
            )
        return CheckoutResult(
            kind="redirect",
            redirect_url=f"/sandbox/checkout/{ctx.tenant.slug}/{existing.provider_id}",
            provider_payment_id=existing.provider_id,
            expires_at=existing.expires_at,
        )

    def verify_webhook(self, ctx: PluginContext, request: WebhookRequest) -> None:
        header = request.header("x-sandbox-signature") or ""
        try:
            parts = dict(p.split("=", 1) for p in header.split(","))
            ts = int(parts["t"])
            given = parts["v1"]
        except (ValueError, KeyError):
            raise WebhookRejected("missing or malformed x-sandbox-signature") from None
        if abs(time.time() - ts) > TOLERANCE_S:
            raise WebhookRejected("stale notification")
        expected = sign(request.body, ts).split("v1=", 1)[1]
        if not hmac.compare_digest(expected, given):
            raise WebhookRejected("bad signature")

    def parse_webhook(self, ctx: PluginContext, request: WebhookRequest) -> list[EventRef]:
        data = request.json_object()
        provider_id, event_id = data["id"], data["event_id"]
        if not (isinstance(provider_id, str) and isinstance(event_id, str)):
            raise ValueError("id and event_id must be strings")
        return [EventRef(event_key=event_id, provider_payment_id=provider_id)]

    async def fetch_status(self, ctx: PluginContext, provider_payment_id: str) -> ProviderPayment:
        charge = (
            await ctx.db.objects(SandboxCharge)
            .where(SandboxCharge.provider_id == provider_payment_id)
            .first()
        )
        if charge is None:
            raise LookupError(f"sandbox charge {provider_payment_id} not found")
        return _state(charge)

    async def search_by_reference(
        self, ctx: PluginContext, our_payment_id: int
    ) -> list[ProviderPayment]:
        rows = await ctx.db.objects(SandboxCharge).where(
            SandboxCharge.our_payment_id == our_payment_id
        )
        return [_state(c) for c in rows]

    async def refund(
        self,
        ctx: PluginContext,
        provider_payment_id: str,
        amount: Money,
        idempotency_key: str,
    ) -> RefundResult:
        charge = (
            await ctx.db.objects(SandboxCharge)
            .where(SandboxCharge.provider_id == provider_payment_id)
            .first()
        )
        if charge is None or charge.status not in ("approved", "partially_refunded"):
            return RefundResult(ok=False, error="only approved sandbox charges can be refunded")
        refundable = int(charge.amount) - int(charge.amount_refunded)
        if amount.amount <= 0 or amount.amount > refundable:
            return RefundResult(ok=False, error="refund exceeds what is left of the charge")
        charge.amount_refunded = int(charge.amount_refunded) + amount.amount
        charge.status = (
            "refunded" if charge.amount_refunded == charge.amount else "partially_refunded"
        )
        charge.updated_at = datetime.now(UTC)
        await ctx.db.save(charge)
        return RefundResult(
            ok=True,
            provider_refund_id=f"{provider_payment_id}:r:{idempotency_key}",
            amount=amount.amount,
        )

    # --- saved test cards (autopay) ---------------------------------------------------------

    async def start_instrument_setup(
        self, ctx: PluginContext, checkout: Checkout
    ) -> CheckoutResult:
        """Our own "guardar tarjeta" page, where the tester types a test card number."""
        if not ctx.tenant.test:
            raise ValueError("the sandbox gateway is only for test tenants")
        setup = setup_id(ctx.tenant.slug, checkout.return_url, time.time() + SETUP_TTL_S)
        return CheckoutResult(
            kind="redirect", redirect_url=f"/sandbox/tarjetas/{ctx.tenant.slug}/{setup}"
        )

    async def save_instrument(
        self, ctx: PluginContext, checkout: Checkout, provider_token: str
    ) -> SavedInstrument:
        card = read_card(ctx.tenant.slug, provider_token)
        if card is None:
            raise ValueError("unknown sandbox card token")
        return SavedInstrument(
            provider_instrument_id=provider_token,
            label=f"{card['brand']} •••• {card['last4']}",
            expires=card["exp"],
        )

    async def charge_instrument(
        self, ctx: PluginContext, checkout: Checkout, instrument: SavedInstrument
    ) -> ProviderPayment:
        """Approve or decline at once, by test card; one charge per payment of ours."""
        if not ctx.tenant.test:
            raise ValueError("the sandbox gateway is only for test tenants")
        card = read_card(ctx.tenant.slug, instrument.provider_instrument_id)
        if card is None:
            raise ValueError("unknown sandbox card")
        # Like a provider honouring an idempotency key: the same key is the same charge, even
        # for two calls at once (the id derives from the key and is unique).
        digest = hashlib.sha256(f"{ctx.tenant.id}:{checkout.idempotency_key}".encode())
        provider_id = "sbx_ap_" + digest.hexdigest()[:24]
        existing = (
            await ctx.db.objects(SandboxCharge)
            .where(SandboxCharge.provider_id == provider_id)
            .first()
        )
        if existing is None:
            await ctx.db.add_unless_exists(
                SandboxCharge(
                    provider_id=provider_id,
                    our_payment_id=checkout.payment_id,
                    currency=checkout.amount.currency,
                    amount=checkout.amount.amount,
                    status="approved" if card["outcome"] == "approve" else "rejected",
                    notification_url=checkout.notification_url[:500],
                    return_url=checkout.return_url[:500],
                    description=checkout.description[:300],
                )
            )
            existing = (
                await ctx.db.objects(SandboxCharge)
                .where(SandboxCharge.provider_id == provider_id)
                .first()
            )
        if existing is None:
            raise LookupError(f"sandbox charge {provider_id} not found")
        return _state(existing)


#: The test cards the "guardar tarjeta" page accepts: number → (brand, outcome of each charge).
TEST_CARDS = {
    "4242424242424242": ("Visa", "approve"),
    "5555555555554444": ("Mastercard", "approve"),
    "4000000000000002": ("Visa", "decline"),
}
SETUP_TTL_S = 1800


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(purpose: str, slug: str, body: str) -> str:
    raw = hmac.new(_signing_key(), f"{purpose}:{slug}:{body}".encode(), hashlib.sha256).digest()
    return _b64(raw[:18])


def setup_id(slug: str, return_url: str, until: float) -> str:
    """A signed, expiring reference to a "save card" visit: where to send the tester back."""
    body = _b64(json.dumps({"r": return_url, "e": int(until)}).encode())
    return f"{body}.{_mac('setup', slug, body)}"


def read_setup(slug: str, setup: str) -> str | None:
    """The return URL of a genuine, unexpired setup id of tenant ``slug``; else ``None``."""
    body, _, mac = setup.partition(".")
    try:
        if not hmac.compare_digest(_mac("setup", slug, body), mac):
            return None
        data = json.loads(_unb64(body))
    except (ValueError, WebhookRejected):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("r"), str):
        return None
    if not isinstance(data.get("e"), int) or data["e"] < time.time():
        return None
    return str(data["r"])


def card_token(slug: str, brand: str, outcome: str, last4: str, exp: str) -> str:
    """What the page hands back: a signed token naming the test card, never its number."""
    body = _b64(
        json.dumps(
            {"b": brand, "o": outcome, "l": last4, "x": exp, "n": secrets.token_hex(6)}
        ).encode()
    )
    return f"sbxcard.{body}.{_mac('card', slug, body)}"


def read_card(slug: str, token: str) -> dict[str, str] | None:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "sbxcard":
        return None
    try:
        if not hmac.compare_digest(_mac("card", slug, parts[1]), parts[2]):
            return None
        data = json.loads(_unb64(parts[1]))
    except (ValueError, WebhookRejected):
        return None
    if not isinstance(data, dict):
        return None
    return {
        "brand": str(data.get("b", "")),
        "outcome": str(data.get("o", "")),
        "last4": str(data.get("l", "")),
        "exp": str(data.get("x", "")),
    }


def _bp(settings: Mapping[str, Any]) -> int:
    value = settings.get("fee_percent_bp") or 0
    return max(0, min(int(value), 10_000)) if isinstance(value, int) else 0


def fee_for(amount: Money, settings: Mapping[str, Any]) -> Money:
    """The sandbox's fee on ``amount``: ``fee_percent_bp`` basis points, rounded half up."""
    return Money(amount.currency, (amount.amount * _bp(settings) + 5_000) // 10_000)


def _state(charge: SandboxCharge) -> ProviderPayment:
    return ProviderPayment(
        provider_payment_id=charge.provider_id,
        status=charge.status,
        amount=Money(charge.currency, int(charge.amount)),
        amount_refunded=int(charge.amount_refunded),
        provider_status=charge.status,
        our_payment_id=int(charge.our_payment_id),
    )


@hookimpl
def recaudo_startup(settings: Any) -> None:
    _secret["key"] = settings.secret_key


@hookimpl
def recaudo_payment_methods() -> list[PaymentMethod]:
    return [SandboxMethod()]


@hookimpl
def recaudo_settings_schema() -> PluginSettingsSchema:
    return PluginSettingsSchema(plugin="sandbox", fields=SETTINGS_FIELDS)


@hookimpl
def recaudo_routes() -> list[Any]:
    from recaudo.plugins.sandbox.routes import ROUTES

    return ROUTES


@hookimpl
def recaudo_template_dirs() -> list[str]:
    from pathlib import Path

    return [str(Path(__file__).parent / "templates")]


@hookimpl
def recaudo_piccolo_app() -> Any:
    from recaudo.plugins.sandbox.piccolo_app import APP_CONFIG

    return APP_CONFIG
