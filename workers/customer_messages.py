"""Sending the messages a customer expects (``customer_message`` jobs) and the monthly statement.

Each job renders one e-mail (text and HTML) in the customer's language and the tenant's form of
address (tú/usted, ``Tenant.branding["address_form"]``), with a one-time link that signs the
customer in on the exact page: the invoice, the statement, the chat. What it says is read at send
time, so a message about something undone meanwhile (an invoice voided, a payment refunded) is not
sent. Delivery is at least once, like every job: a crash after the channel accepted the message
and before the job is marked done sends it again; the outbox key makes a repeated *event* harmless.

Channels: these are service messages, so they go by e-mail whenever the customer has an address,
whatever reminder consent they gave; SMS or WhatsApp only carry them when the customer authorised
that channel in ``/preferencias``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment

from recaudo.core import db
from recaudo.core.access.links import issue_link, pay_target, safe_target
from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.config import active
from recaudo.core.messaging.branding import branding_for
from recaudo.core.messaging.customer_messages import (
    ACTOR,
    ISSUED_MAX_AGE_DAYS,
    enqueue_message,
    message_key,
    statement_enabled,
)
from recaudo.core.messaging.i18n import formatter_for, pick_language, translations
from recaudo.core.messaging.notify import send_to_customer, tenant_channels
from recaudo.core.messaging.preferences import consents_of
from recaudo.core.messaging.rendering import make_environment, plugin_template_dirs
from recaudo.core.payments.registry import all_methods
from recaudo.core.platform.jobs import Job, Schedule
from recaudo.core.platform.values import OutgoingMessage
from recaudo.core.tables import (
    Allocation,
    ChatMessage,
    CreditEntry,
    Customer,
    Invoice,
    Payment,
    PaymentProof,
)
from recaudo.core.tenant_settings.branding import brand_values
from recaudo.tenants.models import PluginSetting, Tenant
from recaudo.tenants.plugin_config import enabled_plugins
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info
from recaudo.tenants.urls import portal_base_url

log = logging.getLogger(__name__)

#: The monthly statement goes out in the first days of the tenant's month (any hourly run in
#: them; the key per customer and month sends it once).
STATEMENT_DAYS = (1, 2, 3)
MANUAL_METHOD_LABELS = {"cash": "Efectivo", "cheque": "Cheque", "transfer": "Transferencia"}
AUTOPAY_PAGE = "/pago-automatico"
SERVICE_CHANNELS = ("email",)  # always allowed for service messages; others need consent

_environment: Environment | None = None


def _templates() -> Environment:
    global _environment
    if _environment is None:
        _environment = make_environment(plugin_template_dirs())
    return _environment


@dataclass(frozen=True)
class Content:
    """What one message says: its facts for the template and where its link leads."""

    facts: dict[str, Any]
    target: str


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _channel_ready_since(scope: TenantScope) -> datetime | None:
    """When the tenant's channels were last switched on or changed (the earliest of them)."""
    names = [plugin for plugin, _channel in await tenant_channels(scope)]
    if not names:
        return None
    rows = await scope.select(PluginSetting, PluginSetting.updated_at).where(
        PluginSetting.plugin.is_in(names),
        PluginSetting.enabled == True,  # noqa: E712
    )
    times = [t for t in (_aware(r["updated_at"]) for r in rows) if t is not None]
    return min(times) if times else None


async def _invoice_issued(
    scope: TenantScope, payload: dict[str, Any], today: date
) -> Content | None:
    invoice = await scope.get(Invoice, int(payload["invoice_id"]))
    if invoice is None or invoice.status not in OPEN_STATUSES or invoice.balance <= 0:
        return None
    if invoice.issue_date and (today - invoice.issue_date).days > ISSUED_MAX_AGE_DAYS:
        return None
    # Only invoices created once the tenant could tell customers: not the demo's seed, not the
    # invoices a tenant loaded before switching e-mail on.
    since = await _channel_ready_since(scope)
    created = _aware(invoice.created_at)
    if since is None or created is None or created < since:
        return None
    return Content(
        {
            "number": str(invoice.number),
            "amount": int(invoice.balance),
            "currency": str(invoice.currency),
            "due": invoice.due_date,
            "description": str(invoice.description or ""),
        },
        f"/facturas/{int(invoice.id)}",
    )


async def _payment_receipt(scope: TenantScope, payload: dict[str, Any]) -> Content | None:
    payment = await scope.get(Payment, int(payload["payment_id"]))
    if payment is None or payment.status != "approved":
        return None
    if await scope.exists(PaymentProof).where(PaymentProof.payment == payment.id):
        return None  # a confirmed proof of payment: ``tell_customer`` already says so
    rows = await scope.select(Allocation, Allocation.invoice, Allocation.amount).where(
        Allocation.payment == payment.id
    )
    applied: dict[int, int] = {}
    for row in rows:
        applied[int(row["invoice"])] = applied.get(int(row["invoice"]), 0) + int(row["amount"])
    if not applied:
        return None  # all of it became credit: ``tell_customer`` explains that case
    numbers = {
        int(r["id"]): str(r["number"])
        for r in await scope.select(Invoice, Invoice.id, Invoice.number).where(
            Invoice.id.is_in(sorted(applied))
        )
    }
    credit_rows = await scope.select(CreditEntry, CreditEntry.amount).where(
        CreditEntry.payment == payment.id, CreditEntry.amount > 0
    )
    return Content(
        {
            "amount": int(payment.amount),
            "currency": str(payment.currency),
            "method": str(payment.method),
            "reference": str(payment.provider_payment_id or f"#{int(payment.id)}"),
            "paid_at": _aware(payment.updated_at) or _aware(payment.created_at),
            "invoices": [(numbers.get(i, ""), amount) for i, amount in sorted(applied.items())],
            "credit": sum(int(r["amount"]) for r in credit_rows),
        },
        "/estado-de-cuenta",
    )


async def _upcoming_charge(scope: TenantScope, payload: dict[str, Any]) -> Content | None:
    ids = [int(i) for i in payload.get("invoice_ids") or []]
    numbers = (
        [
            str(r["number"])
            for r in await scope.select(Invoice, Invoice.number)
            .where(Invoice.id.is_in(ids))
            .order_by(Invoice.id)
        ]
        if ids
        else []
    )
    charge_date = date.fromisoformat(str(payload["charge_date"]))
    # The autopay page: where the customer changes or cancels the charge the message announces.
    target = safe_target(str(payload.get("target") or "")) or AUTOPAY_PAGE
    return Content(
        {
            "amount": int(payload["amount"]),
            "currency": str(payload["currency"]),
            "charge_date": charge_date,
            "instrument": str(payload.get("instrument_label") or ""),
            "numbers": numbers,
        },
        target,
    )


async def _autopay_failed(scope: TenantScope, payload: dict[str, Any]) -> Content | None:
    """Autopay gave up on a charge: the customer pays by hand, on the pay page with exactly
    those invoices selected (the ones still open)."""
    ids = [int(i) for i in payload.get("invoice_ids") or []]
    rows = (
        await scope.select(Invoice, Invoice.id, Invoice.number)
        .where(Invoice.id.is_in(ids), Invoice.status.is_in(list(OPEN_STATUSES)))
        .order_by(Invoice.id)
        if ids
        else []
    )
    if ids and not rows:
        return None  # paid meanwhile
    return Content(
        {
            "amount": int(payload["amount"]),
            "currency": str(payload["currency"]),
            "instrument": str(payload.get("instrument_label") or ""),
            "numbers": [str(r["number"]) for r in rows],
        },
        pay_target([int(r["id"]) for r in rows]) if rows else "/pagar?todo=1",
    )


async def _chat_answered(scope: TenantScope, payload: dict[str, Any]) -> Content | None:
    message = await scope.get(ChatMessage, int(payload["message_id"]))
    if message is None or message.sender != "staff":
        return None
    later = await scope.exists(ChatMessage).where(
        ChatMessage.customer == message.customer, ChatMessage.id > message.id
    )
    if later:
        # A newer answer sends its own message, and a reply from the customer means they read it.
        return None
    return Content({"body": str(message.body)}, "/ayuda/chat")


async def _statement(scope: TenantScope, customer_id: int) -> Content | None:
    rows = await (
        scope.select(
            Invoice,
            Invoice.number,
            Invoice.due_date,
            Invoice.currency,
            Invoice.total,
            Invoice.amount_applied,
        )
        .where(Invoice.customer == customer_id, Invoice.status.is_in(list(OPEN_STATUSES)))
        .order_by(Invoice.due_date)
    )
    lines = [
        (
            str(r["number"]),
            r["due_date"],
            str(r["currency"]),
            int(r["total"]) - int(r["amount_applied"]),
        )
        for r in rows
        if int(r["total"]) > int(r["amount_applied"])
    ]
    if not lines:
        return None
    totals: dict[str, int] = {}
    for _number, _due, currency, balance in lines:
        totals[currency] = totals.get(currency, 0) + balance
    return Content({"lines": lines, "totals": sorted(totals.items())}, "/estado-de-cuenta")


def _subject(kind: str, facts: dict[str, Any], usted: bool, gettext: Any) -> str:
    if kind == "invoice_issued":
        text = "Su factura %(number)s" if usted else "Tu factura %(number)s"
        return str(gettext(text) % {"number": facts["number"]})
    if kind == "payment_receipt":
        return str(gettext("Recibo de pago"))
    if kind == "upcoming_charge":
        return str(gettext("Próximo cargo automático"))
    if kind == "autopay_failed":
        return str(gettext("No pudimos hacer el cargo automático"))
    if kind == "chat_answered":
        return str(gettext("Le respondimos en el chat" if usted else "Te respondimos en el chat"))
    return str(gettext("Su estado de cuenta" if usted else "Tu estado de cuenta"))


async def send_customer_message(scope: TenantScope, payload: dict[str, Any]) -> None:
    """Render and send one customer message (the ``customer_message`` job)."""
    kind = str(payload.get("kind") or "")
    customer = await scope.get(Customer, int(payload["customer_id"]))
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    if customer is None or tenant is None:
        return
    today = datetime.now(ZoneInfo(str(tenant.timezone))).date()
    content: Content | None
    if kind == "invoice_issued":
        content = await _invoice_issued(scope, payload, today)
    elif kind == "payment_receipt":
        content = await _payment_receipt(scope, payload)
    elif kind == "upcoming_charge":
        content = await _upcoming_charge(scope, payload)
    elif kind == "autopay_failed":
        content = await _autopay_failed(scope, payload)
    elif kind == "chat_answered":
        content = await _chat_answered(scope, payload)
    elif kind == "statement":
        content = await _statement(scope, int(customer.id))
    else:
        log.warning("unknown customer message kind %r: nothing sent", kind)
        return
    if content is None:
        return
    await _deliver(scope, tenant, customer, kind, content)


async def _deliver(
    scope: TenantScope, tenant: Tenant, customer: Customer, kind: str, content: Content
) -> None:
    settings = active()
    info = tenant_info(tenant)
    branding = await branding_for(info, await enabled_plugins(scope))
    preferred = str(customer.locale or "").split("_")[0] or None
    language = pick_language(None, preferred, str(tenant.locale))
    trans = translations(language)
    usted = brand_values(tenant).address_form == "usted"

    def tu(tu_text: str, usted_text: str) -> str:
        """The tenant's form of address: the same English, two Spanish sentences."""
        return str(trans.gettext(usted_text if usted else tu_text))

    methods = all_methods()

    def method_text(method: str) -> str:
        owner = methods.get(method)
        if owner is not None:
            return str(owner[1].text(owner[1].label, language))
        if method in MANUAL_METHOD_LABELS:
            return str(trans.gettext(MANUAL_METHOD_LABELS[method]))
        return method

    token = await issue_link(scope, int(customer.id), content.target)
    link = f"{portal_base_url(str(tenant.slug), settings).rstrip('/')}/acceso/{token}"
    context = {
        **content.facts,
        "kind": kind,
        "_": trans.gettext,
        "ngettext": trans.ngettext,
        "tu": tu,
        "branding": branding,
        "customer": customer,
        "link": link,
        "method_text": method_text,
        "fmt": formatter_for(language, str(tenant.locale), str(tenant.timezone)),
    }
    env = _templates()
    allowed = [*SERVICE_CHANNELS, *(c for c in consents_of(customer).channels if c != "email")]
    await send_to_customer(
        scope,
        info,
        customer,
        OutgoingMessage(
            to="",
            subject=f"{_subject(kind, content.facts, usted, trans.gettext)} · "
            f"{branding.display_name}"[:300],
            text=env.get_template("email/customer_message.txt").render(context),
            html=env.get_template("email/customer_message.html").render(context),
            kind=kind,
            language=language,
            link=link,
        ),
        secret_key=settings.secret_key,
        secrets=[token],
        keep_secrets_in_log=settings.dev_outbox,
        prefer=SERVICE_CHANNELS,
        only=allowed,
    )


# --- monthly statement --------------------------------------------------------------------------


async def queue_statements(now: datetime | None = None) -> int:
    """Queue this month's statement for every customer with a balance, in tenants that turned
    it on, during the first days of each tenant's month; returns how many were queued."""
    now = now or datetime.now(UTC)
    tenants = await Tenant.objects().where(Tenant.status == "active")
    queued = 0
    for tenant in tenants:
        if not statement_enabled(tenant):
            continue
        local = now.astimezone(ZoneInfo(str(tenant.timezone)))
        if local.day not in STATEMENT_DAYS:
            continue
        scope = TenantScope(int(tenant.id))
        period = f"{local.year:04d}-{local.month:02d}"
        rows = await scope.select(
            Invoice, Invoice.customer, Invoice.total, Invoice.amount_applied
        ).where(Invoice.status.is_in(list(OPEN_STATUSES)))
        owing = sorted({int(r["customer"]) for r in rows if r["total"] > r["amount_applied"]})
        async with db.transaction():
            for customer_id in owing:
                queued += await enqueue_message(
                    scope,
                    "statement",
                    customer_id,
                    message_key("statement", customer_id, period),
                    period=period,
                )
    return queued


async def run_statements(_ctx: None, payload: dict[str, Any]) -> None:
    now = datetime.fromisoformat(str(payload["now"])) if "now" in payload else None
    await queue_statements(now)


JOBS = [
    Job(ACTOR, send_customer_message, queue="messages"),
    Job("customer_statements", run_statements, time_limit=timedelta(minutes=10)),
]
SCHEDULES = [
    Schedule(
        "customer_statements", "customer_statements", every=timedelta(hours=1), per_tenant=False
    )
]
