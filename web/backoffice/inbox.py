"""The inbox page (tabs with counts) and the ticket, dispute and "No puedo pagar" decisions.

The inbox handler serves the whole page, or only its panel when htmx polls it, so the counts stay
fresh with JavaScript and the page still works without it. Acting routes answer with a 303 to
the item's page, which shows the new state.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.access.staff import can_act
from recaudo.core.casework import review as inbox
from recaudo.core.collections.plans import Offer, plan_offer, policy_of
from recaudo.core.common.money import Money
from recaudo.core.common.money_input import input_text
from recaudo.core.tables import Customer, StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.amounts import page_locale, read_amount
from recaudo.web.backoffice.common import form_data, staff_base, staff_page
from recaudo.web.backoffice.plugins import tenant_failures
from recaudo.web.backoffice.team import checklist_for
from recaudo.web.portal.common import tenant_today
from recaudo.workers import dead_jobs

TABS = ("chats", "proofs", "disputes", "hardship", "tickets")


async def _tab_items(scope: TenantScope, tab: str) -> dict[str, Any]:
    if tab == "chats":
        return {"chats": await inbox.chats_to_answer(scope)}
    if tab == "proofs":
        return {"proofs": await inbox.pending_proofs(scope)}
    if tab == "disputes":
        return {"disputes": await inbox.open_disputes(scope)}
    if tab == "hardship":
        return {
            "requests": await inbox.hardship_to_review(scope),
            "plans": await inbox.plans_to_review(scope),
        }
    return {"tickets": await inbox.open_tickets(scope)}


@get("/", name="staff:inbox", operation_id="staff_inbox")
async def inbox_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    tab = request.query_params.get("tab", "chats")
    tab = tab if tab in TABS else "chats"
    fragment = request.headers.get("hx-request") == "true" and not request.headers.get("hx-boosted")
    return await staff_page(
        request,
        "staff/_inbox_panel.html" if fragment else "staff/inbox.html",
        tenant,
        staff,
        tab=tab,
        tabs=TABS,
        counts=await inbox.counts(tenant_scope),
        failed_jobs=await dead_jobs.tenant_failed_count(tenant_scope),
        plugin_failures=0 if fragment else await _plugin_failures(tenant_scope, staff),
        checklist=None if fragment else await checklist_for(tenant_scope, tenant, staff),
        **await _tab_items(tenant_scope, tab),
    )


async def _plugin_failures(scope: TenantScope, staff: StaffUser) -> int:
    """How many plugin hooks failed recently, for the notice (staff who can act only)."""
    return len(await tenant_failures(scope)) if can_act(str(staff.role)) else 0


# --- tickets ------------------------------------------------------------------------------------


@get("/tickets/{ticket_id:int}", name="staff:ticket", operation_id="staff_ticket")
async def ticket_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    ticket_id: FromPath[int],
) -> Template:
    row = await inbox.ticket(tenant_scope, ticket_id)
    customer = await tenant_scope.get(Customer, int(row.customer)) if row.customer else None
    return await staff_page(
        request,
        "staff/ticket.html",
        tenant,
        staff,
        ticket=row,
        replies=await inbox.ticket_replies(tenant_scope, int(row.id)),
        reply_to=inbox.reply_address(row, customer),
    )


@post(
    "/tickets/{ticket_id:int}/reply", name="staff:ticket_reply", operation_id="staff_ticket_reply"
)
async def ticket_reply(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    ticket_id: FromPath[int],
) -> Redirect:
    form = await form_data(request)
    await inbox.reply_ticket(tenant_scope, acting_staff, ticket_id, form.get("body"))
    return Redirect(f"{staff_base(request)}/tickets/{ticket_id}#respuestas", status_code=303)


@post(
    "/tickets/{ticket_id:int}/close", name="staff:ticket_close", operation_id="staff_ticket_close"
)
async def ticket_close(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    ticket_id: FromPath[int],
) -> Redirect:
    form = await form_data(request)
    await inbox.close_ticket(tenant_scope, acting_staff, ticket_id, form.get("note", ""))
    return Redirect(f"{staff_base(request)}/tickets/{ticket_id}", status_code=303)


# --- disputes -----------------------------------------------------------------------------------


@get("/disputes/{dispute_id:int}", name="staff:dispute", operation_id="staff_dispute")
async def dispute_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    dispute_id: FromPath[int],
) -> Template:
    row, invoice, customer = await inbox.dispute(tenant_scope, dispute_id)
    return await staff_page(
        request,
        "staff/dispute.html",
        tenant,
        staff,
        dispute=row,
        invoice=invoice,
        customer=customer,
    )


@post(
    "/disputes/{dispute_id:int}/resolve",
    name="staff:dispute_resolve",
    operation_id="staff_dispute_resolve",
)
async def dispute_resolve(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    dispute_id: FromPath[int],
) -> Redirect:
    form = await form_data(request)
    await inbox.resolve_dispute(
        tenant_scope, acting_staff, dispute_id, form.get("decision"), form.get("reason")
    )
    return Redirect(f"{staff_base(request)}/disputes/{dispute_id}", status_code=303)


# --- "No puedo pagar" ---------------------------------------------------------------------------


@get("/hardship/{request_id:int}", name="staff:hardship", operation_id="staff_hardship")
async def hardship_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    request_id: FromPath[int],
) -> Template:
    row, customer = await inbox.hardship(tenant_scope, request_id)
    policy = policy_of(tenant.policy)
    offer = None
    if row.status == "open" and row.plan is None:
        offer = await plan_offer(tenant_scope, int(customer.id), policy)
    return await staff_page(
        request,
        "staff/hardship.html",
        tenant,
        staff,
        item=row,
        customer=customer,
        offer=offer,
        down_value=_down_value(request, tenant, offer),
    )


def _down_value(request: Request, tenant: Tenant, offer: Offer | None) -> str:
    if offer is None:
        return ""
    return input_text(Money(offer.currency, offer.min_down_payment), page_locale(request, tenant))


def _plan_terms(
    request: Request, tenant: Tenant, form: dict[str, str], currency: str
) -> inbox.PlanTerms:
    """The plan staff typed on the review form (the policy's limits are checked when granted)."""
    count = form.get("cuotas", "").strip()
    if not count.isdigit() or len(count) > 3:
        raise inbox.InboxError("Elige el número de cuotas.")
    down, problem = read_amount(request, tenant, form.get("enganche", "") or "0", currency)
    if down is None:
        raise inbox.InboxError(problem)
    return inbox.PlanTerms(int(count), down.amount, tenant_today(tenant), policy_of(tenant.policy))


@post(
    "/hardship/{request_id:int}/review",
    name="staff:hardship_review",
    operation_id="staff_hardship_review",
)
async def hardship_review(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    request_id: FromPath[int],
) -> Redirect:
    form = await form_data(request)
    terms = None
    if form.get("decision") == "approve_plan":
        row, _customer = await inbox.hardship(tenant_scope, request_id)
        offer = await plan_offer(tenant_scope, int(row.customer), policy_of(tenant.policy))
        terms = _plan_terms(request, tenant, form, offer.currency if offer else tenant.currency)
    await inbox.review_hardship(
        tenant_scope, acting_staff, request_id, form.get("decision"), form.get("note"), terms
    )
    return Redirect(f"{staff_base(request)}/hardship/{request_id}", status_code=303)


@get("/plans/{plan_id:int}", name="staff:plan", operation_id="staff_plan")
async def plan_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    plan_id: FromPath[int],
) -> Template:
    row, customer, installments = await inbox.plan(tenant_scope, plan_id)
    return await staff_page(
        request,
        "staff/plan.html",
        tenant,
        staff,
        plan=row,
        customer=customer,
        installments=installments,
    )


@post("/plans/{plan_id:int}/review", name="staff:plan_review", operation_id="staff_plan_review")
async def plan_review(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    plan_id: FromPath[int],
) -> Redirect:
    form = await form_data(request)
    await inbox.review_plan(
        tenant_scope, acting_staff, plan_id, form.get("decision"), form.get("note")
    )
    return Redirect(f"{staff_base(request)}/plans/{plan_id}", status_code=303)


ROUTES = [
    inbox_page,
    ticket_page,
    ticket_reply,
    ticket_close,
    dispute_page,
    dispute_resolve,
    hardship_page,
    hardship_review,
    plan_page,
    plan_review,
]
