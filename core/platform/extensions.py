"""Base classes for plugin authors: notification channels, contact rules, match rules and
e-invoicing backends.

Payment methods have their own, richer contract in :mod:`recaudo.core.payments.method`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from recaudo.core.platform.errors import PluginError
from recaudo.core.platform.values import (
    ContactRequest,
    DeliveryResult,
    EInvoiceDocument,
    EInvoiceFile,
    EInvoiceParty,
    EInvoicePaymentRequest,
    EInvoiceRequest,
    EInvoiceResult,
    MatchCandidate,
    OpenItem,
    OutgoingMessage,
    RuleDecision,
    SettingField,
    StatementLine,
)

if TYPE_CHECKING:
    from recaudo.core.platform.context import PluginContext


class NotificationChannel:
    """Delivers messages to customers (email, SMS, WhatsApp…).

    ``send`` must not raise for a recipient problem: it returns ``DeliveryResult(ok=False)`` so the
    caller can record it. It may raise for transient failures (network) so the job is retried.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    address_kind: ClassVar[str] = "email"  # which customer contact it uses: email or phone
    settings_schema: ClassVar[tuple[SettingField, ...]] = ()

    def ready(self) -> bool:
        """Can the channel deliver now? One missing its server (email without SMTP in
        production) answers ``False``; messages then wait in the database until it can."""
        return True

    async def send(self, ctx: PluginContext, message: OutgoingMessage) -> DeliveryResult:
        """Deliver ``message`` for ``ctx.tenant`` with the channel's ``ctx.settings``."""
        raise NotImplementedError

    def configuration_errors(self, settings: Mapping[str, Any]) -> list[str]:
        """What a tenant's ``settings`` lack for this channel to deliver (missing credentials),
        in words staff understand; empty when it can. A plugin is not switched on for a tenant
        while its channel reports any, as for payment methods. Must not do I/O."""
        return []


class ContactRule:
    """When a collection message may reach a customer (law is regional, hence plugins).

    Rules of every loaded plugin apply to the tenants of their ``countries`` (empty: every
    tenant), whether or not the tenant enabled the plugin: a business cannot switch the law off.
    ``check`` returns ``None`` when it has no objection, else a :class:`RuleDecision` naming the
    earliest moment it allows. The engine moves the moment forward until every rule agrees, so a
    rule only needs to answer for the moment it is given. Must be pure (no I/O) and fast.
    ``ctx.settings`` holds the tenant's settings for the plugin (e.g. a configurable window).
    """

    name: ClassVar[str]
    label: ClassVar[str]
    countries: ClassVar[tuple[str, ...]] = ()
    settings_schema: ClassVar[tuple[SettingField, ...]] = ()

    def check(self, ctx: PluginContext, request: ContactRequest) -> RuleDecision | None:
        raise NotImplementedError


class MatchBook(Protocol):
    """What a match rule may ask about a tenant's receivables while a statement is matched.

    Answers come from memory (loaded once per run), so rules stay pure and fast; balances already
    reflect what earlier lines of the same run took.
    """

    def invoices_numbered(self, text: str) -> list[OpenItem]:
        """Open invoices whose number is ``text`` (case, spaces and separators ignored)."""
        ...

    def invoices_of(self, customer_id: int) -> list[OpenItem]:
        """The customer's open invoices in the statement's currency, oldest due first."""
        ...

    def customer_for_reference(self, reference: str) -> int | None:
        """The customer whose bank reference (or referenced CLABE) this is, if exactly one."""
        ...

    def customer_name(self, customer_id: int) -> str:
        """The customer's name as the tenant recorded it ('' when unknown)."""
        ...

    # Added with the engine (issue #12): the lookups the built-in rules need, all from memory.

    fee_tolerance: int
    """Minor units a line may fall short of what it pays and still close it (the bank's fee)."""

    date_window_days: int
    """Days around a line's booking date within which a due date counts as "about then"."""

    def invoices_like(
        self, text: str, amount: int | None = None, limit: int = 100
    ) -> list[tuple[OpenItem, float]]:
        """Open invoices whose number is one typo away from ``text`` (a missing, extra, wrong or
        swapped character), with a similarity 0..1; exact numbers are not included. With
        ``amount``, only those whose balance it pays (up to ``fee_tolerance`` short)."""
        ...

    def invoices_with_balance(
        self, amount: int, around: date | None = None, days: int = 0, limit: int = 25
    ) -> list[OpenItem]:
        """Open invoices whose balance is ``amount`` (or up to ``fee_tolerance`` more), due
        within ``days`` of ``around`` when given, those of exactly ``amount`` first; at most
        ``limit`` + 1 (more than ``limit`` means "a common amount")."""
        ...

    def customers_named(self, name: str) -> list[tuple[int, float]]:
        """Customers whose name resembles ``name`` (accents, punctuation and company forms such
        as "SA de CV" or "SAS" ignored), with a similarity 0..1, best first; at most ten."""
        ...

    def customer_of_paid_invoice(self, text: str) -> int | None:
        """The customer of the invoice numbered ``text`` when it is already paid (before or by
        an earlier line of this run): a second payment of it, not a typo for another number."""
        ...

    def customer_for_account(self, account: str) -> int | None:
        """The customer who paid from this bank account (CLABE, IBAN, number) before, if one."""
        ...

    def allocate(
        self, customer_id: int, amount: int, invoice_ids: Sequence[int] = ()
    ) -> tuple[tuple[tuple[int, int], ...], str]:
        """How ``amount`` pays the customer's invoices (``invoice_ids`` in that order, else all of
        them oldest due first): ``(allocations, fit)``. ``fit`` is ``"exact"`` (a set of whole
        balances sums to the amount), ``"fee"`` (to at most ``fee_tolerance`` more), ``"partial"``
        (the amount runs out inside an invoice), ``"over"`` (everything paid, the rest is credit)
        or ``"none"`` (nothing open)."""
        ...


class MatchRule:
    """Proposes which customer and invoices a bank statement line pays.

    The engine runs the tenant's enabled rules in order and keeps each answer's rule name and
    confidence; a confident, unambiguous answer is applied through the ledger, anything else goes
    to staff's review queue with its candidates. ``candidates`` must be pure (no I/O) and fast:
    it runs for every line of every statement. ``ctx.settings`` holds the tenant's settings for
    the plugin.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    countries: ClassVar[tuple[str, ...]] = ()
    settings_schema: ClassVar[tuple[SettingField, ...]] = ()

    def candidates(
        self, ctx: PluginContext, line: StatementLine, book: MatchBook
    ) -> list[MatchCandidate]:
        raise NotImplementedError


class EInvoiceBackend:
    """Issues legal electronic documents for a country's tax authority (e.g. SAT CFDI 4.0).

    The host calls it from jobs on the ``einvoicing`` queue and from staff actions; it owns its
    documents (its own tables, through ``ctx.db``) and answers the host's reads from them.

    Every method is idempotent: a retried call with the same ``request.key`` returns what the
    first one did instead of issuing again. For what staff must fix (an invalid RFC, an expired
    certificate, missing settings) return ``EInvoiceResult(ok=False, error=...)`` with the
    provider's own message, or raise :class:`PluginError`; raise anything else for a transient
    failure (network, provider down): the job is retried.

    Only ``issue`` is required: a backend written before payment documents and listings (API
    1.0, like the plugin template's) keeps working through the defaults below — it documents
    no payments, cannot cancel from Recaudo and lists nothing (the host then keeps the stamped
    XML on the invoice itself).
    """

    name: ClassVar[str]
    label: ClassVar[str]
    countries: ClassVar[tuple[str, ...]] = ()
    settings_schema: ClassVar[tuple[SettingField, ...]] = ()

    async def issue(self, ctx: PluginContext, request: EInvoiceRequest) -> EInvoiceResult:
        """Issue the tax document of ``request.invoice_id`` (once per ``request.key``)."""
        raise NotImplementedError

    async def issue_payment(
        self, ctx: PluginContext, request: EInvoicePaymentRequest
    ) -> EInvoiceResult:
        """Make the payment's documents agree with ``request.invoices`` (see the request):
        issue, cancel or substitute as the country requires; ``changed`` lists what it did.
        Invoices without a document of theirs, or that need none (SAT: paid PUE), are
        skipped; a payment that needs no document returns ``ok=True`` with no ``document``."""
        return EInvoiceResult(ok=True)

    async def cancel(
        self, ctx: PluginContext, document_id: int, reason: str, replacement: str = ""
    ) -> EInvoiceResult:
        """Cancel one document with the country's reason code (SAT ``01``–``04``;
        ``01`` needs ``replacement``, the substituting document's fiscal id)."""
        return EInvoiceResult(ok=False, error=f"{self.label}: no cancela documentos desde Recaudo")

    async def refresh(self, ctx: PluginContext, document_id: int) -> EInvoiceDocument:
        """Ask the authority for the document's status now and store it."""
        document = await self.document(ctx, document_id)
        if document is None:
            raise PluginError(f"{self.label}: documento {document_id} no encontrado")
        return document

    async def documents(
        self,
        ctx: PluginContext,
        *,
        invoice_id: int | None = None,
        payment_id: int | None = None,
        customer_id: int | None = None,
        kind: str | None = None,
        status: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[EInvoiceDocument]:
        """The tenant's documents, newest first, filtered; ``before_id`` pages."""
        return []

    async def document(self, ctx: PluginContext, document_id: int) -> EInvoiceDocument | None:
        return None

    async def document_file(
        self, ctx: PluginContext, document_id: int, fmt: str
    ) -> EInvoiceFile | None:
        """The document as ``xml`` (exactly as stamped) or ``pdf`` (its printed form)."""
        return None

    def party_errors(self, ctx: PluginContext, party: EInvoiceParty) -> list[str]:
        """What is wrong with a customer's fiscal data for this backend, in words staff
        understand (empty: fine). Pure: runs when staff or the API save a customer."""
        return []

    def configuration_errors(self, settings: Mapping[str, Any]) -> list[str]:
        """What a tenant's settings lack to issue (no certificate, no PAC); must not do I/O."""
        return []
