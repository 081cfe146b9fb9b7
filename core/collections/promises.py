"""Promises to pay: what a customer (or staff, for them) said they will pay, by when.

A :class:`PaymentPromise` covers invoices (``PromiseInvoice``) and an amount. While it is
``pending`` and its date has not passed, the reminder sweep leaves its invoices alone
(:func:`promised_invoice_ids` states that condition). :func:`check_promises` runs hourly per
tenant and resolves each pending promise exactly once (a conditional update on ``status``):

- ``kept``: the promised amount was applied to the covered invoices between the promise and the
  end of the promised date (the tenant's calendar), or every covered invoice was closed by then;
- ``broken``: the date passed and it was not kept (a partial payment is still broken: the
  customer is told by reminders that resume, staff see what was paid).

Staff are told of each broken promise once (``staff_told``, set in the transaction that queues the
e-mail job), and the ``promise.*`` webhooks are queued in the same transaction as the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.common.audit import record
from recaudo.core.common.outbox import enqueue
from recaudo.core.db import transaction
from recaudo.core.tables import Allocation, Customer, Invoice, PaymentPromise, PromiseInvoice
from recaudo.core.webhooks import events as webhook_events
from recaudo.tenants.scoped import TenantScope, as_id

SOURCES = ("hardship", "staff", "api")
MAX_NOTE = 500
MAX_DAYS_AHEAD = 365
MAX_ROWS = 500
MAX_AMOUNT = 10**15


class PromiseError(ValueError):
    """A promise that cannot be recorded; the message (Spanish, translated) says why."""


def event_key(promise_id: int, what: str) -> str:
    # Not "promise:<id>:…": those keys named hardship requests before promises had a table.
    return f"payment_promise:{promise_id}:{what}"


async def _eligible_invoices(
    scope: TenantScope, customer_id: int, invoice_ids: list[int] | None
) -> list[Invoice]:
    query = scope.objects(Invoice).where(
        Invoice.customer == customer_id,
        Invoice.status.is_in(list(OPEN_STATUSES)),
        Invoice.plan_id.is_null(),
    )
    if invoice_ids is not None:
        query = query.where(Invoice.id.is_in(invoice_ids or [0]))
    return [row for row in await query.order_by(Invoice.due_date, Invoice.id) if row.balance > 0]


async def create_promise(
    scope: TenantScope,
    customer_id: int,
    invoice_ids: list[int],
    promised_date: date,
    amount: int,
    currency: str,
    *,
    source: str,
    source_id: int | None = None,
    actor: str,
    note: str = "",
) -> PaymentPromise:
    """Write the promise and the invoices it covers in one transaction (joins the caller's)."""
    if source not in SOURCES:
        raise ValueError(f"source: one of {SOURCES}")
    if not invoice_ids:
        raise PromiseError("Elige al menos una factura pendiente.")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise PromiseError("Escribe un monto mayor que cero.")
    async with transaction():
        promise = PaymentPromise(
            customer=customer_id,
            currency=currency,
            amount=amount,
            promised_date=promised_date,
            status="pending",
            source=source,
            source_id=source_id,
            note=note.strip()[:MAX_NOTE],
            created_by=actor[:100],
            created_at=datetime.now(UTC),
        )
        await scope.add(promise)
        await scope.add(
            *[PromiseInvoice(promise=promise.id, invoice=i) for i in sorted(set(invoice_ids))]
        )
        await record(
            scope,
            actor,
            "promise.created",
            f"promise:{promise.id}",
            customer=customer_id,
            invoices=sorted(set(invoice_ids)),
            amount=amount,
            currency=currency,
            promised_date=promised_date.isoformat(),
        )
        await webhook_events.emit(
            scope,
            "promise.created",
            "promise",
            int(promise.id),
            key=event_key(promise.id, "created"),
        )
    return promise


async def promise_from_hardship(
    scope: TenantScope, customer_id: int, promised_date: date, source_id: int, note: str
) -> PaymentPromise | None:
    """The customer's "No puedo pagar" promise: their open invoices not in a plan (in the
    currency of the oldest), for their balance. ``None`` when they owe nothing."""
    invoices = await _eligible_invoices(scope, customer_id, None)
    invoices = [row for row in invoices if not row.disputed]
    if not invoices:
        return None
    currency = str(invoices[0].currency)
    covered = [row for row in invoices if row.currency == currency]
    return await create_promise(
        scope,
        customer_id,
        [int(row.id) for row in covered],
        promised_date,
        sum(int(row.balance) for row in covered),
        currency,
        source="hardship",
        source_id=source_id,
        actor="customer",
        note=note,
    )


async def staff_promise(
    scope: TenantScope,
    customer_id: int,
    today: date,
    *,
    invoice_ids: list[int],
    promised_date: date,
    amount: int | None,
    note: str,
    actor: str,
) -> PaymentPromise:
    """A promise staff took (a call, a visit): invoices of this customer, open, one currency;
    the amount defaults to their balance and may not exceed it."""
    if not today <= promised_date <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise PromiseError("Elige una fecha desde hoy y dentro de un año.")
    invoices = await _eligible_invoices(scope, customer_id, invoice_ids)
    if not invoice_ids or len(invoices) != len(set(invoice_ids)):
        raise PromiseError("Elige facturas pendientes de este cliente que no estén en un plan.")
    currencies = {str(row.currency) for row in invoices}
    if len(currencies) != 1:
        raise PromiseError("Elige facturas de una sola moneda.")
    balance = sum(int(row.balance) for row in invoices)
    amount = balance if amount is None else amount
    if not 0 < amount <= balance:
        raise PromiseError("El monto debe ser mayor que cero y no mayor que el saldo elegido.")
    return await create_promise(
        scope,
        customer_id,
        [int(row.id) for row in invoices],
        promised_date,
        amount,
        currencies.pop(),
        source="staff",
        actor=actor,
        note=note,
    )


async def cancel_promise(scope: TenantScope, promise_id: object, actor: str) -> PaymentPromise:
    """Staff withdraw a pending promise (taken by mistake, renegotiated): reminders resume."""
    pk = as_id(promise_id)
    row = await scope.get(PaymentPromise, pk) if pk else None
    if row is None:
        raise LookupError("promise not found")
    async with transaction():
        changed = await (
            scope.update(
                PaymentPromise,
                {PaymentPromise.status: "cancelled", PaymentPromise.resolved_at: datetime.now(UTC)},
            )
            .where(PaymentPromise.id == row.id, PaymentPromise.status == "pending")
            .returning(PaymentPromise.id)
        )
        if not changed:
            raise PromiseError("Solo se puede cancelar una promesa pendiente.")
        await record(scope, actor, "promise.cancelled", f"promise:{row.id}")
    row.status = "cancelled"
    return row


# --- the sweep's condition ----------------------------------------------------------------------


async def promised_invoice_ids(scope: TenantScope, today: date) -> set[int]:
    """Invoices reminders must skip today: covered by a pending promise whose date has not
    passed. A broken, kept or cancelled promise no longer shields anything."""
    rows = await scope.select(PromiseInvoice, PromiseInvoice.invoice).where(
        (PromiseInvoice.promise.status == "pending")
        & (PromiseInvoice.promise.promised_date >= today)
    )
    return {int(r["invoice"]) for r in rows}


# --- kept or broken -----------------------------------------------------------------------------


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Progress:
    """Money applied to a promise's invoices since it was made, by and after its date."""

    paid_by_date: int
    paid_after: int
    all_closed: bool


async def progress(scope: TenantScope, promise: PaymentPromise, timezone: str) -> Progress:
    links = await scope.select(PromiseInvoice, PromiseInvoice.invoice).where(
        PromiseInvoice.promise == promise.id
    )
    ids = [int(r["invoice"]) for r in links]
    if not ids:
        return Progress(0, 0, False)
    end = datetime.combine(promise.promised_date + timedelta(days=1), time(0), _zone(timezone))
    since = _aware(promise.created_at)
    by_date = after = 0
    for a in await scope.select(
        Allocation, Allocation.amount, Allocation.reversed_amount, Allocation.created_at
    ).where(Allocation.invoice.is_in(ids)):
        created = _aware(a["created_at"])
        net = int(a["amount"]) - int(a["reversed_amount"])
        if created < since:
            continue
        if created < end:
            by_date += net
        else:
            after += net
    statuses = await scope.select(Invoice, Invoice.status).where(Invoice.id.is_in(ids))
    closed = bool(statuses) and all(r["status"] not in OPEN_STATUSES for r in statuses)
    return Progress(by_date, after, closed)


def outcome(promise: PaymentPromise, state: Progress, today: date) -> str:
    """``kept``, ``broken`` or ``pending`` for a pending promise on the tenant's ``today``."""
    if state.paid_by_date >= int(promise.amount) > 0:
        return "kept"
    if state.all_closed and (today <= promise.promised_date or state.paid_after <= 0):
        return "kept"
    if today > promise.promised_date:
        return "broken"
    return "pending"


async def check_promises(scope: TenantScope, timezone: str, now: datetime) -> dict[str, int]:
    """Resolve the tenant's pending promises as of ``now``; each changes state once."""
    today = _aware(now).astimezone(_zone(timezone)).date()
    counts = {"kept": 0, "broken": 0}
    pending = await (
        scope.objects(PaymentPromise)
        .where(PaymentPromise.status == "pending")
        .order_by(PaymentPromise.promised_date)
    )
    for promise in pending:
        state = await progress(scope, promise, timezone)
        result = outcome(promise, state, today)
        if result == "pending":
            continue
        async with transaction():
            values: dict[Any, Any] = {
                PaymentPromise.status: result,
                PaymentPromise.resolved_at: _aware(now),
            }
            if result == "broken":
                values[PaymentPromise.staff_told] = True
            changed = await (
                scope.update(PaymentPromise, values)
                .where(PaymentPromise.id == promise.id, PaymentPromise.status == "pending")
                .returning(PaymentPromise.id)
            )
            if not changed:  # another worker resolved it first
                continue
            await webhook_events.emit(
                scope,
                f"promise.{result}",
                "promise",
                int(promise.id),
                key=event_key(promise.id, result),
                extra={"status": result, "paid": state.paid_by_date},
            )
            if result == "broken" and not promise.staff_told:
                await enqueue(
                    scope,
                    "promise_broken_notice",
                    {"promise_id": int(promise.id)},
                    key=f"promise_broken_notice:{promise.id}",
                )
        counts[result] += 1
    return counts


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromiseView:
    id: int
    customer_id: int
    customer_name: str
    customer_number: str
    promised_date: date
    amount: int
    currency: str
    status: str
    source: str
    note: str
    invoice_numbers: tuple[str, ...]
    created_at: datetime
    resolved_at: datetime | None
    paid: int


async def _views(
    scope: TenantScope, promises: list[PaymentPromise], timezone: str
) -> list[PromiseView]:
    if not promises:
        return []
    ids = [int(p.id) for p in promises]
    links = await scope.select(
        PromiseInvoice,
        PromiseInvoice.promise,
        PromiseInvoice.invoice.number.as_alias("number"),
    ).where(PromiseInvoice.promise.is_in(ids))
    numbers: dict[int, list[str]] = {}
    for link in links:
        numbers.setdefault(int(link["promise"]), []).append(str(link["number"]))
    people = await scope.objects(Customer).where(
        Customer.id.is_in(sorted({int(p.customer) for p in promises}))
    )
    by_id = {int(c.id): c for c in people}
    views = []
    for p in promises:
        customer = by_id.get(int(p.customer))
        state = await progress(scope, p, timezone)
        views.append(
            PromiseView(
                id=int(p.id),
                customer_id=int(p.customer),
                customer_name=str(customer.name) if customer else "",
                customer_number=str(customer.number) if customer else "",
                promised_date=p.promised_date,
                amount=int(p.amount),
                currency=str(p.currency),
                status=str(p.status),
                source=str(p.source),
                note=str(p.note or ""),
                invoice_numbers=tuple(sorted(numbers.get(int(p.id), []))),
                created_at=p.created_at,
                resolved_at=p.resolved_at,
                paid=state.paid_by_date + state.paid_after,
            )
        )
    return views


async def book(scope: TenantScope, timezone: str, statuses: tuple[str, ...]) -> list[PromiseView]:
    """The tenant's promises in ``statuses``, soonest date first (the staff book)."""
    rows = await (
        scope.objects(PaymentPromise)
        .where(PaymentPromise.status.is_in(list(statuses)))
        .order_by(PaymentPromise.promised_date)
        .limit(MAX_ROWS)
    )
    return await _views(scope, rows, timezone)


async def customer_promises(
    scope: TenantScope, customer_id: int, timezone: str, limit: int = 20
) -> list[PromiseView]:
    """A customer's promises, newest first (portal and staff customer page)."""
    rows = await (
        scope.objects(PaymentPromise)
        .where(PaymentPromise.customer == customer_id)
        .order_by(PaymentPromise.id, ascending=False)
        .limit(limit)
    )
    return await _views(scope, rows, timezone)
