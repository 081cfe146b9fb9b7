"""Small typed values that cross the plugin boundary (never plain dicts for money or debtors)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from recaudo.core.common.money import Money

FieldType = Literal["string", "secret", "integer", "boolean", "choice", "text"]


@dataclass(frozen=True)
class SettingField:
    """One per-tenant setting of a plugin. ``secret`` fields are write-only and encrypted."""

    name: str
    label: str
    type: FieldType = "string"
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    help: str = ""

    @property
    def secret(self) -> bool:
        return self.type == "secret"


@dataclass(frozen=True)
class PluginSettingsSchema:
    """The settings a plugin asks each tenant for; ``plugin`` is its entry-point name."""

    plugin: str
    fields: tuple[SettingField, ...]


@dataclass(frozen=True)
class TenantInfo:
    """What a plugin may know about a tenant."""

    id: int
    slug: str
    name: str
    country: str
    currency: str
    locale: str
    timezone: str
    branding: dict[str, Any] = field(default_factory=dict)
    test: bool = False  # a test tenant: the sandbox gateway is allowed, pages say "modo de prueba"


@dataclass(frozen=True)
class Branding:
    """A tenant's look. Every value is untrusted and validated before it reaches a page."""

    display_name: str
    primary_color: str = "#1f6feb"
    accent_color: str = "#0b3d91"
    logo_url: str = ""
    tagline: str = ""
    support_email: str = ""
    support_phone: str = ""
    support_whatsapp: str = ""
    support_hours: str = ""  # e.g. "lunes a viernes, 9 a 18 h"


@dataclass(frozen=True)
class OutgoingMessage:
    """A message for one recipient, already rendered in the recipient's language."""

    to: str
    subject: str
    text: str
    html: str = ""
    kind: str = "generic"  # login_link, receipt, reminder, …


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    provider_id: str = ""
    error: str = ""


@dataclass(frozen=True)
class InvoiceEvent:
    """Something happened to an invoice (``created``, ``paid``, ``written_off``, ``reopened``,
    ``voided``…)."""

    tenant: TenantInfo
    invoice_id: int
    kind: str
    balance: Money


@dataclass(frozen=True)
class PaymentEvent:
    """A payment changed status (``approved``, ``refunded``…)."""

    tenant: TenantInfo
    payment_id: int
    kind: str
    amount: Money
    method: str


@dataclass(frozen=True)
class EInvoiceRequest:
    tenant: TenantInfo
    invoice_id: int
    number: str
    issue_date: date
    customer_name: str
    customer_tax_id: str
    total: Money
    lines: tuple[tuple[str, int, Money], ...]  # description, quantity, line amount


@dataclass(frozen=True)
class EInvoiceResult:
    ok: bool
    uuid: str = ""
    xml: str = ""
    error: str = ""
