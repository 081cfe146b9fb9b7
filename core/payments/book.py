"""The payments book staff read: a filtered, paginated list and one payment's whole story.

Reads only. The list is one query for the page (customer name joined) and one count, whatever
the number of rows; the detail is a handful of small queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from recaudo.core.billing.account import payment_allocations
from recaudo.core.common.atomic import is_postgres
from recaudo.core.common.jsonfield import loads
from recaudo.core.payments.method import PAYMENT_STATUSES
from recaudo.core.payments.refunds import REFUNDABLE
from recaudo.core.payments.registry import all_methods
from recaudo.core.tables import (
    AuditEvent,
    CreditEntry,
    Customer,
    Payment,
    PaymentTransition,
)
from recaudo.tenants.scoped import TenantScope, as_id

PAGE_SIZE = 50
MAX_PAGE = 10_000


class FilterError(ValueError):
    """A filter value we cannot use; ``field`` names the query parameter."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PaymentFilter:
    status: str = ""
    method: str = ""
    customer: str = ""  # the customer's number, or part of their name
    since: date | None = None
    until: date | None = None

    def check(self) -> PaymentFilter:
        if self.status and self.status not in PAYMENT_STATUSES:
            raise FilterError("Estado desconocido.", "estado")
        if len(self.method) > 50:
            raise FilterError("El medio de pago es demasiado largo.", "medio")
        if len(self.customer) > 200:
            raise FilterError("La búsqueda de cliente es demasiado larga.", "cliente")
        if self.since and self.until and self.until < self.since:
            raise FilterError("La fecha final es anterior a la inicial.", "hasta")
        return self


@dataclass(frozen=True)
class PaymentPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(f: PaymentFilter, tz: str) -> list[Any]:
    where: list[Any] = []
    if f.status:
        where.append(Payment.status == f.status)
    if f.method:
        where.append(Payment.method == f.method)
    if f.customer:
        text = f.customer.strip()
        name = Payment.customer.name
        # SQLite's LIKE already ignores ASCII case (and warns about ILIKE).
        matches = name.ilike(_like(text)) if is_postgres() else name.like(_like(text))
        where.append((Payment.customer.number == text) | matches)
    zone = ZoneInfo(tz)
    if f.since:
        start = datetime.combine(f.since, time.min, zone).astimezone(UTC)
        where.append(Payment.created_at >= start)
    if f.until:
        end = datetime.combine(f.until + timedelta(days=1), time.min, zone).astimezone(UTC)
        where.append(Payment.created_at < end)
    return where


async def payment_page(
    scope: TenantScope, f: PaymentFilter, page: int = 1, tz: str = "UTC"
) -> PaymentPage:
    """One page of the tenant's payments, newest first, with the customer's name."""
    f.check()
    where = _where(f, tz)
    count = scope.count(Payment)
    query = scope.select(
        Payment,
        Payment.id,
        Payment.created_at,
        Payment.status,
        Payment.method,
        Payment.currency,
        Payment.amount,
        Payment.amount_refunded,
        Payment.provider_payment_id,
        Payment.customer,
        Payment.customer.name.as_alias("customer_name"),
        Payment.customer.number.as_alias("customer_number"),
    )
    if where:
        count = count.where(*where)
        query = query.where(*where)
    total = int(await count)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(page, 1), pages, MAX_PAGE)
    rows = (
        await query.order_by(Payment.id, ascending=False)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return PaymentPage(rows, total, page, pages)


async def methods_in_use(scope: TenantScope) -> list[str]:
    """The methods the tenant's payments use (for the filter's choices)."""
    rows = await scope.select(Payment, Payment.method).distinct().order_by(Payment.method)
    return [str(r["method"]) for r in rows]


@dataclass
class PaymentDetail:
    payment: Payment
    customer: Customer
    allocations: list[dict[str, Any]]
    transitions: list[PaymentTransition]
    credit: list[CreditEntry]
    audit: list[dict[str, Any]]
    manual: dict[str, Any] = field(default_factory=dict)
    refundable: int = 0  # minor units that can still be refunded through the provider
    refund_note: str = ""  # why it cannot be refunded here, when it cannot


async def payment_detail(scope: TenantScope, payment_id: int) -> PaymentDetail | None:
    """A payment with what it paid, how its status moved, its credit and audit; ``None`` when it
    is not this tenant's."""
    pk = as_id(payment_id)
    payment = await scope.get(Payment, pk) if pk else None
    if payment is None:
        return None
    customer = await scope.get(Customer, int(payment.customer))
    assert customer is not None  # a foreign key
    transitions = (
        await scope.objects(PaymentTransition)
        .where(PaymentTransition.payment == payment.id)
        .order_by(PaymentTransition.id)
    )
    credit = (
        await scope.objects(CreditEntry)
        .where(CreditEntry.payment == payment.id)
        .order_by(CreditEntry.id)
    )
    audit = (
        await scope.select(
            AuditEvent, AuditEvent.actor, AuditEvent.action, AuditEvent.data, AuditEvent.created_at
        )
        .where(AuditEvent.subject == f"payment:{payment.id}")
        .order_by(AuditEvent.id)
    )
    for row in audit:
        row["data"] = loads(row["data"], {})
    checkout = loads(payment.checkout, {})
    manual = checkout.get("manual") if isinstance(checkout, dict) else None
    refundable, note = refund_room(payment)
    return PaymentDetail(
        payment=payment,
        customer=customer,
        allocations=await payment_allocations(scope, int(payment.id)),
        transitions=transitions,
        credit=credit,
        audit=audit,
        manual=manual if isinstance(manual, dict) else {},
        refundable=refundable,
        refund_note=note,
    )


def refund_room(payment: Payment) -> tuple[int, str]:
    """``(amount left to refund through the provider, "")`` or ``(0, why not)``."""
    if payment.status not in REFUNDABLE:
        return 0, "Solo se pueden reembolsar pagos aprobados."
    if not payment.provider_payment_id:
        return 0, "Este pago no pasó por un proveedor: devuelve el dinero por fuera de Recaudo."
    entry = all_methods().get(str(payment.method))
    if entry is None or not entry[1].supports_refunds:
        return 0, "Este medio de pago no permite reembolsos desde Recaudo."
    return int(payment.amount) - int(payment.amount_refunded), ""
