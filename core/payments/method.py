"""The contract a payment-method plugin implements.

Lifecycle, from the host's side:

1. The customer chooses invoices (or an amount) and a method; the host creates a ``Payment`` row in
   status ``pending`` with an idempotency key, then calls :meth:`PaymentMethod.start_checkout`.
2. ``start_checkout(ctx, checkout)`` talks to the provider and returns a
   :class:`CheckoutResult`: a redirect to a hosted checkout, instructions (a voucher, bank
   details, a QR) or a form to show. It must never mark money as received: only provider events
   do that.
3. The provider notifies ``POST /hooks/<plugin>/<tenant>``. The host calls
   :meth:`verify_webhook` (reject forged or stale calls), then :meth:`parse_webhook` to get event
   references, stores the raw event in the inbox with a job in one transaction, and answers 200.
4. A worker calls :meth:`fetch_status` for the authoritative state and applies it; the same state
   applied twice changes nothing. :meth:`search_by_reference` recovers notifications that never
   arrived.
5. Staff may :meth:`refund`; provider refunds and chargebacks also arrive as events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from recaudo.core.common.money import Money
from recaudo.core.common.safejson import loads_object
from recaudo.core.platform.values import SettingField, TenantInfo

if TYPE_CHECKING:
    from recaudo.core.platform.context import PluginContext

# Our statuses. Providers' vocabularies are mapped onto these by each plugin.
PAYMENT_STATUSES = (
    "pending",
    "in_process",
    "approved",
    "rejected",
    "cancelled",
    "expired",
    "refunded",
    "partially_refunded",
    "charged_back",
)


class WebhookRejected(Exception):
    """The notification is forged, stale or malformed: the endpoint answers 401, stores nothing."""


@dataclass(frozen=True)
class WebhookRequest:
    """An incoming HTTP notification, framework-free."""

    headers: dict[str, str]  # lower-cased names
    query: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, nesting bounded; ``ValueError`` otherwise (answered 400).

        Call it only after :meth:`PaymentMethod.verify_webhook` has accepted the request.
        """
        return loads_object(self.body)


@dataclass(frozen=True)
class EventRef:
    """What a notification is about. ``event_key`` deduplicates deliveries of the same event."""

    event_key: str
    provider_payment_id: str | None = None
    our_payment_id: int | None = None
    topic: str = "payment"


@dataclass(frozen=True)
class ProviderPayment:
    """The provider's authoritative view of one payment."""

    provider_payment_id: str
    status: str  # one of PAYMENT_STATUSES
    amount: Money
    amount_refunded: int = 0
    provider_status: str = ""
    provider_status_detail: str = ""
    our_payment_id: int | None = None
    updated_at: datetime | None = None
    # Until when the customer can still pay it (a cash voucher issued inside a hosted checkout).
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Checkout:
    """The payment ``start_checkout`` prepares. URLs are absolute and tenant-specific; the
    tenant and the plugin's settings are on the :class:`PluginContext` passed alongside."""

    payment_id: int
    idempotency_key: str
    amount: Money
    description: str
    customer_name: str
    customer_email: str
    return_url: str
    notification_url: str
    items: tuple[tuple[str, Money], ...] = ()
    customer_id: int = 0
    customer_reference: str = ""  # the customer's stable payment reference, when one exists
    option: str = ""  # a sub-method the customer picked, e.g. "oxxo"


@dataclass(frozen=True)
class CheckoutResult:
    """How the customer goes on: to ``redirect_url``, reading ``instructions`` or a ``form``."""

    kind: Literal["redirect", "instructions", "form"]
    redirect_url: str = ""
    instructions: dict[str, Any] = field(default_factory=dict)
    form: dict[str, Any] = field(default_factory=dict)
    provider_payment_id: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class RefundResult:
    ok: bool
    provider_refund_id: str = ""
    amount: int = 0
    error: str = ""


@dataclass(frozen=True)
class SavedInstrument:
    """A provider-side token for a customer's card or account (never the card data itself)."""

    provider_instrument_id: str
    label: str  # what the customer recognises, e.g. "Visa •••• 4242"
    expires: str = ""


@dataclass(frozen=True)
class Fee:
    """A fee shown to the customer before paying (informative; the provider charges it)."""

    label: str
    amount: Money | None = None
    percent_bp: int = 0  # basis points


class PaymentMethod:
    """Base class for payment-method plugins. Override what your provider supports.

    Every call that acts for a tenant gets the plugin's :class:`PluginContext` first: the tenant,
    the plugin's settings (``ctx.settings``, secrets decrypted: never store or log them) and its
    storage. Card data never passes through Recaudo: use hosted checkout or provider tokens.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    icon: ClassVar[str] = ""
    description: ClassVar[str] = ""
    countries: ClassVar[tuple[str, ...]] = ()  # empty: everywhere
    currencies: ClassVar[tuple[str, ...]] = ()  # empty: any currency
    options: ClassVar[tuple[tuple[str, str], ...]] = ()  # sub-methods: (code, label)
    settings_schema: ClassVar[tuple[SettingField, ...]] = ()
    supports_refunds: ClassVar[bool] = False
    supports_saved_instruments: ClassVar[bool] = False
    #: A pretend gateway (the sandbox): offered to test tenants only, since it "receives" no money.
    test_only: ClassVar[bool] = False

    def configuration_errors(self, settings: Mapping[str, Any]) -> list[str]:
        """What the tenant must still configure before customers are offered this method.

        Defaults to the schema's required fields; override for deeper checks. A method with
        errors is never shown nor accepted, so a customer cannot start a payment that fails.
        """
        return [
            f"{f.label}: obligatorio"
            for f in self.settings_schema
            if f.required and not str(settings.get(f.name) or "").strip()
        ]

    #: The texts customers read (label, description, option and fee labels) in other languages:
    #: ``{"en": {"Transferencia bancaria": "Bank transfer"}}``. Spanish is the source language;
    #: a text without a translation is shown as written.
    translations: ClassVar[Mapping[str, Mapping[str, str]]] = {}

    def text(self, message: str, language: str) -> str:
        """``message`` (one of this method's texts) in ``language``, else unchanged."""
        return self.translations.get(language, {}).get(message, message)

    def available_for(self, tenant: TenantInfo, currency: str) -> bool:
        return (not self.countries or tenant.country in self.countries) and (
            not self.currencies or currency in self.currencies
        )

    def options_for(self, tenant: TenantInfo) -> tuple[tuple[str, str], ...]:
        """The sub-methods this tenant's customers may pick (e.g. OXXO only in Mexico)."""
        return self.options

    def fees(self, amount: Money, settings: Mapping[str, Any]) -> list[Fee]:
        """Fees to show the customer before paying ``amount`` (informative)."""
        return []

    async def start_checkout(self, ctx: PluginContext, checkout: Checkout) -> CheckoutResult:
        """Prepare the provider side. You may NOT do anything here that marks money as received.

        Send ``checkout.idempotency_key`` with the provider call: a retried checkout must not
        create a second provider payment.
        """
        raise NotImplementedError

    def verify_webhook(self, ctx: PluginContext, request: WebhookRequest) -> None:
        """Raise :class:`WebhookRejected` unless the request is genuine and fresh."""
        raise WebhookRejected(f"{self.name} does not accept webhooks")

    def parse_webhook(self, ctx: PluginContext, request: WebhookRequest) -> list[EventRef]:
        """Turn a verified notification into event references (no I/O)."""
        return []

    async def fetch_status(self, ctx: PluginContext, provider_payment_id: str) -> ProviderPayment:
        """Ask the provider for the authoritative state of one payment of ``ctx.tenant``."""
        raise NotImplementedError

    async def search_by_reference(
        self, ctx: PluginContext, our_payment_id: int
    ) -> list[ProviderPayment]:
        """Find provider payments for one of ours (recovers lost notifications)."""
        return []

    async def refund(
        self,
        ctx: PluginContext,
        provider_payment_id: str,
        amount: Money,
        idempotency_key: str,
    ) -> RefundResult:
        """Give back ``amount`` of a payment, once per ``idempotency_key``."""
        return RefundResult(ok=False, error=f"{self.name} does not support refunds")

    async def save_instrument(
        self, ctx: PluginContext, checkout: Checkout, provider_token: str
    ) -> SavedInstrument:
        """Turn a token the provider's hosted form produced into a reusable instrument (autopay).

        Only for methods with ``supports_saved_instruments``; card numbers never reach Recaudo.
        """
        raise NotImplementedError(f"{self.name} does not save instruments")

    async def charge_instrument(
        self, ctx: PluginContext, checkout: Checkout, instrument: SavedInstrument
    ) -> ProviderPayment:
        """Charge a saved instrument for ``checkout.amount`` with its idempotency key (autopay).

        Return the provider's state; the host applies it like any other provider event.
        """
        raise NotImplementedError(f"{self.name} does not save instruments")

    async def start_instrument_setup(
        self, ctx: PluginContext, checkout: Checkout
    ) -> CheckoutResult:
        """Send the customer to the provider's own page to save a card (autopay enrollment).

        ``checkout.amount`` is zero and ``checkout.return_url`` is where the provider must send
        the customer back, adding ``token=<provider token>`` to its query; the host then calls
        :meth:`save_instrument` with that token. Card numbers are typed on the provider's page,
        never on Recaudo's. Only for methods with ``supports_saved_instruments``.
        """
        raise NotImplementedError(f"{self.name} does not save instruments")
