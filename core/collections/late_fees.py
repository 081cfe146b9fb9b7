"""Late fees: simple interest on an overdue invoice's unpaid principal, as charges the customer
sees with their reason.

The tenant's policy (``Tenant.policy``, Ajustes → Recargos por atraso) is off by default:
``late_fee_enabled``, ``late_fee_rate_bp`` (monthly rate, basis points), ``late_fee_grace_days``,
``late_fee_cap_bp`` (all fees of an invoice together, basis points of its original total
``subtotal + tax``) and ``late_fee_min_amount`` (minor units; a smaller fee is not charged).

Periods: the first fee falls on the day after ``due_date + grace_days`` (period ``1``), the next
one a calendar month later (period ``2``) and so on; one charge per invoice and period, enforced
by the unique index (invoice, kind, period) — running twice, or on two workers, charges once.
Each fee is ``floor(principal × rate_bp / 10 000)`` minor units, where the principal is what is
still unpaid of the invoice *without* its fees (``total − fees − amount_applied``; payments count
against the principal first, the customer's favour), so a fee never bears interest: no
compounding. The fee is then cut to what is left under the cap, and dropped when under the
minimum. Rounding down happens once, here, and is never in the tenant's favour.

A charge raises the invoice's ``total`` in the same transaction as its row, with the ledger's
lock order and status rule (as :mod:`recaudo.core.billing.credit_notes` lowers it), so the
balance, statement and payments stay consistent; waiving one (owners) gives the amount back.
Never charged: paid, void, written-off, disputed invoices, invoices a payment plan covers, or
invoices under a pending promise to pay whose date has not passed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from recaudo.core.billing.errors import RecordConflict, RecordNotFound
from recaudo.core.billing.invoice_changes import lock_invoice
from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.collections.promises import promised_invoice_ids
from recaudo.core.common.atomic import atomic
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.messaging.i18n import translations
from recaudo.core.payments.ledger import set_invoice_total
from recaudo.core.tables import Invoice, InvoiceCharge
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope, as_id

KIND = "late_fee"
MAX_PERIODS = 120  # ten years of monthly fees: a bound for a forgotten invoice


@dataclass(frozen=True)
class LateFeePolicy:
    enabled: bool = False
    rate_bp: int = 200  # 2 % a month
    grace_days: int = 5
    cap_bp: int = 2000  # at most 20 % of the original total
    min_amount: int = 0  # minor units


def _int(value: Any, low: int, high: int, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return default
    try:
        return min(max(int(value), low), high)
    except ValueError:
        return default


def late_fee_policy(raw: Any) -> LateFeePolicy:
    """The policy in ``Tenant.policy``, read defensively (bad values fall back to defaults)."""
    data = loads(raw, {}) or {}
    if not isinstance(data, dict):
        data = {}
    base = LateFeePolicy()
    return LateFeePolicy(
        enabled=data.get("late_fee_enabled") is True,
        rate_bp=_int(data.get("late_fee_rate_bp"), 0, 10_000, base.rate_bp),
        grace_days=_int(data.get("late_fee_grace_days"), 0, 365, base.grace_days),
        cap_bp=_int(data.get("late_fee_cap_bp"), 0, 10_000, base.cap_bp),
        min_amount=_int(data.get("late_fee_min_amount"), 0, 10**12, base.min_amount),
    )


def add_months(start: date, months: int) -> date:
    """``start`` plus whole calendar months, clamped to the month's last day (31 Jan + 1 = 28/29
    Feb)."""
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def period_starts(due_date: date, grace_days: int, at: date) -> list[date]:
    """The days fees fall on, up to ``at``: period ``n`` is the ``n``-th of them."""
    first = due_date + timedelta(days=grace_days + 1)
    starts = []
    for n in range(MAX_PERIODS):
        day = add_months(first, n)
        if day > at:
            break
        starts.append(day)
    return starts


def fee_amount(principal_unpaid: int, rate_bp: int, cap_left: int, minimum: int) -> int:
    """One period's fee in minor units (0: nothing to charge). Floor of simple interest on the
    unpaid principal, cut to the cap, dropped under the minimum."""
    fee = max(principal_unpaid, 0) * rate_bp // 10_000
    fee = min(fee, max(cap_left, 0))
    return fee if fee > 0 and fee >= minimum else 0


def reason_text(rate_bp: int, days_late: int, language: str = "es") -> str:
    """What the customer reads next to the charge, in their language."""
    _ = translations(language).gettext
    text = f"{rate_bp / 100:.2f}".rstrip("0").rstrip(".")
    return _("Recargo por atraso: %(rate)s %% mensual, %(days)d días de atraso") % {
        "rate": text,
        "days": days_late,
    }


async def _policy(scope: TenantScope) -> LateFeePolicy:
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    return late_fee_policy(tenant.policy if tenant is not None else None)


def _chargeable(invoice: Invoice) -> bool:
    return (
        invoice.status in OPEN_STATUSES
        and not invoice.disputed
        and invoice.plan_id is None
        and int(invoice.total) > int(invoice.amount_applied)
    )


async def _active_fees(scope: TenantScope, invoice_id: int) -> int:
    rows = await scope.select(InvoiceCharge, InvoiceCharge.amount).where(
        (InvoiceCharge.invoice == invoice_id) & (InvoiceCharge.waived == False)  # noqa: E712
    )
    return sum(int(r["amount"]) for r in rows)


async def _charge_period(
    scope: TenantScope, invoice_id: int, period: int, starts: date, policy: LateFeePolicy
) -> bool:
    """Charge one period of one invoice, or nothing; ``True`` when a charge was added."""

    async def work(_tx: Any) -> bool:
        invoice = await lock_invoice(scope, invoice_id)
        if not _chargeable(invoice):
            return False
        fees = await _active_fees(scope, int(invoice.id))
        original = int(invoice.subtotal) + int(invoice.tax)
        principal_unpaid = int(invoice.total) - fees - int(invoice.amount_applied)
        cap_left = original * policy.cap_bp // 10_000 - fees
        amount = fee_amount(principal_unpaid, policy.rate_bp, cap_left, policy.min_amount)
        if amount <= 0:
            return False
        days_late = (starts - invoice.due_date).days
        charge_id = await scope.add_unless_exists(
            InvoiceCharge(
                invoice=invoice.id,
                kind=KIND,
                period=str(period),
                amount=amount,
                currency=str(invoice.currency),
                base=principal_unpaid,
                rate_bp=policy.rate_bp,
                days_late=days_late,
                reason=reason_text(policy.rate_bp, days_late, "es"),
                created_at=datetime.now(UTC),
            )
        )
        if charge_id is None:  # this period was charged (or waived) already
            return False
        await set_invoice_total(scope, invoice, int(invoice.total) + amount)
        await record(
            scope,
            "system:late_fees",
            "invoice.late_fee",
            f"invoice:{invoice.id}",
            charge=charge_id,
            period=period,
            amount=amount,
            base=principal_unpaid,
            rate_bp=policy.rate_bp,
            days_late=days_late,
        )
        return True

    return await atomic(work)


async def charge_late_fees(
    scope: TenantScope, at: date, invoice_ids: list[int] | None = None
) -> int:
    """Charge every late-fee period due by ``at`` (the tenant's date) on the tenant's overdue
    invoices (or only ``invoice_ids``); returns how many charges were added. Idempotent."""
    policy = await _policy(scope)
    if not policy.enabled or policy.rate_bp <= 0:
        return 0
    last_due = at - timedelta(days=policy.grace_days + 1)
    query = scope.select(Invoice, Invoice.id, Invoice.due_date).where(
        Invoice.status.is_in(list(OPEN_STATUSES)),
        Invoice.disputed == False,  # noqa: E712
        Invoice.plan_id.is_null(),
        Invoice.due_date <= last_due,
    )
    if invoice_ids is not None:
        query = query.where(Invoice.id.is_in(list(invoice_ids) or [0]))
    # A pending promise shields its invoices until its date, as it does from reminders; a
    # broken one lets the missed periods be charged on the next run.
    shielded = await promised_invoice_ids(scope, at)
    candidates = [r for r in await query if int(r["id"]) not in shielded]
    if not candidates:
        return 0
    charged: dict[int, set[str]] = {}
    for row in await scope.select(InvoiceCharge, InvoiceCharge.invoice, InvoiceCharge.period).where(
        (InvoiceCharge.kind == KIND)
        & InvoiceCharge.invoice.is_in([int(r["id"]) for r in candidates])
    ):
        charged.setdefault(int(row["invoice"]), set()).add(str(row["period"]))
    added = 0
    for row in candidates:
        done = charged.get(int(row["id"]), set())
        for n, starts in enumerate(period_starts(row["due_date"], policy.grace_days, at), 1):
            if str(n) not in done:
                added += await _charge_period(scope, int(row["id"]), n, starts, policy)
    return added


async def waive_charge(scope: TenantScope, charge_id: object, actor: str) -> InvoiceCharge:
    """Take a fee back (an owner's decision, audited): the invoice's total drops by its amount.
    Refused once the fee's money was paid (a refund or credit note is the way then)."""
    pk = as_id(charge_id)
    charge = await scope.get(InvoiceCharge, pk) if pk else None
    if charge is None:
        raise RecordNotFound(f"charge {charge_id}: not found")

    async def work(_tx: Any) -> InvoiceCharge:
        invoice = await lock_invoice(scope, int(charge.invoice))
        row = await scope.get(InvoiceCharge, int(charge.id))
        assert row is not None
        if row.waived:
            raise RecordConflict("charge already waived")
        amount = int(row.amount)
        if int(invoice.total) - int(invoice.amount_applied) < amount or invoice.status == "void":
            raise RecordConflict("charge already paid")
        now = datetime.now(UTC)
        await scope.update(
            InvoiceCharge,
            {
                InvoiceCharge.waived: True,
                InvoiceCharge.waived_by: actor[:100],
                InvoiceCharge.waived_at: now,
            },
        ).where(InvoiceCharge.id == row.id)
        await set_invoice_total(scope, invoice, int(invoice.total) - amount)
        await record(
            scope,
            actor,
            "invoice.late_fee_waived",
            f"invoice:{invoice.id}",
            charge=int(row.id),
            amount=amount,
        )
        row.waived, row.waived_by, row.waived_at = True, actor[:100], now
        return row

    return await atomic(work)


async def invoice_charges(scope: TenantScope, invoice_id: int) -> list[InvoiceCharge]:
    return await (
        scope.objects(InvoiceCharge)
        .where(InvoiceCharge.invoice == invoice_id)
        .order_by(InvoiceCharge.id)
    )


async def customer_charges(
    scope: TenantScope, customer_id: int, limit: int = 50
) -> list[dict[str, Any]]:
    """A customer's charges not waived, newest first, with their invoice's number."""
    return await (
        scope.select(
            InvoiceCharge,
            InvoiceCharge.id,
            InvoiceCharge.amount,
            InvoiceCharge.currency,
            InvoiceCharge.rate_bp,
            InvoiceCharge.days_late,
            InvoiceCharge.created_at,
            InvoiceCharge.invoice,
            InvoiceCharge.invoice.number.as_alias("invoice_number"),
        )
        .where(
            (InvoiceCharge.invoice.customer == customer_id) & (InvoiceCharge.waived == False)  # noqa: E712
        )
        .order_by(InvoiceCharge.id, ascending=False)
        .limit(limit)
    )


@dataclass(frozen=True)
class ChargeView:
    """A charge as a page shows it: its reason in the reader's language."""

    id: int
    invoice_id: int
    invoice_number: str
    amount: int
    currency: str
    reason: str
    created_at: datetime
    waived: bool


def charge_views(rows: list[Any], language: str, invoice_number: str = "") -> list[ChargeView]:
    """``rows``: :class:`InvoiceCharge` objects or the dicts of :func:`customer_charges`."""
    views = []
    for row in rows:
        data: dict[str, Any] = row if isinstance(row, dict) else row.to_dict()
        views.append(
            ChargeView(
                id=int(data["id"]),
                invoice_id=int(data["invoice"]),
                invoice_number=str(data.get("invoice_number") or invoice_number),
                amount=int(data["amount"]),
                currency=str(data["currency"]),
                reason=reason_text(int(data["rate_bp"]), int(data["days_late"]), language),
                created_at=data["created_at"],
                waived=bool(data.get("waived") or False),
            )
        )
    return views
