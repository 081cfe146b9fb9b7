"""Building the backend's requests from the ledger: what an invoice says and what a payment pays.

Everything is read from the tenant's rows at the moment of the call, so a retried job sends the
same picture (and the same ``key``) as long as nothing changed.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import UTC, datetime

from recaudo.core.common.money import Money
from recaudo.core.platform.values import (
    EInvoiceLine,
    EInvoiceParty,
    EInvoicePaymentRequest,
    EInvoiceRequest,
    PaidInvoice,
    TenantInfo,
)
from recaudo.core.tables import (
    Allocation,
    Customer,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentTransition,
)
from recaudo.tenants.scoped import TenantScope


class MissingRow(LookupError):
    """The invoice, payment or customer named does not exist for this tenant."""


def party_of(customer: Customer) -> EInvoiceParty:
    return EInvoiceParty(
        customer_id=int(customer.id),
        tax_id=(customer.tax_id or "").strip().upper(),
        name=(customer.fiscal_name or customer.name or "").strip(),
        country=(customer.tax_country or "").strip().upper(),
        regime=(customer.fiscal_regime or "").strip(),
        postal_code=(customer.fiscal_postal_code or "").strip(),
        use=(customer.fiscal_use or "").strip().upper(),
        email=(customer.email or "").strip(),
    )


async def party_for(scope: TenantScope, customer_id: int) -> EInvoiceParty:
    customer = await scope.get(Customer, customer_id)
    if customer is None:
        raise MissingRow(f"customer {customer_id} not found")
    return party_of(customer)


def split_exact(total: int, weights: list[int]) -> list[int]:
    """``total`` spread over ``weights`` proportionally, in whole minor units that add up to
    ``total`` exactly (largest remainders get the leftover units; ties go to the first)."""
    if not weights:
        return []
    base = sum(weights)
    if base <= 0:
        return [total] + [0] * (len(weights) - 1)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    shares = [magnitude * w // base for w in weights]
    remainders = [(magnitude * w) % base for w in weights]
    left = magnitude - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        shares[i] += 1
    return [sign * s for s in shares]


async def invoice_lines(scope: TenantScope, invoice: Invoice) -> tuple[EInvoiceLine, ...]:
    """The invoice's lines with its tax split across them so the parts sum to the tax."""
    rows = await scope.objects(InvoiceLine).where(InvoiceLine.invoice == invoice.id)
    rows = sorted(rows, key=lambda r: (int(r.position), int(r.id)))
    ccy = str(invoice.currency)
    if not rows:
        subtotal = int(invoice.subtotal) or int(invoice.total) - int(invoice.tax)
        text = str(invoice.description or "").strip() or f"Factura {invoice.number}"
        return (
            EInvoiceLine(
                text, 1, Money(ccy, subtotal), Money(ccy, subtotal), Money(ccy, int(invoice.tax))
            ),
        )
    taxes = split_exact(int(invoice.tax), [max(0, int(r.amount)) for r in rows])
    return tuple(
        EInvoiceLine(
            str(r.description),
            int(r.quantity),
            Money(ccy, int(r.unit_amount)),
            Money(ccy, int(r.amount)),
            Money(ccy, tax),
        )
        for r, tax in zip(rows, taxes, strict=True)
    )


async def invoice_request(
    scope: TenantScope, info: TenantInfo, invoice: Invoice, *, key: str, replaces: str = ""
) -> EInvoiceRequest:
    party = await party_for(scope, int(invoice.customer))
    items = await invoice_lines(scope, invoice)
    ccy = str(invoice.currency)
    return EInvoiceRequest(
        tenant=info,
        invoice_id=int(invoice.id),
        number=str(invoice.number),
        issue_date=invoice.issue_date,
        customer_name=party.name,
        customer_tax_id=party.tax_id,
        total=Money(ccy, int(invoice.total)),
        lines=tuple((i.description, i.quantity, i.amount) for i in items),
        key=key,
        due_date=invoice.due_date,
        subtotal=Money(ccy, int(invoice.subtotal)),
        tax=Money(ccy, int(invoice.tax)),
        balance=Money(ccy, int(invoice.total) - int(invoice.amount_applied)),
        customer=party,
        items=items,
        description=str(invoice.description or ""),
        replaces=replaces,
    )


def _net(row: Allocation) -> int:
    return int(row.amount) - int(row.reversed_amount)


async def paid_invoices(scope: TenantScope, payment_id: int) -> tuple[PaidInvoice, ...]:
    """What the payment pays now, per invoice (net of reversals), with each invoice's
    installment number and balance before it, counted from the earlier payments' allocations."""
    mine = await scope.objects(Allocation).where(Allocation.payment == payment_id)
    net: dict[int, int] = defaultdict(int)
    first: dict[int, int] = {}
    for row in mine:
        inv = int(row.invoice)
        net[inv] += _net(row)
        first[inv] = min(first.get(inv, int(row.id)), int(row.id))
    out: list[PaidInvoice] = []
    for inv_id in sorted(first, key=lambda i: first[i]):
        if net[inv_id] <= 0:
            continue
        invoice = await scope.get(Invoice, inv_id)
        if invoice is None:  # pragma: no cover - allocations restrict deletion
            continue
        earlier = await scope.objects(Allocation).where(
            (Allocation.invoice == inv_id)
            & (Allocation.id < first[inv_id])
            & (Allocation.payment != payment_id)
        )
        per_payment: dict[int, int] = defaultdict(int)
        for row in earlier:
            per_payment[int(row.payment)] += _net(row)
        ccy = str(invoice.currency)
        paid_before = sum(v for v in per_payment.values() if v > 0)
        issued = invoice.einvoice_status == "issued"
        out.append(
            PaidInvoice(
                invoice_id=inv_id,
                number=str(invoice.number),
                fiscal_id=str(invoice.einvoice_uuid) if issued else "",
                amount=Money(ccy, net[inv_id]),
                balance_before=Money(ccy, int(invoice.total) - paid_before),
                installment=1 + sum(1 for v in per_payment.values() if v > 0),
                invoice_total=Money(ccy, int(invoice.total)),
            )
        )
    return tuple(out)


def picture_key(payment_id: int, amount: Money, invoices: tuple[PaidInvoice, ...]) -> str:
    """``payment:<id>:<digest>``: the same picture gives the same key (a retry issues nothing)."""
    picture = {
        "amount": [amount.currency, amount.amount],
        "invoices": [
            [
                p.invoice_id,
                p.fiscal_id,
                p.amount.amount,
                p.balance_before.amount,
                p.installment,
            ]
            for p in invoices
        ],
    }
    digest = hashlib.sha256(json.dumps(picture, sort_keys=True).encode()).hexdigest()[:16]
    return f"payment:{payment_id}:{digest}"


async def paid_at(scope: TenantScope, payment: Payment) -> datetime:
    """When the payment was approved (its first transition to ``approved``), else its last
    change."""
    rows = await scope.select(PaymentTransition, PaymentTransition.created_at).where(
        (PaymentTransition.payment == payment.id) & (PaymentTransition.to_status == "approved")
    )
    stamps = [r["created_at"] for r in rows if r["created_at"] is not None]
    when = min(stamps) if stamps else (payment.updated_at or payment.created_at)
    if when is None:
        return datetime.now(UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


async def payment_request(
    scope: TenantScope, info: TenantInfo, payment: Payment
) -> EInvoicePaymentRequest:
    invoices = await paid_invoices(scope, int(payment.id))
    # What the customer paid and kept paid (refunds out); never less than what it documents.
    allocated = sum(p.amount.amount for p in invoices)
    kept = int(payment.amount) - int(payment.amount_refunded)
    amount = Money(str(payment.currency), max(kept, allocated) if invoices else 0)
    return EInvoicePaymentRequest(
        tenant=info,
        payment_id=int(payment.id),
        key=picture_key(int(payment.id), amount, invoices),
        paid_at=await paid_at(scope, payment),
        method=str(payment.method),
        amount=amount,
        customer=await party_for(scope, int(payment.customer)),
        invoices=invoices,
        reason=str(payment.status),
    )
