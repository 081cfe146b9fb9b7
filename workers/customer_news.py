"""Telling customers what staff decided about their proof of payment, dispute or "No puedo pagar"
request, and about money the ledger kept as credit (a payment for invoices already paid, or for a
checkout that had ended).

Decisions enqueue a ``tell_customer`` job in their own transaction (``core/casework/review/``);
this handler renders the message in the customer's language with the tenant's branding and sends it
through the tenant's notification channels, with a one-time link back to the portal. Delivery is
at least once: a crash after sending and before the job is marked done sends it again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment

from recaudo.core.access.links import deep_link
from recaudo.core.config import active
from recaudo.core.messaging.branding import branding_for
from recaudo.core.messaging.i18n import formatter_for, pick_language, translations
from recaudo.core.messaging.notify import send_to_customer
from recaudo.core.messaging.rendering import make_environment, plugin_template_dirs
from recaudo.core.platform.jobs import Job
from recaudo.core.platform.values import OutgoingMessage
from recaudo.core.tables import (
    CreditEntry,
    Customer,
    Dispute,
    HardshipRequest,
    Invoice,
    Payment,
    PaymentPlan,
    PaymentProof,
    PlanInstallment,
    Ticket,
    TicketReply,
)
from recaudo.tenants.models import Tenant
from recaudo.tenants.plugin_config import enabled_plugins
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info
from recaudo.tenants.urls import portal_base_url

_environment: Environment | None = None


def _templates() -> Environment:
    global _environment
    if _environment is None:
        _environment = make_environment(plugin_template_dirs())
    return _environment


async def _decision(scope: TenantScope, about: str, row_id: int) -> dict[str, Any] | None:
    """What to tell, or ``None`` when there is nothing (row gone, or not decided)."""
    if about == "proof":
        proof = await scope.get(PaymentProof, row_id)
        if proof is None or proof.status not in ("confirmed", "rejected"):
            return None
        # A confirmed proof tells the amount staff recorded (they may have corrected it).
        payment = await scope.get(Payment, int(proof.payment)) if proof.payment else None
        return {
            "customer_id": int(proof.customer),
            "invoice_id": None,
            "outcome": f"proof_{proof.status}",
            "amount": int(payment.amount) if payment is not None else int(proof.amount),
            "currency": str(proof.currency),
            "reason": str(proof.decision_reason or ""),
            "number": "",
        }
    if about == "dispute":
        dispute = await scope.get(Dispute, row_id)
        if dispute is None or dispute.status not in ("accepted", "rejected"):
            return None
        invoice = await scope.get(Invoice, int(dispute.invoice))
        return {
            "customer_id": int(dispute.customer),
            "invoice_id": int(dispute.invoice),
            "outcome": f"dispute_{dispute.status}",
            "amount": 0,
            "currency": "",
            "reason": str(dispute.decision_note or ""),
            "number": str(invoice.number) if invoice else "",
        }
    if about == "hardship":
        request = await scope.get(HardshipRequest, row_id)
        if request is None or request.status not in ("approved", "declined"):
            return None
        plan = await scope.get(PaymentPlan, int(request.plan)) if request.plan else None
        return await _hardship_news(scope, int(request.customer), request, plan)
    if about == "plan":
        plan = await scope.get(PaymentPlan, row_id)
        if plan is None or plan.status not in ("active", "cancelled"):
            return None
        request = (
            await scope.objects(HardshipRequest)
            .where(HardshipRequest.plan == plan.id)
            .order_by(HardshipRequest.id, ascending=False)
            .first()
        )
        return await _hardship_news(scope, int(plan.customer), request, plan)
    if about == "payment":
        return await _payment_credit(scope, row_id)
    raise ValueError(f"unknown decision kind {about!r}")


#: Credit the ledger keeps from money the customer meant for invoices (``ledger._allocate``).
UNEXPECTED_CREDIT = ("already_paid", "late_payment")


async def _payment_credit(scope: TenantScope, payment_id: int) -> dict[str, Any] | None:
    payment = await scope.get(Payment, payment_id)
    if payment is None:
        return None
    rows = await scope.select(CreditEntry, CreditEntry.amount).where(
        CreditEntry.payment == payment_id, CreditEntry.reason.is_in(list(UNEXPECTED_CREDIT))
    )
    credit = sum(int(row["amount"]) for row in rows)
    if credit <= 0:
        return None
    return {
        "customer_id": int(payment.customer),
        "invoice_id": None,
        "outcome": "payment_credit",
        "amount": credit,
        "currency": str(payment.currency),
        "reason": "",
        "number": f"#{payment.id}",
    }


async def _hardship_news(
    scope: TenantScope,
    customer_id: int,
    request: HardshipRequest | None,
    plan: PaymentPlan | None,
) -> dict[str, Any]:
    """A "No puedo pagar" decision: the plan granted (with its first payment), a recorded
    agreement, or a refusal; the staff member's note is the message."""
    declined = (request is not None and request.status == "declined") or (
        plan is not None and plan.status == "cancelled"
    )
    news: dict[str, Any] = {
        "customer_id": customer_id,
        "invoice_id": None,
        "outcome": "hardship_declined" if declined else "hardship_approved",
        "amount": 0,
        "currency": "",
        "reason": str(request.decision_note or "") if request is not None else "",
        "number": "",
    }
    if plan is not None and plan.status == "active" and not declined:
        first = (
            await scope.objects(PlanInstallment)
            .where(PlanInstallment.plan == plan.id)
            .order_by(PlanInstallment.number)
            .first()
        )
        news.update(
            outcome="plan_granted",
            amount=int(first.amount) if first else 0,
            currency=str(plan.currency),
            plan_total=int(plan.total),
            plan_down=int(plan.down_payment),
            plan_count=int(plan.installments_count),
            first_due=first.due_date if first else None,
        )
    return news


async def tell_customer(scope: TenantScope, payload: dict[str, Any]) -> None:
    decision = await _decision(scope, str(payload["about"]), int(payload["id"]))
    if decision is None:
        return
    customer = await scope.get(Customer, decision["customer_id"])
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    if customer is None or tenant is None:
        return
    settings = active()
    info = tenant_info(tenant)
    branding = await branding_for(info, await enabled_plugins(scope))
    preferred = str(customer.locale or "").split("_")[0] or None
    language = pick_language(None, preferred, tenant.locale)
    trans = translations(language)
    base = portal_base_url(str(tenant.slug), settings)
    link = await deep_link(scope, base, int(customer.id), decision["invoice_id"])
    context = {
        **decision,
        "_": trans.gettext,
        "ngettext": trans.ngettext,
        "branding": branding,
        "customer": customer,
        "link": link,
        "fmt": formatter_for(language, tenant.locale, tenant.timezone),
    }
    env = _templates()
    subjects = {
        "proof_confirmed": trans.gettext("Confirmamos tu pago"),
        "proof_rejected": trans.gettext("No pudimos confirmar tu comprobante de pago"),
        "dispute_accepted": trans.gettext("Tu aclaración fue aceptada"),
        "dispute_rejected": trans.gettext("Revisamos tu aclaración"),
        "payment_credit": trans.gettext("Recibimos tu pago: quedó como saldo a favor"),
        "plan_granted": trans.gettext("Tu plan de pagos está listo"),
        "hardship_approved": trans.gettext("Revisamos tu solicitud"),
        "hardship_declined": trans.gettext("Revisamos tu solicitud"),
    }
    await send_to_customer(
        scope,
        info,
        customer,
        OutgoingMessage(
            to="",
            subject=f"{subjects[decision['outcome']]} · {branding.display_name}",
            text=env.get_template("email/decision.txt").render(context),
            html=env.get_template("email/decision.html").render(context),
            kind=decision["outcome"],
        ),
        secret_key=settings.secret_key,
        secrets=[link.rsplit("/", 1)[1]],
        keep_secrets_in_log=settings.dev_outbox,
    )


async def reply_ticket(scope: TenantScope, payload: dict[str, Any]) -> None:
    """E-mail a staff reply to a contact-form ticket through the tenant's channel.

    The reply row is the record: ``queued`` until handed to the channel, then ``sent``,
    ``failed``, ``waiting`` (no mail server yet: the notification log delivers it later) or
    ``no_channel`` (no e-mail channel enabled). A reply no longer queued is not sent again.
    """
    reply = await scope.get(TicketReply, int(payload["id"]))
    if reply is None or reply.status != "queued":
        return
    ticket = await scope.get(Ticket, int(reply.ticket))
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    if ticket is None or tenant is None:
        return
    customer = await scope.get(Customer, int(ticket.customer)) if ticket.customer else None
    preferred = str(customer.locale or "").split("_")[0] if customer is not None else ""
    language = pick_language(None, preferred or None, tenant.locale)
    trans = translations(language)
    info = tenant_info(tenant)
    branding = await branding_for(info, await enabled_plugins(scope))
    # Anonymous visitors have no customer row: a transient one carries the address to use.
    to = Customer(
        name=str(ticket.name or ""), email=str(reply.recipient), phone="", preferred_channel="email"
    )
    context = {
        "_": trans.gettext,
        "branding": branding,
        "ticket": ticket,
        "reply": reply,
        "fmt": formatter_for(language, tenant.locale, tenant.timezone),
    }
    env = _templates()
    entry = await send_to_customer(
        scope,
        info,
        to,
        OutgoingMessage(
            to="",
            subject=f"Re: {ticket.subject} · {branding.display_name}"[:300],
            text=env.get_template("email/ticket_reply.txt").render(context),
            html=env.get_template("email/ticket_reply.html").render(context),
            kind="ticket_reply",
        ),
        secret_key=active().secret_key,
        prefer=("email",),
    )
    status = "no_channel" if entry is None else str(entry.status)
    await scope.update(
        TicketReply, {TicketReply.status: status, TicketReply.sent_at: datetime.now(UTC)}
    ).where(TicketReply.id == reply.id)


JOBS = [
    Job("tell_customer", tell_customer, queue="messages"),
    Job("reply_ticket", reply_ticket, queue="messages"),
]
