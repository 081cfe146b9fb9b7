"""Small typed values that cross the plugin boundary (never plain dicts for money or debtors)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
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
class Attachment:
    """A file sent with a message (a formal reminder letter as PDF). Channels that cannot carry
    files send the message without it and say so in its text (``OutgoingMessage.link``)."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class OutgoingMessage:
    """A message for one recipient, already rendered in the recipient's language.

    Template-based channels (WhatsApp Business only sends pre-approved templates outside a
    conversation) use ``template`` and ``params`` instead of ``text``; every channel may use
    ``link``, the page the message opens. ``idempotency_key`` is stable across retries of the same
    message: channels pass it to providers that accept one, so a retry never delivers twice.
    """

    to: str
    subject: str
    text: str
    html: str = ""
    kind: str = "generic"  # login_link, receipt, reminder, …
    language: str = ""  # e.g. "es", "en": the language the text is in
    template: str = ""  # a provider-side template name, e.g. "recordatorio_pago"
    params: tuple[str, ...] = ()  # the template's positional parameters
    link: str = ""
    idempotency_key: str = ""
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class DeliveryResult:
    """What a channel did with a message.

    ``ok=True``: accepted (``provider_id`` identifies it for delivery-status callbacks).
    ``ok=False``: refused for good for this recipient (bad number, opted out): not retried, and
    the message falls back to the customer's next authorised channel when it may. A transient
    problem (network, provider 5xx) is an exception instead, so the job retries with backoff.
    """

    ok: bool
    provider_id: str = ""
    error: str = ""
    permanent: bool = True  # only meaningful when ok is False


@dataclass(frozen=True)
class ContactAttempt:
    """A contact already made with a customer (delivered or accepted by the channel)."""

    at: datetime  # aware
    channel: str


@dataclass(frozen=True)
class ContactRequest:
    """A collection message the dunning engine would send at ``moment``, for contact rules to
    judge. Rules are pure functions of this value: no I/O, so a plan over many customers is cheap
    and ``recaudo reminders plan --at`` answers for any moment, past or future."""

    tenant: TenantInfo
    customer_id: int
    channel: str
    moment: datetime  # aware
    timezone: str  # the customer's IANA time zone (the tenant's when the customer has none)
    authorized_channels: tuple[str, ...] = ()
    quiet_hours: tuple[str, str] | None = None  # ("21:00", "08:00") local to ``timezone``
    history: tuple[ContactAttempt, ...] = ()  # this customer's contacts of the last 14 days


@dataclass(frozen=True)
class RuleDecision:
    """A rule's objection. ``not_before`` is the earliest moment it would allow (the message is
    deferred, never dropped); ``None`` with ``channel_refused`` means this channel can never be
    used for the request (not authorised), so the engine tries the customer's next channel."""

    rule: str  # a stable id, e.g. "co.ley2300.sunday"
    reason: str  # why, in Spanish, for staff and the plan
    not_before: datetime | None = None
    channel_refused: bool = False


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
class EInvoiceParty:
    """A customer's fiscal identity as the tenant recorded it (validated by the backend).

    ``regime``, ``postal_code`` and ``use`` are the country's codes (in Mexico: SAT's régimen
    fiscal, the fiscal domicile's código postal and the CFDI use such as ``G03``); empty when the
    tenant has not captured them, and a backend that needs them refuses with a message.
    """

    customer_id: int
    tax_id: str
    name: str
    country: str = ""
    regime: str = ""
    postal_code: str = ""
    use: str = ""
    email: str = ""


@dataclass(frozen=True)
class EInvoiceLine:
    """One line of the invoice being documented. Amounts are before tax, in the invoice's
    currency; ``tax`` is the line's share of the invoice's tax as the ledger has it."""

    description: str
    quantity: int
    unit_amount: Money
    amount: Money
    tax: Money


@dataclass(frozen=True)
class EInvoiceRequest:
    """Issue the tax document of one invoice. ``key`` is the same for every retry of the same
    request (``invoice:<id>``; a re-issue after cancellation adds the generation), so a backend
    that already issued for ``key`` returns that document instead of issuing again.

    ``balance`` is what is still owed when issuing: a backend may use it to tell an invoice paid
    at once from one paid later (SAT: PUE or PPD). ``replaces`` names the fiscal id of a
    cancelled document this one substitutes (SAT: CfdiRelacionados 04)."""

    tenant: TenantInfo
    invoice_id: int
    number: str
    issue_date: date
    customer_name: str
    customer_tax_id: str
    total: Money
    lines: tuple[tuple[str, int, Money], ...]  # description, quantity, line amount
    key: str = ""
    due_date: date | None = None
    subtotal: Money | None = None
    tax: Money | None = None
    balance: Money | None = None
    customer: EInvoiceParty | None = None
    items: tuple[EInvoiceLine, ...] = ()
    description: str = ""
    replaces: str = ""


@dataclass(frozen=True)
class PaidInvoice:
    """What one payment paid of one invoice, from the ledger (net of reversals).

    ``installment`` counts the payments of this invoice up to and including this one;
    ``balance_before`` is what the invoice owed just before it. ``fiscal_id`` is the invoice's
    own tax document (empty when it has none: a backend may then skip it)."""

    invoice_id: int
    number: str
    fiscal_id: str
    amount: Money
    balance_before: Money
    installment: int
    invoice_total: Money


@dataclass(frozen=True)
class EInvoicePaymentRequest:
    """Make the fiscal record of one payment agree with what the ledger says it pays *now*.

    Sent after every change of the payment's allocations (approved, refunded, undone…) with
    the full current picture; ``invoices`` empty means it pays nothing any more. The backend
    compares with what it issued for ``payment_id``: nothing to do, issue, cancel, or
    substitute, as its country's rules require. ``key`` identifies this picture, so a retried
    job never issues twice."""

    tenant: TenantInfo
    payment_id: int
    key: str
    paid_at: datetime
    method: str
    amount: Money
    customer: EInvoiceParty
    invoices: tuple[PaidInvoice, ...]
    reason: str = ""  # why the picture changed: approved, refunded, undone, …


@dataclass(frozen=True)
class EInvoiceDocument:
    """One tax document as the backend stored it, for lists, the portal and the API.

    ``kind``: ``invoice`` (SAT Ingreso), ``payment`` (SAT Pagos 2.0, type P) or ``credit``.
    ``status``: ``issued``, ``cancelled``, ``cancel_pending`` (the receiver must accept),
    ``failed`` (``error`` says why, in the provider's words) or ``pending`` (being issued).
    ``type_code`` is the country's own code (SAT: ``I``, ``P``, ``E``); ``payment_terms`` its
    method (SAT: ``PUE``/``PPD``). ``id`` is the backend's own row id, unique per tenant."""

    id: int
    backend: str
    kind: str
    type_code: str
    status: str
    fiscal_id: str = ""
    series: str = ""
    folio: str = ""
    invoice_id: int | None = None
    payment_id: int | None = None
    customer_id: int | None = None
    invoice_ids: tuple[int, ...] = ()
    total: Money | None = None
    payment_terms: str = ""
    issued_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str = ""
    replaces: str = ""
    replaced_by: str = ""
    error: str = ""
    files: tuple[str, ...] = ("xml", "pdf")


@dataclass(frozen=True)
class EInvoiceFile:
    filename: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class EInvoiceResult:
    """What issuing, cancelling or syncing did. ``ok=False`` with ``error`` is a refusal staff
    must act on (retrying will not help); a transient failure raises instead."""

    ok: bool
    uuid: str = ""
    xml: str = ""
    error: str = ""
    document: EInvoiceDocument | None = None
    changed: tuple[EInvoiceDocument, ...] = ()  # every document issued or cancelled by the call


# --- reconciliation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    """One movement of a bank statement, parsed and normalised, as matching rules see it.

    ``amount`` is in minor units of ``currency``: positive for money received (a credit to the
    tenant's account), negative for money out. ``key`` identifies the movement within the tenant
    across files (the bank's own id where the format has one, else a digest of its content and
    its occurrence), so the same movement imported twice is recognised. Texts are untrusted.
    """

    key: str
    booked_on: date
    amount: int
    currency: str
    reference: str = ""  # the reference field: SPEI referencia numérica, EndToEndId, :61: ref
    description: str = ""  # remittance text: MT940 :86:, CAMT RmtInf/Ustrd, OFX MEMO, CSV column
    payer_name: str = ""
    payer_account: str = ""  # the payer's CLABE or account number when the bank gives it
    line_no: int = 0  # where it stands in its file (1-based line, entry or row), for messages


@dataclass(frozen=True)
class OpenItem:
    """An invoice that can still receive money: what a rule may propose to pay."""

    invoice_id: int
    customer_id: int
    number: str
    balance: int  # minor units still open, after what earlier lines of the same run took
    currency: str
    due_date: date | None = None


@dataclass(frozen=True)
class MatchCandidate:
    """A rule's proposal: this line is ``customer_id``'s money, spread as ``allocations``.

    ``allocations`` are ``(invoice_id, amount)`` in minor units; they may sum to less than the
    line (the rest becomes the customer's credit) and be empty (money on account). ``confidence``
    is 0..1: the tenant's threshold decides what is applied without a person.
    """

    rule: str
    confidence: float
    customer_id: int
    allocations: tuple[tuple[int, int], ...] = ()
    reason: str = ""  # in words staff read in the review queue (Spanish first)
