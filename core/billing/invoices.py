"""Invoices and their lines. Amounts are integer minor units in the invoice's currency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from recaudo.core import db
from recaudo.core.common.money import MoneyError, check_currency
from recaudo.core.common.outbox import enqueue, now
from recaudo.core.tables import Customer, Invoice, InvoiceLine, OutboxJob
from recaudo.tenants.scoped import TenantScope, as_id

# Far beyond any real invoice, far below a 64-bit column: a typo or an attack.
MAX_TOTAL = 10**15


class InvoiceError(ValueError):
    """Invalid invoice data; the message names the field."""


class BulkInvoiceError(InvoiceError):
    """Some invoices of a batch are invalid: ``errors`` holds (position, error) pairs."""

    def __init__(self, errors: list[tuple[int, InvoiceError]]) -> None:
        super().__init__("; ".join(f"invoices[{i}]: {e}" for i, e in errors))
        self.errors = errors


@dataclass(frozen=True)
class NewLine:
    description: str
    quantity: int
    unit_amount: int


@dataclass(frozen=True)
class NewInvoice:
    customer_id: int
    number: str
    issue_date: date
    due_date: date
    currency: str
    lines: tuple[NewLine, ...]
    tax: int = 0
    description: str = ""
    external_id: str | None = None
    extra: dict = field(default_factory=dict)


def status_for(total: int, applied: int, voided: bool = False, written_off: int = 0) -> str:
    """The status an invoice's numbers imply; the one rule every writer uses.

    ``applied`` counts payments and write-offs (``written_off`` is the written-off part of it):
    closed with a write-off is ``written_off``, closed by money alone ``paid``; a partial
    write-off with no money paid leaves the invoice ``open`` (with a smaller balance).
    """
    if voided:
        return "void"
    if applied >= total and (applied > 0 or total <= 0):
        # closed: by money alone "paid" (also an invoice credit notes took down to zero)
        return "written_off" if written_off > 0 else "paid"
    if applied - written_off <= 0:
        return "open"
    return "partially_paid"


def validate_invoice(data: NewInvoice) -> None:
    if not data.number.strip() or len(data.number) > 64:
        raise InvoiceError("number: required, at most 64 characters")
    try:
        check_currency(data.currency)
    except MoneyError as exc:
        raise InvoiceError(f"currency: {exc}") from None
    if data.due_date < data.issue_date:
        raise InvoiceError("due_date: before issue_date")
    if not data.lines:
        raise InvoiceError("lines: an invoice needs at least one line")
    for i, line in enumerate(data.lines, 1):
        if not line.description.strip():
            raise InvoiceError(f"line {i}: description required")
        if not isinstance(line.quantity, int) or line.quantity <= 0:
            raise InvoiceError(f"line {i}: quantity must be a positive whole number")
        if not isinstance(line.unit_amount, int) or line.unit_amount < 0:
            raise InvoiceError(f"line {i}: unit amount must be zero or more minor units")
    if not isinstance(data.tax, int) or data.tax < 0:
        raise InvoiceError("tax: must be zero or more minor units")
    if sum(line.quantity * line.unit_amount for line in data.lines) + data.tax > MAX_TOTAL:
        raise InvoiceError(f"total: at most {MAX_TOTAL} minor units")


def invoice_totals(data: NewInvoice) -> tuple[int, int]:
    """``(subtotal, total)`` of a valid invoice; a total of zero or less is refused."""
    subtotal = sum(line.quantity * line.unit_amount for line in data.lines)
    total = subtotal + data.tax
    if total <= 0:
        raise InvoiceError("total: must be more than zero")
    return subtotal, total


async def create_invoice(scope: TenantScope, data: NewInvoice) -> Invoice:
    validate_invoice(data)
    try:
        (invoice,) = await _insert(scope, [data])
    except BulkInvoiceError as exc:
        raise exc.errors[0][1] from None
    return invoice


async def create_invoices(scope: TenantScope, items: list[NewInvoice]) -> list[Invoice]:
    """Create every invoice or none (one transaction); errors name each bad item's position.

    The same checks as :func:`create_invoice`, made with a few set-wise queries instead of a
    few per invoice, so a batch of 1,000 costs about what ten single invoices do.
    """
    errors: list[tuple[int, InvoiceError]] = []
    first: dict[str, int] = {}
    for i, data in enumerate(items):
        try:
            validate_invoice(data)
        except InvoiceError as exc:
            errors.append((i, exc))
            continue
        number = data.number.strip()
        if number in first:
            errors.append(
                (i, InvoiceError(f"number {number!r}: repeated (see invoices[{first[number]}])"))
            )
        first.setdefault(number, i)
    if errors:
        raise BulkInvoiceError(errors)
    async with db.transaction():
        return await _insert(scope, items)


CHUNK = 500  # values per IN (…) or multi-row INSERT: well within SQLite's variable limit


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


async def _insert(scope: TenantScope, items: list[NewInvoice]) -> list[Invoice]:
    """Check customers, numbers and totals of validated ``items`` set-wise, then insert them."""
    wanted = sorted({pk for d in items if (pk := as_id(d.customer_id)) is not None})
    customers: set[int] = set()
    for chunk in _chunks(wanted):
        rows = await scope.select(Customer, Customer.id).where(Customer.id.is_in(chunk))
        customers |= {int(r["id"]) for r in rows}
    numbers = sorted({d.number.strip() for d in items})
    taken: set[str] = set()
    for chunk in _chunks(numbers):
        rows = await scope.select(Invoice, Invoice.number).where(Invoice.number.is_in(chunk))
        taken |= {str(r["number"]) for r in rows}
    errors: list[tuple[int, InvoiceError]] = []
    for i, data in enumerate(items):
        if as_id(data.customer_id) not in customers:
            errors.append((i, InvoiceError(f"customer {data.customer_id}: not found")))
        elif data.number.strip() in taken:
            errors.append((i, InvoiceError(f"number {data.number!r}: already used")))
        elif sum(x.quantity * x.unit_amount for x in data.lines) + data.tax <= 0:
            errors.append((i, InvoiceError("total: must be more than zero")))
    if errors:
        raise BulkInvoiceError(errors)
    invoices = []
    for data in items:
        subtotal = sum(line.quantity * line.unit_amount for line in data.lines)
        invoices.append(
            Invoice(
                customer=as_id(data.customer_id),
                number=data.number.strip(),
                issue_date=data.issue_date,
                due_date=data.due_date,
                currency=check_currency(data.currency),
                subtotal=subtotal,
                tax=data.tax,
                total=subtotal + data.tax,
                amount_applied=0,
                status="open",
                description=data.description,
                external_id=data.external_id,
            )
        )
    for chunk in _chunks(invoices):
        await scope.add(*chunk)
    lines = [
        InvoiceLine(
            invoice=invoice.id,
            position=i,
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.quantity * line.unit_amount,
        )
        for invoice, data in zip(invoices, items, strict=True)
        for i, line in enumerate(data.lines)
    ]
    for chunk in _chunks(lines):
        await scope.add(*chunk)
    if len(invoices) == 1:
        invoice = invoices[0]
        await enqueue(
            scope,
            "invoice_event",
            {"invoice_id": int(invoice.id), "kind": "created"},
            key=f"invoice_event:{invoice.id}:created",
        )
    else:  # new ids: their keys cannot exist yet, so no look-up per job
        jobs = [
            OutboxJob(
                key=f"invoice_event:{invoice.id}:created",
                actor="invoice_event",
                payload={"invoice_id": int(invoice.id), "kind": "created"},
                status="pending",
                available_at=now(),
            )
            for invoice in invoices
        ]
        for chunk in _chunks(jobs):
            await scope.add(*chunk)
    return invoices


def age_bucket(due: date, today: date) -> str:
    """Aging bucket used by the statement and KPIs: current, 1-30, 31-60, 61-90, 90+."""
    days = (today - due).days
    if days <= 0:
        return "current"
    if days <= 30:
        return "1-30"
    if days <= 60:
        return "31-60"
    if days <= 90:
        return "61-90"
    return "90+"
