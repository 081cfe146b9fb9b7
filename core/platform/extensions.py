"""Base classes for plugin authors: notification channels, contact rules and e-invoicing backends.

Payment methods have their own, richer contract in :mod:`recaudo.core.payments.method`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from recaudo.core.platform.values import (
    ContactRequest,
    DeliveryResult,
    EInvoiceRequest,
    EInvoiceResult,
    OutgoingMessage,
    RuleDecision,
    SettingField,
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


class EInvoiceBackend:
    """Issues a legal electronic invoice (e.g. a SAT CFDI) for an invoice.

    ``issue`` must be idempotent for the same invoice: a retried job must not stamp twice.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    countries: ClassVar[tuple[str, ...]] = ()
    settings_schema: ClassVar[tuple[SettingField, ...]] = ()

    async def issue(self, ctx: PluginContext, request: EInvoiceRequest) -> EInvoiceResult:
        """Stamp ``request`` for ``ctx.tenant``; a second call for the same invoice returns the
        first result instead of stamping again. Raise :class:`PluginError` for what staff must
        fix (an expired certificate), anything else for a transient failure (retried)."""
        raise NotImplementedError
