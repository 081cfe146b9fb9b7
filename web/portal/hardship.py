""" "No puedo pagar": ask why (without judgement), then offer what the tenant's policy allows.

Step 1 is a plain GET form (the reason travels in the query string, nothing is stored yet).
Step 2 shows, for that reason: a payment plan the customer can accept on the spot (with a preview
of its dates), a promise-to-pay date, a request for a person to review, and advice links.
"""

from __future__ import annotations

from datetime import date

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from recaudo.core.billing.account import account_view
from recaudo.core.collections.plans import (
    REASONS,
    PlanError,
    accept_plan,
    plan_offer,
    policy_of,
    record_promise,
    request_review,
    schedule,
)
from recaudo.core.common.money import Money
from recaudo.core.common.money_input import input_text
from recaudo.core.tables import Customer
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.amounts import page_locale, read_amount
from recaudo.web.portal.common import form_text, prefix_of, tenant_today
from recaudo.web.templating import render


@get("/no-puedo-pagar", name="portal:hardship", operation_id="portal_hardship")
async def hardship_start(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template:
    return await render(request, "portal/hardship.html", tenant, customer=customer, reasons=REASONS)


def _int(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() and len(text) < 4 else default


async def _options_page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    customer: Customer,
    reason: str,
    *,
    installments: int | None = None,
    down_text: str = "",
    error: str = "",
    status_code: int = 200,
) -> Template:
    policy = policy_of(tenant.policy)
    today = tenant_today(tenant)
    offer = await plan_offer(scope, int(customer.id), policy)
    preview, preview_error, down = [], "", 0
    if offer is not None:
        installments = installments or min(offer.max_installments, 3)
        down = offer.min_down_payment
        if down_text:
            typed, preview_error = read_amount(request, tenant, down_text, offer.currency)
            down = typed.amount if typed is not None else down
        if not preview_error:
            try:
                preview = schedule(offer.total, down, installments, today, policy)
            except PlanError as exc:
                preview_error = str(exc)
    view = await account_view(scope, int(customer.id), today)
    return await render(
        request,
        "portal/hardship_options.html",
        tenant,
        status_code=status_code,
        customer=customer,
        reason=reason,
        policy=policy,
        offer=offer,
        preview=preview,
        installments=installments,
        down=down,
        preview_error=preview_error,
        error=error,
        view=view,
        today=today,
        disputable=[i for i in view.invoices if not i.disputed],
        down_value=input_text(Money(offer.currency, down), page_locale(request, tenant))
        if offer
        else "",
    )


@get(
    "/no-puedo-pagar/opciones",
    name="portal:hardship_options",
    operation_id="portal_hardship_options",
)
async def hardship_options(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template | Redirect:
    reason = request.query_params.get("motivo", "")
    if reason not in REASONS:
        return await render(
            request,
            "portal/hardship.html",
            tenant,
            status_code=400,
            customer=customer,
            reasons=REASONS,
            error="Elige un motivo de la lista.",
            error_field="motivo",
        )
    return await _options_page(
        request,
        tenant,
        tenant_scope,
        customer,
        reason,
        installments=_int(request.query_params.get("cuotas"), 0) or None,
        down_text=str(request.query_params.get("inicial") or "")[:20],
    )


@post("/no-puedo-pagar/plan", name="portal:hardship_plan", operation_id="portal_hardship_plan")
async def hardship_plan(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template | Redirect:
    form = await request.form()
    reason = form_text(form, "motivo", 30)
    installments = _int(form_text(form, "cuotas", 3), 0)
    down_text = form_text(form, "inicial", 20)
    offer = await plan_offer(tenant_scope, int(customer.id), policy_of(tenant.policy))
    try:
        if offer is None:
            raise PlanError("No hay un plan de pagos disponible para tu cuenta en este momento.")
        typed, problem = read_amount(request, tenant, down_text or "0", offer.currency)
        if typed is None:
            raise PlanError(problem)
        down = typed.amount
        await accept_plan(
            tenant_scope,
            int(customer.id),
            tenant_today(tenant),
            policy_of(tenant.policy),
            installments=installments,
            down_payment=down,
            reason=reason,
        )
    except PlanError as exc:
        return await _options_page(
            request,
            tenant,
            tenant_scope,
            customer,
            reason if reason in REASONS else "other",
            installments=installments or None,
            down_text=down_text,
            error=str(exc),
            status_code=400,
        )
    return Redirect(f"{prefix_of(request, tenant)}/estado-de-cuenta?aviso=plan", status_code=303)


@post(
    "/no-puedo-pagar/promesa",
    name="portal:hardship_promise",
    operation_id="portal_hardship_promise",
)
async def hardship_promise(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template | Redirect:
    form = await request.form()
    reason = form_text(form, "motivo", 30)
    try:
        try:
            when = date.fromisoformat(form_text(form, "fecha", 10))
        except ValueError:
            raise PlanError("Elige una fecha válida.") from None
        await record_promise(
            tenant_scope,
            int(customer.id),
            tenant_today(tenant),
            policy_of(tenant.policy),
            reason=reason,
            promise_date=when,
            message=form_text(form, "mensaje", 2000),
        )
    except PlanError as exc:
        return await _options_page(
            request,
            tenant,
            tenant_scope,
            customer,
            reason if reason in REASONS else "other",
            error=str(exc),
            status_code=400,
        )
    return Redirect(f"{prefix_of(request, tenant)}/estado-de-cuenta?aviso=promesa", status_code=303)


@post(
    "/no-puedo-pagar/revision", name="portal:hardship_review", operation_id="portal_hardship_review"
)
async def hardship_review(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template | Redirect:
    form = await request.form()
    reason = form_text(form, "motivo", 30)
    try:
        await request_review(
            tenant_scope, int(customer.id), reason=reason, message=form_text(form, "mensaje", 2000)
        )
    except PlanError as exc:
        return await _options_page(
            request, tenant, tenant_scope, customer, "other", error=str(exc), status_code=400
        )
    return Redirect(
        f"{prefix_of(request, tenant)}/estado-de-cuenta?aviso=revision", status_code=303
    )


ROUTES = [hardship_start, hardship_options, hardship_plan, hardship_promise, hardship_review]
