"""The public plugin API of Recaudo: the one module a plugin imports.

Everything a plugin author needs is here: :data:`hookimpl` to mark hook implementations, the
:class:`PluginContext` every tenant-specific call receives, the payment-method, notification-channel
and e-invoicing contracts with their values, the domain events, job and schedule declarations, and
:data:`API_VERSION`. Anything else under ``recaudo.*`` is private and may change in any release.

A plugin module declares the API version it was written for::

    RECAUDO_API = "1.0"

The host refuses, at load, a plugin whose major version differs from :data:`API_VERSION` or whose
minor version is newer; ``recaudo plugins list`` shows why. The hooks are documented in
``docs/plugins.md`` and specified in ``recaudo.core.hookspecs``.
"""

from __future__ import annotations

from recaudo.core.common.money import Money
from recaudo.core.hookspecs import hookimpl
from recaudo.core.payments.method import (
    PAYMENT_STATUSES,
    Checkout,
    CheckoutResult,
    EventRef,
    Fee,
    PaymentMethod,
    ProviderPayment,
    RefundResult,
    SavedInstrument,
    WebhookRejected,
    WebhookRequest,
)
from recaudo.core.platform.apps import PLATFORM_WIDE
from recaudo.core.platform.context import PluginContext
from recaudo.core.platform.errors import PluginError
from recaudo.core.platform.extensions import (
    ContactRule,
    EInvoiceBackend,
    MatchBook,
    MatchRule,
    NotificationChannel,
)
from recaudo.core.platform.jobs import Job, RetryPolicy, Schedule
from recaudo.core.platform.routes import plugin_context
from recaudo.core.platform.values import (
    Attachment,
    Branding,
    ContactAttempt,
    ContactRequest,
    DeliveryResult,
    EInvoiceDocument,
    EInvoiceFile,
    EInvoiceLine,
    EInvoiceParty,
    EInvoicePaymentRequest,
    EInvoiceRequest,
    EInvoiceResult,
    InvoiceEvent,
    MatchCandidate,
    OpenItem,
    OutgoingMessage,
    PaidInvoice,
    PaymentEvent,
    PluginSettingsSchema,
    RuleDecision,
    SettingField,
    StatementLine,
    TenantInfo,
)
from recaudo.core.platform.version import API_VERSION
from recaudo.tenants.models import TenantOwned

__all__ = [
    "API_VERSION",
    "PAYMENT_STATUSES",
    "PLATFORM_WIDE",
    "Attachment",
    "Branding",
    "Checkout",
    "CheckoutResult",
    "ContactAttempt",
    "ContactRequest",
    "ContactRule",
    "DeliveryResult",
    "EInvoiceBackend",
    "EInvoiceDocument",
    "EInvoiceFile",
    "EInvoiceLine",
    "EInvoiceParty",
    "EInvoicePaymentRequest",
    "EInvoiceRequest",
    "EInvoiceResult",
    "EventRef",
    "Fee",
    "InvoiceEvent",
    "Job",
    "MatchBook",
    "MatchCandidate",
    "MatchRule",
    "Money",
    "NotificationChannel",
    "OpenItem",
    "OutgoingMessage",
    "PaidInvoice",
    "PaymentEvent",
    "PaymentMethod",
    "PluginContext",
    "PluginError",
    "PluginSettingsSchema",
    "ProviderPayment",
    "RefundResult",
    "RetryPolicy",
    "RuleDecision",
    "SavedInstrument",
    "Schedule",
    "SettingField",
    "StatementLine",
    "TenantInfo",
    "TenantOwned",
    "WebhookRejected",
    "WebhookRequest",
    "hookimpl",
    "plugin_context",
]
