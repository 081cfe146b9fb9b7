"""Autopay: customers' enrollments on a saved instrument and the charges made on them.

How a charge stays single (``docs/autopay.md`` tells the whole story):

* the hourly sweep writes an ``autopay_charge`` row under a unique key
  ``t<tenant>:<kind>:<target>:<attempt>`` *before* anything is charged, with its job in the same
  transaction; two sweeps racing insert one row (``ON CONFLICT DO NOTHING``);
* the charge job creates the ledger ``Payment`` with the idempotency key ``autopay:<key>`` (the
  ledger's unique key: the same payment however often it runs), claims the charge with a
  conditional update, and calls the provider with that same key, so a re-run after a crash gets
  the provider's first answer instead of a second charge;
* the provider's state is applied through the ledger like any provider event (allocation, credit
  and receipts are the normal ones); a rejection plans the next attempt per the tenant's retry
  policy (default +1, +3, +7 days), unless retries are paused by the dunning engine.

The key is per *target* (not per enrollment), so changing the card, or cancelling and enrolling
again, can never charge an installment that was already attempted under the old enrollment.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from recaudo.core import db
from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.collections.plans import sync_plans
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.common.money import Money
from recaudo.core.common.outbox import enqueue
from recaudo.core.payments.allocation import MONEY_STATUSES
from recaudo.core.payments.ledger import PaymentError, apply_provider_payment, create_payment
from recaudo.core.payments.method import Checkout, PaymentMethod, ProviderPayment, SavedInstrument
from recaudo.core.payments.registry import all_methods, usable_methods
from recaudo.core.platform import guard
from recaudo.core.platform.context import PluginContext, context_for
from recaudo.core.tables import (
    AutopayCharge,
    AutopayEnrollment,
    Customer,
    Invoice,
    Payment,
    Ticket,
)
from recaudo.tenants.models import Tenant
from recaudo.tenants.plugin_config import enabled_plugins
from recaudo.tenants.scoped import TenantScope, unscoped
from recaudo.tenants.service import tenant_info

log = logging.getLogger(__name__)

#: Bumped when the terms the customer accepts change; stored with each enrollment and its audit.
TERMS_VERSION = "2026-12"
SCOPES = ("invoices", "plan", "both")
REMINDER_DAYS = (1, 2, 3, 5, 7)
DEFAULT_REMINDER_DAYS = 3
DEFAULT_RETRY_DAYS = (1, 3, 7)
OPEN_CHARGE = ("planned", "charging")
#: How long a worker's claim on a charge holds; longer than the charge job's time limit, so a
#: live worker is never overtaken, and a killed one's charge is taken over after it.
CLAIM_LEASE = timedelta(minutes=3)
REJECTED_PAYMENT = ("rejected", "cancelled", "expired")
ACTOR = "autopay"


class AutopayError(ValueError):
    """What the customer did cannot be done (answered 4xx with this message)."""


def _now() -> datetime:
    return datetime.now(UTC)


# --- policy -------------------------------------------------------------------------------------


def retry_days(policy: Any) -> tuple[int, ...]:
    """Days after a failed attempt at which to try again (tenant policy ``autopay_retry_days``).

    At most 5 retries of 1–30 days each; anything else falls back to the default (+1, +3, +7),
    so a typo in the policy can never make autopay charge every hour.
    """
    data = loads(policy, {}) if not isinstance(policy, dict) else policy
    raw = data.get("autopay_retry_days") if isinstance(data, dict) else None
    if isinstance(raw, list) and len(raw) <= 5:
        days = [d for d in raw if isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 30]
        if len(days) == len(raw):
            return tuple(days)
    return DEFAULT_RETRY_DAYS


def local_today(tenant_zone: str, customer_zone: str, now: datetime) -> date:
    """The customer's calendar day (their time zone, else the tenant's)."""
    for name in (customer_zone, tenant_zone):
        if name:
            try:
                return now.astimezone(ZoneInfo(name)).date()
            except (KeyError, ValueError):
                continue
    return now.astimezone(UTC).date()


# --- methods ------------------------------------------------------------------------------------


async def saved_instrument_methods(
    scope: TenantScope, tenant: Tenant, currency: str
) -> list[tuple[str, PaymentMethod, PluginContext]]:
    """Methods this tenant may offer for autopay: usable now and able to save instruments."""
    return [
        (plugin, method, ctx)
        for plugin, method, ctx in await usable_methods(scope, tenant_info(tenant), currency)
        if method.supports_saved_instruments and can_enroll(method)
    ]


def can_enroll(method: PaymentMethod) -> bool:
    """Whether the portal can send a customer to the method's own "save card" page."""
    own = type(method).start_instrument_setup
    return own is not PaymentMethod.start_instrument_setup


def _owner(method_name: str) -> tuple[str, PaymentMethod] | None:
    return all_methods().get(method_name)


# --- enrollment ---------------------------------------------------------------------------------


async def current_enrollment(scope: TenantScope, customer_id: int) -> AutopayEnrollment | None:
    """The customer's enrollment in force (active or paused), newest first."""
    return (
        await scope.objects(AutopayEnrollment)
        .where(
            AutopayEnrollment.customer == customer_id,
            AutopayEnrollment.status.is_in(["active", "paused"]),
        )
        .order_by(AutopayEnrollment.id, ascending=False)
        .first()
    )


async def begin_enrollment(
    scope: TenantScope,
    customer_id: int,
    *,
    plugin: str,
    method: PaymentMethod,
    what: str,
    days_before: int,
) -> AutopayEnrollment:
    """A ``pending`` enrollment with a one-time ``setup_token`` for the provider's return."""
    if what not in SCOPES:
        raise AutopayError("Elige qué quieres pagar automáticamente.")
    if days_before not in REMINDER_DAYS:
        raise AutopayError("Elige con cuántos días de aviso quieres el recordatorio.")
    if not method.supports_saved_instruments:
        raise AutopayError("Ese medio de pago no permite guardar una tarjeta.")
    row = AutopayEnrollment(
        customer=customer_id,
        plugin=plugin,
        method=method.name,
        scope=what,
        days_before_reminder=days_before,
        status="pending",
        setup_token=secrets.token_urlsafe(24),
        terms_version=TERMS_VERSION,
        created_at=_now(),
        updated_at=_now(),
    )
    await scope.add(row)
    return row


def setup_checkout(
    enrollment: AutopayEnrollment, customer: Customer, currency: str, return_url: str
) -> Checkout:
    """What the provider's "save card" page needs (no amount: nothing is charged there)."""
    return Checkout(
        payment_id=0,
        idempotency_key=f"autopay-setup:{int(enrollment.id)}",
        amount=Money(currency, 0),
        description="Pago automático",
        customer_name=str(customer.name),
        customer_email=str(customer.email or ""),
        return_url=return_url,
        notification_url="",
        customer_id=int(customer.id),
        customer_reference=str(customer.payment_reference or ""),
    )


async def pending_enrollment(
    scope: TenantScope, customer_id: int, enrollment_id: int, state: str
) -> AutopayEnrollment | None:
    """The customer's pending enrollment the provider's return names, if ``state`` matches."""
    row = await scope.get(AutopayEnrollment, enrollment_id)
    if row is None or int(row.customer) != int(customer_id) or row.status != "pending":
        return None
    if not row.setup_token or not hmac.compare_digest(str(row.setup_token), state):
        return None
    return row


async def complete_enrollment(
    scope: TenantScope,
    enrollment: AutopayEnrollment,
    instrument: SavedInstrument,
    *,
    actor: str,
) -> AutopayEnrollment:
    """Activate ``enrollment`` with the saved ``instrument``; it replaces the previous one.

    The consent (terms version, what is charged, reminder days, instrument label) goes to the
    audit log in the same transaction.
    """
    now = _now()
    async with db.transaction():
        claimed = await (
            scope.update(
                AutopayEnrollment,
                {
                    AutopayEnrollment.status: "active",
                    AutopayEnrollment.setup_token: "",
                    AutopayEnrollment.provider_instrument_id: instrument.provider_instrument_id[
                        :200
                    ],
                    AutopayEnrollment.label: instrument.label[:100],
                    AutopayEnrollment.expires: instrument.expires[:10],
                    AutopayEnrollment.updated_at: now,
                },
            )
            .where(AutopayEnrollment.id == enrollment.id, AutopayEnrollment.status == "pending")
            .returning(AutopayEnrollment.id)
        )
        if not claimed:
            raise AutopayError("Esta inscripción ya no está pendiente.")
        previous = await scope.objects(AutopayEnrollment).where(
            AutopayEnrollment.customer == enrollment.customer,
            AutopayEnrollment.status.is_in(["active", "paused"]),
            AutopayEnrollment.id != enrollment.id,
        )
        for old in previous:
            await _end(scope, old, "replaced")
        await record(
            scope,
            actor,
            "autopay.enrolled",
            f"customer:{int(enrollment.customer)}",
            enrollment=int(enrollment.id),
            method=str(enrollment.method),
            covers=str(enrollment.scope),
            days_before_reminder=int(enrollment.days_before_reminder),
            instrument=instrument.label[:100],
            terms_version=str(enrollment.terms_version),
            replaces=[int(o.id) for o in previous],
        )
    return await scope.get(AutopayEnrollment, enrollment.id) or enrollment


async def _end(scope: TenantScope, row: AutopayEnrollment, why: str) -> None:
    """Cancel an enrollment and its charges not yet sent to the provider."""
    await scope.update(
        AutopayEnrollment,
        {AutopayEnrollment.status: "cancelled", AutopayEnrollment.updated_at: _now()},
    ).where(AutopayEnrollment.id == row.id)
    await scope.update(
        AutopayCharge,
        {
            AutopayCharge.status: "cancelled",
            AutopayCharge.error: why,
            AutopayCharge.updated_at: _now(),
        },
    ).where(AutopayCharge.enrollment == row.id, AutopayCharge.status == "planned")


async def cancel_enrollment(scope: TenantScope, customer_id: int, *, actor: str) -> bool:
    """Stop autopay for the customer; ``False`` when nothing was in force.

    A charge already sent to the provider cannot be recalled; its result is applied as usual.
    """
    async with db.transaction():
        row = await current_enrollment(scope, customer_id)
        if row is None:
            return False
        await _end(scope, row, "cancelled by the customer")
        await record(
            scope,
            actor,
            "autopay.cancelled",
            f"customer:{customer_id}",
            enrollment=int(row.id),
        )
    return True


async def pause_retries(scope: TenantScope, customer_id: int, invoice_ids: list[int]) -> int:
    """Stop automatic retries for these invoices (dunning stage action ``pause_autopay``).

    Planned retries (attempt 2 and later) for the invoices, or for installments of plans that
    cover them, become ``paused``; a later rejection of a running attempt plans no retry either.
    First attempts on due dates are untouched. Returns how many retries were paused.
    """
    ids = {int(i) for i in invoice_ids}
    if not ids:
        return 0
    rows = await scope.objects(AutopayCharge).where(
        AutopayCharge.customer == customer_id,
        AutopayCharge.status.is_in(list(OPEN_CHARGE)),
    )
    paused = 0
    for row in rows:
        covered = {int(i) for i in loads(row.invoice_ids, []) or []}
        if not covered & ids:
            continue
        if row.status == "planned" and int(row.attempt) > 1:
            done = await (
                scope.update(
                    AutopayCharge,
                    {
                        AutopayCharge.status: "paused",
                        AutopayCharge.error: "retries paused by the reminder policy",
                        AutopayCharge.updated_at: _now(),
                    },
                )
                .where(AutopayCharge.id == row.id, AutopayCharge.status == "planned")
                .returning(AutopayCharge.id)
            )
            paused += len(done)
        else:
            # Mark the target so a rejection of the running attempt plans no retry.
            await scope.add_unless_exists(
                AutopayCharge(
                    enrollment=row.enrollment,
                    customer=customer_id,
                    target_kind=row.target_kind,
                    target_id=row.target_id,
                    invoice_ids=loads(row.invoice_ids, []) or [],
                    attempt=0,
                    key=_pause_key(scope, str(row.target_kind), int(row.target_id)),
                    status="paused",
                    scheduled_for=_now(),
                    error="retries paused by the reminder policy",
                    created_at=_now(),
                    updated_at=_now(),
                )
            )
    if paused:
        await record(
            scope, ACTOR, "autopay.retries_paused", f"customer:{customer_id}", invoices=sorted(ids)
        )
    return paused


def charge_key(scope: TenantScope, kind: str, target_id: int, attempt: int) -> str:
    return f"t{scope.tenant_id}:{kind}:{target_id}:{attempt}"


def _pause_key(scope: TenantScope, kind: str, target_id: int) -> str:
    return f"t{scope.tenant_id}:{kind}:{target_id}:paused"


# --- what is due --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Something autopay may charge: an open invoice or a plan installment."""

    kind: str  # invoice | installment
    id: int
    due: date
    amount: int
    currency: str
    invoice_ids: tuple[int, ...]


async def targets(scope: TenantScope, enrollment: AutopayEnrollment, until: date) -> list[Target]:
    """What the enrollment covers that falls due on or before ``until`` and still owes money.

    Invoices under a payment plan or in dispute are left to the plan / the dispute.
    """
    customer_id = int(enrollment.customer)
    out: list[Target] = []
    if enrollment.scope in ("invoices", "both"):
        rows = await scope.objects(Invoice).where(
            Invoice.customer == customer_id,
            Invoice.status.is_in(list(OPEN_STATUSES)),
            Invoice.due_date <= until,
            Invoice.disputed.eq(False),
            Invoice.plan_id.is_null(),
        )
        out += [
            Target("invoice", int(r.id), r.due_date, r.balance, str(r.currency), (int(r.id),))
            for r in rows
            if r.balance > 0
        ]
    if enrollment.scope in ("plan", "both"):
        for plan, installments in await sync_plans(scope, customer_id):
            covered = tuple(int(i) for i in loads(plan.invoice_ids, []) or [])
            for row in installments:
                left = int(row.amount) - int(row.amount_paid)
                if row.status == "open" and left > 0 and row.due_date <= until:
                    out.append(
                        Target(
                            "installment",
                            int(row.id),
                            row.due_date,
                            left,
                            str(plan.currency),
                            covered,
                        )
                    )
    return sorted(out, key=lambda t: (t.due, t.kind, t.id))


async def _target_now(scope: TenantScope, charge: AutopayCharge) -> Target | None:
    """The charge's target as it stands now (``None``: paid, void, gone or no longer covered)."""
    customer_id = int(charge.customer)
    if charge.target_kind == "invoice":
        row = await scope.get(Invoice, charge.target_id)
        if (
            row is None
            or int(row.customer) != customer_id
            or row.status not in OPEN_STATUSES
            or row.balance <= 0
            or row.disputed
            or row.plan_id is not None
        ):
            return None
        return Target(
            "invoice", int(row.id), row.due_date, row.balance, str(row.currency), (int(row.id),)
        )
    for plan, installments in await sync_plans(scope, customer_id):
        for item in installments:
            if int(item.id) == int(charge.target_id):
                left = int(item.amount) - int(item.amount_paid)
                if item.status != "open" or left <= 0:
                    return None
                covered = tuple(int(i) for i in loads(plan.invoice_ids, []) or [])
                return Target(
                    "installment", int(item.id), item.due_date, left, str(plan.currency), covered
                )
    return None


# --- the sweep ----------------------------------------------------------------------------------


async def plan_tenant(scope: TenantScope, now: datetime | None = None) -> list[int]:
    """Plan this tenant's due charges and reminders as of ``now``; returns new charge ids.

    Safe to run concurrently: charges and reminders are keyed, the database keeps one.
    """
    now = now or _now()
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    if tenant is None:
        return []
    await settle_open(scope)
    created: list[int] = []
    enrollments = await scope.objects(AutopayEnrollment).where(AutopayEnrollment.status == "active")
    for enrollment in enrollments:
        customer = await scope.get(Customer, enrollment.customer)
        if customer is None:
            continue
        today = local_today(str(tenant.timezone), str(customer.timezone or ""), now)
        days = int(enrollment.days_before_reminder)
        for target in await targets(scope, enrollment, today + timedelta(days=days)):
            if target.due > today:
                await _remind(scope, enrollment, target)
                continue
            attempt = await _next_attempt(scope, target)
            if attempt is None:
                continue
            charge_id = await _plan_charge(scope, enrollment, target, attempt, now)
            if charge_id is not None:
                created.append(charge_id)
    return created


async def _next_attempt(scope: TenantScope, target: Target) -> int | None:
    """The attempt the sweep may plan for ``target``: 1 when it was never attempted, the next
    one when its last attempt was cancelled before reaching the provider (the customer changed
    the card or re-enrolled), else ``None`` (in flight, settled, or left to the retry policy)."""
    last = await (
        scope.objects(AutopayCharge)
        .where(
            AutopayCharge.target_kind == target.kind,
            AutopayCharge.target_id == target.id,
            AutopayCharge.attempt > 0,
        )
        .order_by(AutopayCharge.attempt, ascending=False)
        .first()
    )
    if last is None:
        return 1
    if last.status == "cancelled" and last.payment is None:
        return int(last.attempt) + 1
    return None


async def _remind(scope: TenantScope, enrollment: AutopayEnrollment, target: Target) -> None:
    """Tell the customer, once per target and date, what will be charged and when."""
    await enqueue(
        scope,
        "customer_message",
        {
            "kind": "upcoming_charge",
            "customer_id": int(enrollment.customer),
            "invoice_ids": list(target.invoice_ids),
            "amount": target.amount,
            "currency": target.currency,
            "charge_date": target.due.isoformat(),
            "instrument_label": str(enrollment.label),
        },
        key=f"autopay_reminder:{target.kind}:{target.id}:{target.due.isoformat()}",
    )


async def _plan_charge(
    scope: TenantScope,
    enrollment: AutopayEnrollment,
    target: Target,
    attempt: int,
    when: datetime,
) -> int | None:
    """Insert the charge under its unique key with its job, in one transaction; ``None`` if the
    key exists (another worker, an earlier hour or an earlier enrollment planned it)."""
    async with db.transaction():
        charge_id = await scope.add_unless_exists(
            AutopayCharge(
                enrollment=enrollment.id,
                customer=enrollment.customer,
                target_kind=target.kind,
                target_id=target.id,
                invoice_ids=list(target.invoice_ids),
                attempt=attempt,
                key=charge_key(scope, target.kind, target.id, attempt),
                currency=target.currency,
                amount=target.amount,
                status="planned",
                scheduled_for=when,
                created_at=_now(),
                updated_at=_now(),
            )
        )
        if charge_id is None:
            return None
        await enqueue(
            scope,
            "autopay_charge",
            {"charge_id": charge_id},
            key=f"autopay_charge:{charge_id}",
            # A first attempt is due now; a retry waits its days (from the failure's clock).
            delay=max(when - _now(), timedelta(0)) if attempt > 1 else None,
        )
    return charge_id


# --- one charge ---------------------------------------------------------------------------------


async def _end_planned(scope: TenantScope, charge_id: int, status: str, error: str) -> bool:
    """End a charge that was never sent to the provider (conditional: only while ``planned``)."""
    done = await (
        scope.update(
            AutopayCharge,
            {
                AutopayCharge.status: status,
                AutopayCharge.error: error[:500],
                AutopayCharge.updated_at: _now(),
            },
        )
        .where(AutopayCharge.id == charge_id, AutopayCharge.status == "planned")
        .returning(AutopayCharge.id)
    )
    return bool(done)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _reclaim(scope: TenantScope, charge: AutopayCharge, now: datetime) -> bool:
    """Take over a ``charging`` charge whose worker let go (its call failed) or died (the
    claim is older than :data:`CLAIM_LEASE`); one taker wins. A live claim is left alone, so
    two workers never call the provider for the same charge at the same time."""
    held = charge.claimed_at
    if held is not None and _aware(held) > now - CLAIM_LEASE:
        return False
    condition = (
        AutopayCharge.claimed_at.is_null() if held is None else AutopayCharge.claimed_at == held
    )
    done = await (
        scope.update(
            AutopayCharge, {AutopayCharge.claimed_at: now, AutopayCharge.updated_at: _now()}
        )
        .where(AutopayCharge.id == charge.id, AutopayCharge.status == "charging", condition)
        .returning(AutopayCharge.id)
    )
    return bool(done)


async def run_charge(scope: TenantScope, charge_id: int, now: datetime | None = None) -> str:
    """Charge one planned charge through its enrollment's method; returns the charge's status.

    Idempotent: the ledger payment, the claim and the provider call are all keyed on the
    charge's key, so running it again (a second delivery, a re-run after ``kill -9``) finds what
    the first run did and asks the provider again with the same key.
    """
    now = now or _now()
    charge = await scope.get(AutopayCharge, charge_id)
    if charge is None:
        return "missing"
    if charge.status not in OPEN_CHARGE:
        return str(charge.status)
    # No check of ``scheduled_for`` here: the job's ``available_at`` is the gate (a retry's job
    # is enqueued with its delay), which keeps the outbox the one clock.
    enrollment = await scope.get(AutopayEnrollment, charge.enrollment)
    if charge.status == "planned" and (enrollment is None or enrollment.status != "active"):
        await _end_planned(scope, charge_id, "cancelled", "enrollment not active")
        return str((await scope.get(AutopayCharge, charge_id) or charge).status)
    assert enrollment is not None
    owner = _owner(str(enrollment.method))
    if owner is None or owner[0] not in await enabled_plugins(scope):
        if charge.status == "planned":
            if await _end_planned(scope, charge_id, "failed", "payment method not available"):
                await _after_failure(scope, charge, now)
            return str((await scope.get(AutopayCharge, charge_id) or charge).status)
        raise RuntimeError(f"autopay charge {charge_id}: method {enrollment.method} unavailable")
    plugin, method = owner
    if charge.status == "charging" and not await _reclaim(scope, charge, now):
        return "charging"  # another worker holds it
    payment = await _payment_for(scope, charge, enrollment)
    if payment is None:
        return str((await scope.get(AutopayCharge, charge_id) or charge).status)
    if charge.status == "planned":
        claimed = await (
            scope.update(
                AutopayCharge,
                {
                    AutopayCharge.status: "charging",
                    AutopayCharge.payment: payment.id,
                    AutopayCharge.amount: int(payment.amount),
                    AutopayCharge.currency: str(payment.currency),
                    AutopayCharge.claimed_at: now,
                    AutopayCharge.updated_at: _now(),
                },
            )
            .where(AutopayCharge.id == charge_id, AutopayCharge.status == "planned")
            .returning(AutopayCharge.id)
        )
        if not claimed:
            return str((await scope.get(AutopayCharge, charge_id) or charge).status)
    if payment.status in MONEY_STATUSES or payment.status in REJECTED_PAYMENT:
        return await settle(scope, charge_id, now)  # decided before a crash: nothing to call
    try:
        state = await _call_provider(scope, plugin, method, payment, enrollment)
    except Exception as exc:
        # Let go of the claim so the job's retry (same idempotency key) may take it again.
        await scope.update(
            AutopayCharge,
            {
                AutopayCharge.claimed_at: None,
                AutopayCharge.error: f"{type(exc).__name__}: {exc}"[:500],
            },
        ).where(AutopayCharge.id == charge_id, AutopayCharge.status == "charging")
        raise
    if await apply_provider_payment(scope, method.name, state, source="autopay") is None:
        # The provider answered about a payment that is not this one: never guess; the job
        # retries and, if it keeps happening, dies where staff see it.
        await scope.update(AutopayCharge, {AutopayCharge.claimed_at: None}).where(
            AutopayCharge.id == charge_id, AutopayCharge.status == "charging"
        )
        raise PaymentError(f"autopay charge {charge_id}: the provider's answer is not ours")
    return await settle(scope, charge_id, now)


async def _payment_for(
    scope: TenantScope, charge: AutopayCharge, enrollment: AutopayEnrollment
) -> Payment | None:
    """The ledger payment of this charge (created once, keyed on the charge)."""
    if charge.payment is not None:
        found = await scope.get(Payment, charge.payment)
        if found is not None:
            return found
    target = await _target_now(scope, charge)
    if target is None:
        await _end_planned(scope, int(charge.id), "cancelled", "nothing left to charge")
        return None
    if target.kind == "invoice":
        invoice_ids: list[int] | None = list(target.invoice_ids)
    else:
        invoice_ids = await _open_ids(scope, int(charge.customer), target)
    try:
        return await create_payment(
            scope,
            customer_id=int(charge.customer),
            method=str(enrollment.method),
            currency=target.currency,
            idempotency_key=f"autopay:{charge.key}",
            invoice_ids=invoice_ids,
            amount=target.amount,
        )
    except PaymentError as exc:
        await _end_planned(scope, int(charge.id), "failed", str(exc))
        return None


async def _open_ids(scope: TenantScope, customer_id: int, target: Target) -> list[int] | None:
    """The plan's invoices still open (the installment pays them, oldest first)."""
    rows = await scope.objects(Invoice).where(
        Invoice.id.is_in(list(target.invoice_ids) or [0]),
        Invoice.customer == customer_id,
        Invoice.status.is_in(list(OPEN_STATUSES)),
    )
    ids = [int(r.id) for r in rows if r.balance > 0 and r.currency == target.currency]
    return ids or None


async def _call_provider(
    scope: TenantScope,
    plugin: str,
    method: PaymentMethod,
    payment: Payment,
    enrollment: AutopayEnrollment,
) -> ProviderPayment:
    from recaudo.core.config import active
    from recaudo.tenants.urls import portal_base_url

    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    customer = await scope.get(Customer, payment.customer)
    assert tenant is not None and customer is not None
    ctx = await context_for(tenant_info(tenant), plugin)
    try:
        settings = active()
        base, portal = settings.base_url, portal_base_url(str(tenant.slug), settings)
    except RuntimeError:  # called outside a started process (tests of the service alone)
        base, portal = "", ""
    checkout = Checkout(
        payment_id=int(payment.id),
        # Stable for this payment (a re-run sends the same), and naming the payment row too so
        # another database on the same provider account (a restored staging copy) never
        # collides with it.
        idempotency_key=f"{payment.idempotency_key}:p{int(payment.id)}",
        amount=Money(str(payment.currency), int(payment.amount)),
        description=f"Pago automático a {tenant.name}"[:300],
        customer_name=str(customer.name),
        customer_email=str(customer.email or ""),
        return_url=f"{portal}/pagos/{int(payment.id)}" if portal else "",
        notification_url=f"{base}/hooks/{plugin}/{tenant.slug}" if base else "",
        customer_id=int(customer.id),
        customer_reference=str(customer.payment_reference or ""),
    )
    instrument = SavedInstrument(
        provider_instrument_id=str(enrollment.provider_instrument_id),
        label=str(enrollment.label),
        expires=str(enrollment.expires),
    )
    async with guard.watch(plugin, "charge_instrument", tenant_id=scope.tenant_id):
        return await method.charge_instrument(ctx, checkout, instrument)


async def settle(scope: TenantScope, charge_id: int, now: datetime | None = None) -> str:
    """Move a ``charging`` charge to the outcome its payment reached (once: conditional)."""
    now = now or _now()
    charge = await scope.get(AutopayCharge, charge_id)
    if charge is None or charge.status != "charging" or charge.payment is None:
        return str(charge.status) if charge else "missing"
    payment = await scope.get(Payment, charge.payment)
    if payment is None:
        return str(charge.status)
    if payment.status in MONEY_STATUSES:
        outcome = "approved"
    elif payment.status in REJECTED_PAYMENT:
        outcome = "rejected"
    else:
        return "charging"
    async with db.transaction():
        moved = await (
            scope.update(
                AutopayCharge,
                {
                    AutopayCharge.status: outcome,
                    AutopayCharge.error: str(payment.provider_status_detail or "")[:500]
                    if outcome == "rejected"
                    else "",
                    AutopayCharge.updated_at: _now(),
                },
            )
            .where(AutopayCharge.id == charge_id, AutopayCharge.status == "charging")
            .returning(AutopayCharge.id)
        )
        if moved and outcome == "rejected":
            await _after_failure(scope, charge, now)
    return outcome


async def settle_open(scope: TenantScope) -> None:
    """Settle charges whose payment was decided later (a webhook after an ``in_process``)."""
    rows = await scope.select(AutopayCharge, AutopayCharge.id).where(
        AutopayCharge.status == "charging", AutopayCharge.payment.is_not_null()
    )
    for row in rows:
        await settle(scope, int(row["id"]))


async def _after_failure(scope: TenantScope, charge: AutopayCharge, now: datetime) -> None:
    """Plan the next attempt per policy, or stop and tell the customer and staff."""
    enrollment = await scope.get(AutopayEnrollment, charge.enrollment)
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    days = retry_days(tenant.policy if tenant else {})
    attempt = int(charge.attempt)
    paused = await scope.exists(AutopayCharge).where(
        AutopayCharge.key == _pause_key(scope, str(charge.target_kind), int(charge.target_id))
    )
    if enrollment is not None and enrollment.status == "active" and not paused:
        if attempt - 1 < len(days):
            target = await _target_now(scope, charge)
            if target is not None:
                await _plan_charge(
                    scope, enrollment, target, attempt + 1, now + timedelta(days=days[attempt - 1])
                )
                return
    if paused or enrollment is None or enrollment.status != "active":
        return
    # Out of retries: the customer pays by hand; staff see a ticket.
    await enqueue(
        scope,
        "customer_message",
        {
            "kind": "autopay_failed",
            "customer_id": int(charge.customer),
            "invoice_ids": loads(charge.invoice_ids, []) or [],
            "amount": int(charge.amount),
            "currency": str(charge.currency),
            "instrument_label": str(enrollment.label),
        },
        key=f"autopay_failed:{charge.target_kind}:{charge.target_id}",
    )
    customer = await scope.get(Customer, charge.customer)
    await scope.add(
        Ticket(
            customer=charge.customer,
            name=str(customer.name) if customer else "",
            contact=str(customer.email or "") if customer else "",
            subject="Pago automático rechazado",
            message=(
                f"El cobro automático ({charge.target_kind} {charge.target_id}) fue rechazado "
                f"{attempt} veces con {enrollment.label}. No se volverá a intentar."
            ),
            created_at=_now(),
        )
    )
    await record(
        scope,
        ACTOR,
        "autopay.gave_up",
        f"customer:{int(charge.customer)}",
        charge=int(charge.id),
        attempts=attempt,
    )


# --- every tenant -------------------------------------------------------------------------------


async def run_all_due(now: datetime | None = None) -> list[int]:
    """Plan charges for every tenant with an active enrollment (the hourly schedule)."""
    now = now or _now()
    table = unscoped(AutopayEnrollment)
    rows = await table.select(table.tenant).where(table.status == "active").distinct()
    created: list[int] = []
    for tenant_id in sorted({int(r["tenant"]) for r in rows}):
        try:
            created += await plan_tenant(TenantScope(tenant_id), now)
        except Exception:
            log.exception("autopay of tenant %s: failed; next hour tries again", tenant_id)
    return created


async def customer_charges(
    scope: TenantScope, customer_id: int, limit: int = 20
) -> list[AutopayCharge]:
    """The customer's recent automatic charges (for the portal), newest first."""
    return await (
        scope.objects(AutopayCharge)
        .where(AutopayCharge.customer == customer_id, AutopayCharge.attempt > 0)
        .order_by(AutopayCharge.id, ascending=False)
        .limit(limit)
    )


__all__ = [
    "SCOPES",
    "TERMS_VERSION",
    "AutopayError",
    "begin_enrollment",
    "cancel_enrollment",
    "complete_enrollment",
    "current_enrollment",
    "pause_retries",
    "plan_tenant",
    "retry_days",
    "run_all_due",
    "run_charge",
    "settle",
]
