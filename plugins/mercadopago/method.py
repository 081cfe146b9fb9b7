"""``MercadoPagoMethod``: Checkout Pro redirects, cash vouchers and PIX through the official SDK.

The SDK is synchronous (``requests``), so every call runs in a worker thread through
:func:`asyncio.to_thread`; an SDK instance is built per call from the tenant's settings.
Amounts leave Recaudo as exact decimals and come back through ``Money.parse(str(value))``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mercadopago.errors import MercadoPagoError
from mercadopago.webhook import InvalidWebhookSignatureError, WebhookSignatureValidator

from recaudo.api import (
    Checkout,
    CheckoutResult,
    EventRef,
    Money,
    PaymentMethod,
    PluginContext,
    ProviderPayment,
    RefundResult,
    SavedInstrument,
    SettingField,
    TenantInfo,
    WebhookRejected,
    WebhookRequest,
)
from recaudo.plugins.mercadopago.client import (
    MP_API_BASE,
    call_options,
    json_number,
    make_sdk,
)
from recaudo.plugins.mercadopago.statuses import map_status

log = logging.getLogger(__name__)

#: How long a Checkout Pro preference takes payments (Recaudo's default for hosted checkouts).
CHECKOUT_TTL = timedelta(minutes=60)
#: Seconds a signed notification stays acceptable (replays of old captures are refused).
WEBHOOK_TOLERANCE_SECONDS = 300
DEFAULT_EXPIRATION_MINUTES = 3 * 24 * 60  # a cash voucher needs days, not minutes

SETTINGS_FIELDS: tuple[SettingField, ...] = (
    SettingField(
        "access_token",
        "Access token",
        type="secret",
        required=True,
        help="Credenciales de producción (o de prueba) de tu aplicación en Mercado Pago.",
    ),
    SettingField(
        "webhook_secret",
        "Clave secreta de webhooks",
        type="secret",
        required=True,
        help="Tus integraciones → Webhooks: valida que cada notificación viene de Mercado Pago.",
    ),
    SettingField("public_key", "Public key", type="string"),
    SettingField(
        "expiration_minutes",
        "Vigencia de fichas en efectivo y PIX (minutos)",
        type="integer",
        default=DEFAULT_EXPIRATION_MINUTES,
        help="Tiempo para pagar una ficha en efectivo o un PIX antes de que expire. "
        "El checkout con tarjeta vence a los 60 minutos.",
    ),
    SettingField(
        "sandbox",
        "Modo de pruebas",
        type="boolean",
        default=False,
        help="Envía al cliente al checkout de pruebas (sandbox_init_point).",
    ),
)


@dataclass(frozen=True)
class CashOption:
    """A sub-method paid outside a card form: a voucher, a PIX QR or a bank redirect."""

    code: str
    label: str
    payment_method_id: str  # Mercado Pago's id, or the payment type kept in Checkout Pro
    kind: str  # "voucher" | "pix" | "bank_redirect"
    country: str  # Mercado Pago offers each one in a single site


CASH_OPTIONS: tuple[CashOption, ...] = (
    CashOption("oxxo", "Efectivo en OXXO", "oxxo", "voucher", "MX"),
    CashOption("paycash", "Efectivo en tiendas (PayCash)", "paycash", "voucher", "MX"),
    CashOption("pse", "PSE (débito desde tu banco)", "bank_transfer", "bank_redirect", "CO"),
    CashOption("efecty", "Efectivo en Efecty", "efecty", "voucher", "CO"),
    CashOption("pix", "PIX", "pix", "pix", "BR"),
    CashOption("boleto", "Boleto bancário", "bolbradesco", "voucher", "BR"),
    CashOption("rapipago", "Efectivo en Rapipago", "rapipago", "voucher", "AR"),
    CashOption("pagofacil", "Efectivo en Pago Fácil", "pagofacil", "voucher", "AR"),
    CashOption("pagoefectivo", "PagoEfectivo", "pagoefectivo_atm", "voucher", "PE"),
    CashOption("abitab", "Efectivo en Abitab", "abitab", "voucher", "UY"),
    CashOption("redpagos", "Efectivo en Redpagos", "redpagos", "voucher", "UY"),
)
OPTIONS_BY_CODE = {option.code: option for option in CASH_OPTIONS}


def options_for(country: str) -> tuple[tuple[str, str], ...]:
    """The ``(code, label)`` options a tenant in ``country`` can offer."""
    return tuple((o.code, o.label) for o in CASH_OPTIONS if o.country == country.upper())


#: Payment types a Checkout Pro preference may exclude (all but the one a redirect option keeps).
_PAYMENT_TYPES = ("credit_card", "debit_card", "prepaid_card", "ticket", "atm", "bank_transfer")


def _iso(moment: datetime) -> str:
    """Mercado Pago's date format: ISO 8601 with milliseconds and an explicit offset."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _parse_date(text: Any) -> datetime | None:
    if not text or not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _money(value: Any, currency: str) -> Money:
    """Exact minor units from a JSON number: ``str()`` of a parsed float is its shortest repr."""
    return Money.parse(str(value if value is not None else 0), currency)


def _body(response: Any) -> dict[str, Any]:
    """The JSON body of a successful SDK call; a typed SDK error otherwise."""
    response.raise_for_status()
    body = response.get("response")
    if not isinstance(body, dict):
        raise MercadoPagoError(int(response.get("status", 0)), {"message": "empty response"})
    return body


def _expiry_minutes(settings: Mapping[str, Any]) -> int:
    value = settings.get("expiration_minutes")
    try:
        minutes = int(value) if value not in (None, "") else DEFAULT_EXPIRATION_MINUTES
    except (TypeError, ValueError):
        minutes = DEFAULT_EXPIRATION_MINUTES
    return max(minutes, 30)  # Mercado Pago needs time to process; below this is a typo


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "sí", "si")
    return bool(value)


def to_provider_payment(payment: dict[str, Any]) -> ProviderPayment:
    """Our view of a ``/v1/payments`` object (also used for search results)."""
    currency = str(payment.get("currency_id") or "")
    amount = _money(payment.get("transaction_amount"), currency)
    refunded = _money(payment.get("transaction_amount_refunded"), currency).amount
    status = str(payment.get("status") or "")
    detail = str(payment.get("status_detail") or "")
    reference = str(payment.get("external_reference") or "").strip()
    return ProviderPayment(
        provider_payment_id=str(payment["id"]),
        status=map_status(status, detail, refunded),
        amount=amount,
        amount_refunded=refunded,
        provider_status=status,
        provider_status_detail=detail,
        our_payment_id=int(reference) if reference.isdigit() else None,
        updated_at=_parse_date(payment.get("date_last_updated")),
        expires_at=_parse_date(payment.get("date_of_expiration")),
    )


class MercadoPagoMethod(PaymentMethod):
    """Mercado Pago: hosted Checkout Pro (cards, wallet, cash) plus direct cash/PIX options.

    ``api_base`` exists so tests and staging can point the SDK at a fake server; tenants cannot
    change it (a tenant-chosen host would receive the tenant's access token).
    """

    name = "mercadopago"
    label = "Tarjeta, débito o efectivo con Mercado Pago"
    description = "Paga con tarjeta, saldo de Mercado Pago o en efectivo."
    countries = ("MX", "CO", "AR", "BR", "CL", "PE", "UY")
    options = tuple((option.code, option.label) for option in CASH_OPTIONS)
    translations = {
        "en": {
            label: "Card, debit or cash with Mercado Pago",
            description: "Pay by card, with your Mercado Pago balance or in cash.",
            "Efectivo en OXXO": "Cash at OXXO",
            "Efectivo en tiendas (PayCash)": "Cash at stores (PayCash)",
            "PSE (débito desde tu banco)": "PSE (debit from your bank)",
            "Efectivo en Efecty": "Cash at Efecty",
            "Efectivo en Rapipago": "Cash at Rapipago",
            "Efectivo en Pago Fácil": "Cash at Pago Fácil",
            "Efectivo en Abitab": "Cash at Abitab",
            "Efectivo en Redpagos": "Cash at Redpagos",
        }
    }
    settings_schema = SETTINGS_FIELDS
    supports_refunds = True
    supports_saved_instruments = True

    def options_for(self, tenant: TenantInfo) -> tuple[tuple[str, str], ...]:
        return options_for(tenant.country)

    def __init__(
        self,
        api_base: str = MP_API_BASE,
        *,
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        self.api_base = api_base
        self._now_ms = now_ms  # clock for webhook tolerance; None = the system clock

    # --- checkout -------------------------------------------------------------------------

    async def start_checkout(self, ctx: PluginContext, checkout: Checkout) -> CheckoutResult:
        """A Checkout Pro redirect, or a voucher/QR for a cash option. Never marks it paid."""
        option = OPTIONS_BY_CODE.get(checkout.option) if checkout.option else None
        if checkout.option and option is None:
            raise ValueError(f"Mercado Pago has no option {checkout.option!r}")
        if option is not None and option.country != ctx.tenant.country:
            raise ValueError(f"{option.label} is not offered in {ctx.tenant.country}")
        if option is not None and option.kind in ("voucher", "pix"):
            return await asyncio.to_thread(self._create_cash_payment, ctx, checkout, option)
        return await asyncio.to_thread(self._create_preference, ctx, checkout, option)

    def preference_body(
        self, ctx: PluginContext, checkout: Checkout, option: CashOption | None = None
    ) -> dict:
        """The Checkout Pro preference for ``checkout`` (public so its shape is easy to test)."""
        items = checkout.items or ((checkout.description, checkout.amount),)
        total = Money.zero(checkout.amount.currency)
        for _, price in items:
            total = total + price  # also refuses a currency other than the payment's
        if total != checkout.amount:
            # Mercado Pago charges the sum of the items; a mismatch would collect the wrong amount.
            raise ValueError(f"items add up to {total}, the payment is for {checkout.amount}")
        now = datetime.now(UTC)
        voucher_expires = now + timedelta(minutes=_expiry_minutes(ctx.settings))
        body: dict[str, Any] = {
            "items": [
                {
                    "id": f"{checkout.payment_id}-{n}",
                    "title": title[:256] or checkout.description,
                    "quantity": 1,
                    "currency_id": price.currency,
                    "unit_price": json_number(price.to_decimal()),
                }
                for n, (title, price) in enumerate(items, start=1)
            ],
            "payer": {"email": checkout.customer_email, "name": checkout.customer_name},
            "external_reference": str(checkout.payment_id),
            "notification_url": checkout.notification_url,
            "back_urls": {
                "success": checkout.return_url,
                "pending": checkout.return_url,
                "failure": checkout.return_url,
            },
            "auto_return": "approved",
            # The hosted checkout lives as long as our checkout (core/payments/expiry.py); a cash
            # voucher issued inside it keeps the longer voucher validity.
            "expires": True,
            "expiration_date_from": _iso(now),
            "expiration_date_to": _iso(now + CHECKOUT_TTL),
            "date_of_expiration": _iso(voucher_expires),
            "metadata": {"tenant": ctx.tenant.slug, "payment_id": checkout.payment_id},
        }
        if option is not None and option.kind == "bank_redirect":
            keep = option.payment_method_id
            body["payment_methods"] = {
                "excluded_payment_types": [{"id": t} for t in _PAYMENT_TYPES if t != keep],
                "installments": 1,
            }
        return body

    def _create_preference(
        self, ctx: PluginContext, checkout: Checkout, option: CashOption | None
    ) -> CheckoutResult:
        sdk = make_sdk(ctx.settings, self.api_base)
        body = self.preference_body(ctx, checkout, option)
        pref = _body(sdk.preference().create(body, call_options(checkout.idempotency_key)))
        sandbox = _flag(ctx.settings.get("sandbox"))
        url = pref.get("sandbox_init_point") if sandbox else pref.get("init_point")
        if not url:
            raise MercadoPagoError(502, {"message": "preference without init_point"})
        return CheckoutResult(
            kind="redirect",
            redirect_url=str(url),
            expires_at=_parse_date(pref.get("expiration_date_to"))
            or _parse_date(body["expiration_date_to"]),
        )

    def payment_body(
        self, ctx: PluginContext, checkout: Checkout, option: CashOption
    ) -> dict[str, Any]:
        """The ``/v1/payments`` request for a voucher or PIX option."""
        first, _, last = checkout.customer_name.strip().partition(" ")
        expires = datetime.now(UTC) + timedelta(minutes=_expiry_minutes(ctx.settings))
        return {
            "transaction_amount": json_number(checkout.amount.to_decimal()),
            "description": checkout.description or f"Pago {checkout.payment_id}",
            "payment_method_id": option.payment_method_id,
            "payer": {"email": checkout.customer_email, "first_name": first, "last_name": last},
            "external_reference": str(checkout.payment_id),
            # Per-payment URL routes the notification to this tenant; the SDK warns that
            # account-level webhooks are preferred, but those cannot carry the tenant.
            "notification_url": checkout.notification_url,
            "date_of_expiration": _iso(expires),
            "metadata": {"tenant": ctx.tenant.slug, "payment_id": checkout.payment_id},
        }

    def _create_cash_payment(
        self, ctx: PluginContext, checkout: Checkout, option: CashOption
    ) -> CheckoutResult:
        sdk = make_sdk(ctx.settings, self.api_base)
        body = self.payment_body(ctx, checkout, option)
        payment = _body(sdk.payment().create(body, call_options(checkout.idempotency_key)))
        details = payment.get("transaction_details") or {}
        barcode = payment.get("barcode") or {}
        qr = (payment.get("point_of_interaction") or {}).get("transaction_data") or {}
        expires_at = _parse_date(payment.get("date_of_expiration"))
        voucher_url = details.get("external_resource_url") or qr.get("ticket_url") or ""
        instructions = {
            "provider": "mercadopago",
            "method": option.code,
            "label": option.label,
            "amount": str(checkout.amount.to_decimal()),
            "currency": checkout.amount.currency,
            "reference": str(
                details.get("payment_method_reference_id") or barcode.get("content") or ""
            ),
            "barcode": str(barcode.get("content") or ""),
            "voucher_url": str(voucher_url),
            "qr_code": str(qr.get("qr_code") or ""),
            "qr_code_base64": str(qr.get("qr_code_base64") or ""),
            "expires_at": expires_at.isoformat() if expires_at else "",
        }
        return CheckoutResult(
            kind="instructions",
            instructions=instructions,
            provider_payment_id=str(payment["id"]),
            expires_at=expires_at,
        )

    # --- notifications --------------------------------------------------------------------

    @staticmethod
    def _data_id(request: WebhookRequest) -> str:
        """``data.id`` from the query (what Mercado Pago signs), else from the JSON body.

        Mercado Pago signs alphanumeric ids in lower case, so they are compared that way.
        """
        value = request.query.get("data.id") or ""
        if not value:
            data = _json(request).get("data")
            if isinstance(data, dict):
                value = str(data.get("id") or "")
        return value.strip().lower()

    def verify_webhook(self, ctx: PluginContext, request: WebhookRequest) -> None:
        """Check the ``x-signature`` HMAC and its timestamp with the SDK's validator."""
        secret = str(ctx.settings.get("webhook_secret") or "")
        if not secret:
            raise WebhookRejected("mercadopago: webhook_secret is not configured")
        signature = request.header("x-signature")
        if not signature or "ts=" not in signature or "v1=" not in signature:
            raise WebhookRejected("mercadopago: missing or malformed x-signature header")
        # Only now, for a request that carries a signature, may data.id come from the body.
        data_id = self._data_id(request)
        if not data_id:
            raise WebhookRejected("mercadopago: notification without data.id")
        try:
            WebhookSignatureValidator.validate(
                signature,
                request.header("x-request-id"),
                data_id,
                secret,
                tolerance_seconds=WEBHOOK_TOLERANCE_SECONDS,
                now=self._now_ms,
            )
        except InvalidWebhookSignatureError as exc:
            raise WebhookRejected(f"mercadopago: {exc.reason.value}") from None

    def parse_webhook(self, ctx: PluginContext, request: WebhookRequest) -> list[EventRef]:
        """One event per payment notification; other topics are acknowledged and ignored.

        The key is ``type:data.id:x-request-id``: a redelivery of the same notification dedupes,
        while a later ``payment.updated`` for the same payment (a new request id) is processed.
        Reprocessing is harmless anyway because the worker fetches the authoritative state.
        """
        body = _json(request)
        topic = str(
            request.query.get("type") or body.get("type") or request.query.get("topic") or ""
        )
        data_id = self._data_id(request)
        if topic != "payment" or not data_id:
            return []
        delivery = (
            request.header("x-request-id")
            or str(body.get("id") or "")
            or str(body.get("action") or "")
        )
        return [
            EventRef(
                event_key=f"{topic}:{data_id}:{delivery}",
                provider_payment_id=data_id,
                topic=topic,
            )
        ]

    # --- authoritative state ---------------------------------------------------------------

    # --- saved cards (autopay): Customers & Cards API -----------------------------------------
    #
    # The card number is typed into Mercado Pago's own Card Form / Card Payment Brick, which
    # hands back a one-time card token; only that token reaches Recaudo. We attach it to a
    # Mercado Pago customer (``POST /v1/customers/{id}/cards``) and keep "customer:card" ids.

    async def save_instrument(
        self, ctx: PluginContext, checkout: Checkout, provider_token: str
    ) -> SavedInstrument:
        def save() -> SavedInstrument:
            sdk = make_sdk(ctx.settings, self.api_base)
            email = checkout.customer_email.strip()
            if not email:
                raise ValueError("Mercado Pago needs the customer's e-mail to save a card")
            found = _body(sdk.customer().search({"email": email})).get("results") or []
            if found and isinstance(found[0], dict):
                customer_id = str(found[0]["id"])
            else:
                first, _, last = checkout.customer_name.strip().partition(" ")
                created = sdk.customer().create(
                    {"email": email, "first_name": first, "last_name": last},
                    call_options(f"autopay-customer:{ctx.tenant.id}:{checkout.customer_id}"),
                )
                customer_id = str(_body(created)["id"])
            card = _body(sdk.card().create(customer_id, {"token": provider_token}))
            brand = str((card.get("payment_method") or {}).get("name") or "Tarjeta")
            month, year = card.get("expiration_month"), card.get("expiration_year")
            expires = f"{int(month):02d}/{int(year) % 100:02d}" if month and year else ""
            return SavedInstrument(
                provider_instrument_id=f"{customer_id}:{card['id']}",
                label=f"{brand} •••• {card.get('last_four_digits') or ''}".strip(),
                expires=expires,
            )

        return await asyncio.to_thread(save)

    async def charge_instrument(
        self, ctx: PluginContext, checkout: Checkout, instrument: SavedInstrument
    ) -> ProviderPayment:
        """``POST /v1/payments`` with a token of the saved card, payer type ``customer`` and the
        charge's ``X-Idempotency-Key``: the same key returns Mercado Pago's first payment."""
        customer_id, _, card_id = instrument.provider_instrument_id.partition(":")
        if not customer_id or not card_id:
            raise ValueError("not a Mercado Pago saved card")

        def charge() -> ProviderPayment:
            sdk = make_sdk(ctx.settings, self.api_base)
            token = _body(
                sdk.card_token().create({"card_id": card_id, "customer_id": customer_id})
            )["id"]
            body = {
                "transaction_amount": json_number(checkout.amount.to_decimal()),
                "token": str(token),
                "installments": 1,
                "description": checkout.description or f"Pago {checkout.payment_id}",
                "payer": {"type": "customer", "id": customer_id},
                "external_reference": str(checkout.payment_id),
                "metadata": {"tenant": ctx.tenant.slug, "payment_id": checkout.payment_id},
                **(
                    {"notification_url": checkout.notification_url}
                    if checkout.notification_url
                    else {}
                ),
            }
            created = sdk.payment().create(body, call_options(checkout.idempotency_key))
            return to_provider_payment(_body(created))

        return await asyncio.to_thread(charge)

    async def fetch_status(self, ctx: PluginContext, provider_payment_id: str) -> ProviderPayment:
        def fetch() -> ProviderPayment:
            sdk = make_sdk(ctx.settings, self.api_base)
            return to_provider_payment(_body(sdk.payment().get(provider_payment_id)))

        return await asyncio.to_thread(fetch)

    async def search_by_reference(
        self, ctx: PluginContext, our_payment_id: int
    ) -> list[ProviderPayment]:
        def search() -> list[ProviderPayment]:
            sdk = make_sdk(ctx.settings, self.api_base)
            filters = {
                "external_reference": str(our_payment_id),
                "sort": "date_created",
                "criteria": "desc",
                "limit": 50,
            }
            results = _body(sdk.payment().search(filters)).get("results") or []
            return [to_provider_payment(p) for p in results if isinstance(p, dict)]

        return await asyncio.to_thread(search)

    async def refund(
        self,
        ctx: PluginContext,
        provider_payment_id: str,
        amount: Money,
        idempotency_key: str,
    ) -> RefundResult:
        """Refund ``amount`` (partial or total); the same key never refunds twice."""
        if amount.amount <= 0:
            return RefundResult(ok=False, error="refund amount must be positive")

        def create() -> RefundResult:
            sdk = make_sdk(ctx.settings, self.api_base)
            response = sdk.refund().create(
                provider_payment_id,
                {"amount": json_number(amount.to_decimal())},
                call_options(idempotency_key),
            )
            try:
                refund = _body(response)
            except MercadoPagoError as exc:
                log.warning("mercadopago refund of %s failed: %s", provider_payment_id, exc)
                return RefundResult(ok=False, error=str(exc))
            return RefundResult(
                ok=True,
                provider_refund_id=str(refund.get("id") or ""),
                amount=_money(refund.get("amount", amount.to_decimal()), amount.currency).amount,
            )

        return await asyncio.to_thread(create)


def _json(request: WebhookRequest) -> dict[str, Any]:
    """The notification body as an object; anything else (invalid, too deep) reads as ``{}``."""
    try:
        return request.json_object()
    except ValueError:
        return {}
