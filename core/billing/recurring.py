"""Recurring invoices ("mensualidades"): an invoice issued every month or week, exactly once per
period, by a schedule.

A :class:`~recaudo.core.tables.RecurringInvoice` says what to bill (one line: description and
amount, plus tax), to whom, how often (``monthly`` on a day of the month, clamped to the month's
last day, so the 31st is Feb 28/29; or ``weekly`` from its start date), with which payment terms
and until when. :func:`issue_due` (run hourly per tenant by ``workers/recurring.py``) issues every
period whose date has come, catching up periods missed while workers were down, each through
:func:`recaudo.core.billing.invoices.create_invoice` (whose ``invoice_event`` job then sends it).

Exactly once per period: each period first inserts a ``recurring_issue`` row whose unique key is
``<recurring id>:<period date>`` (``ON CONFLICT DO NOTHING``) in the same transaction as the
invoice, with the recurring row locked; two schedulers racing issue one invoice, and a crash
rolls both back. Invoice numbers are ``<prefix>-<YYYYMM>`` (monthly) or ``<prefix>-<YYYYMMDD>``
(weekly), unique per tenant like every invoice number.
"""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from recaudo.core.billing.invoices import InvoiceError, NewInvoice, NewLine, create_invoice
from recaudo.core.common.atomic import atomic, locked
from recaudo.core.common.audit import record
from recaudo.core.common.money import MoneyError, check_currency
from recaudo.core.tables import Customer, Invoice, RecurringInvoice, RecurringIssue
from recaudo.tenants.scoped import TenantScope, as_id

log = logging.getLogger(__name__)

INTERVALS = ("monthly", "weekly")
STATUSES = ("active", "paused", "ended")
MAX_AMOUNT = 10**15
MAX_TERMS_DAYS = 365
MAX_CATCH_UP = 120  # periods issued for one recurring invoice per run (the next run goes on)
PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,29}$")


class RecurringError(ValueError):
    """Invalid data for a recurring invoice; ``field`` names the field (the message is Spanish,
    shown to staff)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewRecurring:
    customer_id: int
    description: str
    currency: str
    amount: int
    start_date: date
    interval: str = "monthly"
    day_of_month: int | None = None  # monthly; default: the start date's day
    tax: int = 0
    payment_terms_days: int = 0
    end_date: date | None = None
    number_prefix: str = ""


def add_months(day: date, months: int, day_of_month: int) -> date:
    """``day``'s month plus ``months``, on ``day_of_month`` clamped to that month's last day."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))


def first_period(start: date, interval: str, day_of_month: int) -> date:
    """The first issue date on or after ``start``."""
    if interval == "weekly":
        return start
    candidate = add_months(start, 0, day_of_month)
    return candidate if candidate >= start else add_months(start, 1, day_of_month)


def next_period(current: date, interval: str, day_of_month: int) -> date:
    if interval == "weekly":
        return current + timedelta(days=7)
    return add_months(current, 1, day_of_month)


def invoice_number(prefix: str, interval: str, period: date) -> str:
    return f"{prefix}-{period:%Y%m}" if interval == "monthly" else f"{prefix}-{period:%Y%m%d}"


def _int(value: object, field: str, low: int, high: int, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RecurringError(message, field)
    return value


def _validate(data: NewRecurring) -> tuple[str, str, int]:
    description = " ".join(str(data.description or "").split())
    if not description or len(description) > 200:
        raise RecurringError("Escribe la descripción (máximo 200 caracteres).", "descripcion")
    try:
        currency = check_currency(data.currency)
    except MoneyError:
        raise RecurringError("Moneda no válida.", "moneda") from None
    _int(data.amount, "monto", 1, MAX_AMOUNT, "El monto debe ser mayor que cero.")
    _int(data.tax, "impuesto", 0, MAX_AMOUNT, "El impuesto no puede ser negativo.")
    if data.interval not in INTERVALS:
        raise RecurringError("Elige cada mes o cada semana.", "periodo")
    if not isinstance(data.start_date, date):
        raise RecurringError("Escribe la fecha de inicio.", "inicio")
    day = data.start_date.day if data.day_of_month is None else data.day_of_month
    _int(day, "dia", 1, 31, "El día del mes va del 1 al 31.")
    _int(
        data.payment_terms_days,
        "plazo",
        0,
        MAX_TERMS_DAYS,
        "El plazo de pago va de 0 a 365 días.",
    )
    if data.end_date is not None and data.end_date < data.start_date:
        raise RecurringError("La fecha final es anterior al inicio.", "fin")
    prefix = data.number_prefix.strip()
    if prefix and not PREFIX.match(prefix):
        raise RecurringError(
            "El prefijo lleva letras, números, guiones o puntos (máximo 30).", "prefijo"
        )
    return description, currency, day


async def create_recurring(scope: TenantScope, data: NewRecurring, actor: str) -> RecurringInvoice:
    """Create an active recurring invoice; its first period is the first issue date on or after
    ``start_date``. Audited as ``recurring.created``."""
    description, currency, day = _validate(data)
    prefix = data.number_prefix.strip()

    async def work(_tx: Any) -> RecurringInvoice:
        if await scope.get(Customer, data.customer_id) is None:
            raise RecurringError("Cliente no encontrado.", "cliente")
        if prefix and await scope.exists(RecurringInvoice).where(
            RecurringInvoice.number_prefix == prefix
        ):
            raise RecurringError("Otra mensualidad ya usa ese prefijo.", "prefijo")
        now = datetime.now(UTC)
        row = RecurringInvoice(
            customer=data.customer_id,
            description=description,
            currency=currency,
            amount=data.amount,
            tax=data.tax,
            interval=data.interval,
            day_of_month=day,
            next_issue_date=first_period(data.start_date, data.interval, day),
            payment_terms_days=data.payment_terms_days,
            number_prefix=prefix,
            status="active",
            end_date=data.end_date,
            created_at=now,
            updated_at=now,
        )
        await scope.add(row)
        if not prefix:
            row.number_prefix = f"M{row.id}"
            await scope.update(
                RecurringInvoice, {RecurringInvoice.number_prefix: row.number_prefix}
            ).where(RecurringInvoice.id == row.id)
        await record(
            scope,
            actor,
            "recurring.created",
            f"recurring_invoice:{row.id}",
            customer_id=int(data.customer_id),
            amount=int(data.amount),
            currency=currency,
            interval=data.interval,
        )
        return row

    return await atomic(work)


async def get_recurring(scope: TenantScope, recurring_id: int) -> RecurringInvoice | None:
    return await scope.get(RecurringInvoice, recurring_id)


async def set_status(
    scope: TenantScope, recurring_id: int, action: str, actor: str, today: date
) -> RecurringInvoice:
    """``pause``, ``resume`` or ``end`` a recurring invoice. Resuming skips the periods that
    passed while it was paused (they are not billed late); an ended one cannot come back."""
    wanted = {"pause": "paused", "resume": "active", "end": "ended"}.get(action)
    if wanted is None:
        raise RecurringError("Acción desconocida.", "accion")
    pk = as_id(recurring_id)
    if pk is None:
        raise LookupError("recurring invoice not found")

    async def work(_tx: Any) -> RecurringInvoice:
        row = await locked(scope.objects(RecurringInvoice).where(RecurringInvoice.id == pk)).first()
        if row is None:
            raise LookupError("recurring invoice not found")
        if row.status == wanted:
            return row
        if row.status == "ended":
            raise RecurringError("Esta mensualidad ya terminó.", "accion")
        if action == "pause" and row.status != "active":
            raise RecurringError("Solo se pausa una mensualidad activa.", "accion")
        values: dict[Any, Any] = {
            RecurringInvoice.status: wanted,
            RecurringInvoice.updated_at: datetime.now(UTC),
        }
        if action == "resume":
            nxt = row.next_issue_date
            while nxt < today:
                nxt = next_period(nxt, str(row.interval), int(row.day_of_month))
            values[RecurringInvoice.next_issue_date] = nxt
            row.next_issue_date = nxt
        await scope.update(RecurringInvoice, values).where(RecurringInvoice.id == row.id)
        row.status = wanted
        await record(scope, actor, f"recurring.{action}", f"recurring_invoice:{row.id}")
        return row

    return await atomic(work)


async def issue_due(scope: TenantScope, today: date, now: datetime | None = None) -> list[int]:
    """Issue every due period of the tenant's active recurring invoices; returns invoice ids."""
    rows = await scope.select(RecurringInvoice, RecurringInvoice.id).where(
        RecurringInvoice.status == "active", RecurringInvoice.next_issue_date <= today
    )
    issued: list[int] = []
    for row in rows:
        issued += await issue_recurring(scope, int(row["id"]), today, now)
    return issued


async def issue_recurring(
    scope: TenantScope, recurring_id: int, today: date, now: datetime | None = None
) -> list[int]:
    """Issue one recurring invoice's due periods, oldest first, one transaction each."""
    issued: list[int] = []
    for _ in range(MAX_CATCH_UP):
        try:
            outcome = await atomic(lambda _tx: _issue_next(scope, recurring_id, today, now))
        except InvoiceError as exc:
            log.warning("recurring invoice %s: %s", recurring_id, exc)
            await scope.update(
                RecurringInvoice, {RecurringInvoice.last_error: str(exc)[:500]}
            ).where(RecurringInvoice.id == recurring_id)
            break
        if outcome is None:
            break
        if outcome:
            issued.append(outcome)
    return issued


async def _issue_next(
    scope: TenantScope, recurring_id: int, today: date, now: datetime | None
) -> int | None:
    """Issue the next due period: its invoice id, ``0`` if another process issued it, ``None``
    when nothing is due."""
    row = await locked(
        scope.objects(RecurringInvoice).where(RecurringInvoice.id == recurring_id)
    ).first()
    if row is None or row.status != "active":
        return None
    period: date = row.next_issue_date
    stamp = now or datetime.now(UTC)
    if row.end_date is not None and period > row.end_date:
        await scope.update(
            RecurringInvoice,
            {RecurringInvoice.status: "ended", RecurringInvoice.updated_at: stamp},
        ).where(RecurringInvoice.id == row.id)
        return None
    if period > today:
        return None
    interval, day = str(row.interval), int(row.day_of_month)
    issue_id = await scope.add_unless_exists(
        RecurringIssue(
            recurring=row.id, key=f"{row.id}:{period.isoformat()}", period=period, created_at=stamp
        )
    )
    invoice_id = 0
    if issue_id is not None:
        label = f"{period:%m/%Y}" if interval == "monthly" else f"{period:%d/%m/%Y}"
        invoice = await create_invoice(
            scope,
            NewInvoice(
                customer_id=int(row.customer),
                number=invoice_number(str(row.number_prefix), interval, period),
                issue_date=period,
                due_date=period + timedelta(days=int(row.payment_terms_days)),
                currency=str(row.currency),
                lines=(NewLine(f"{row.description} ({label})", 1, int(row.amount)),),
                tax=int(row.tax),
                description=str(row.description),
                extra={},
            ),
        )
        invoice_id = int(invoice.id)
        await scope.update(RecurringIssue, {RecurringIssue.invoice: invoice_id}).where(
            RecurringIssue.id == issue_id
        )
    await scope.update(
        RecurringInvoice,
        {
            RecurringInvoice.next_issue_date: next_period(period, interval, day),
            RecurringInvoice.issued_count: int(row.issued_count) + (1 if invoice_id else 0),
            RecurringInvoice.last_issued_at: stamp if invoice_id else row.last_issued_at,
            RecurringInvoice.last_error: "",
            RecurringInvoice.updated_at: stamp,
        },
    ).where(RecurringInvoice.id == row.id)
    return invoice_id


async def recurring_rows(scope: TenantScope) -> list[dict[str, Any]]:
    """Every recurring invoice with its customer, active first (for the staff list)."""
    rows = await scope.select(
        RecurringInvoice,
        RecurringInvoice.id,
        RecurringInvoice.description,
        RecurringInvoice.currency,
        RecurringInvoice.amount,
        RecurringInvoice.tax,
        RecurringInvoice.interval,
        RecurringInvoice.day_of_month,
        RecurringInvoice.next_issue_date,
        RecurringInvoice.status,
        RecurringInvoice.end_date,
        RecurringInvoice.issued_count,
        RecurringInvoice.last_error,
        RecurringInvoice.number_prefix,
        RecurringInvoice.customer.name.as_alias("customer_name"),
        RecurringInvoice.customer.number.as_alias("customer_number"),
    ).order_by(RecurringInvoice.id, ascending=False)
    order = {status: i for i, status in enumerate(STATUSES)}
    return sorted(rows, key=lambda r: order.get(str(r["status"]), 9))


async def issued_invoices(scope: TenantScope, recurring_id: int) -> list[dict[str, Any]]:
    """The invoices a recurring invoice issued, newest period first."""
    return await (
        scope.select(
            RecurringIssue,
            RecurringIssue.period,
            RecurringIssue.invoice,
            RecurringIssue.invoice.number.as_alias("number"),
            RecurringIssue.invoice.status.as_alias("status"),
            RecurringIssue.invoice.total.as_alias("total"),
            RecurringIssue.invoice.currency.as_alias("currency"),
        )
        .where(RecurringIssue.recurring == recurring_id)
        .order_by(RecurringIssue.period, ascending=False)
    )


__all__ = [
    "INTERVALS",
    "Invoice",
    "NewRecurring",
    "RecurringError",
    "add_months",
    "create_recurring",
    "first_period",
    "issue_due",
    "issue_recurring",
    "next_period",
    "set_status",
]
