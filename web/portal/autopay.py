"""The portal's "Pago automático" page: see, enroll, change the card, cancel.

Enrolling sends the customer to the payment method's own "save card" page (the card number is
typed there, never here) and back to :func:`autopay_return` with a provider token and the
one-time ``estado`` of the pending enrollment. Every change is a POST with CSRF; the consent
(terms version, what is charged, reminder days, card label) is written to the audit log.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.payments.autopay import (
    REMINDER_DAYS,
    SCOPES,
    AutopayError,
    begin_enrollment,
    cancel_enrollment,
    complete_enrollment,
    current_enrollment,
    customer_charges,
    pending_enrollment,
    retry_days,
    saved_instrument_methods,
    setup_checkout,
)
from recaudo.core.payments.checkout import log as checkout_log
from recaudo.core.platform import guard
from recaudo.core.tables import Customer
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope, as_id
from recaudo.web.portal.access import portal_base
from recaudo.web.portal.common import form_text, not_found, prefix_of
from recaudo.web.templating import render

PATH = "/pago-automatico"
NOTICES = ("inscrito", "cancelado", "sin-cambios")


def _actor(customer: Customer) -> str:
    return f"customer:{int(customer.id)}"


async def _page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    customer: Customer,
    *,
    error: str = "",
    error_field: str = "",
    status_code: int = 200,
) -> Template:
    methods = await saved_instrument_methods(scope, tenant, str(tenant.currency))
    notice = request.query_params.get("aviso", "")
    return await render(
        request,
        "portal/autopay.html",
        tenant,
        status_code=status_code,
        customer=customer,
        enrollment=await current_enrollment(scope, int(customer.id)),
        charges=await customer_charges(scope, int(customer.id)),
        methods=[{"plugin": p, "method": m} for p, m, _ctx in methods],
        scopes=SCOPES,
        reminder_days=REMINDER_DAYS,
        retry_days=retry_days(tenant.policy),
        notice=notice if notice in NOTICES else "",
        error=error,
        error_field=error_field,
    )


@get(PATH, name="portal:autopay", operation_id="portal_autopay")
async def autopay_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template:
    return await _page(request, tenant, tenant_scope, customer)


@post(PATH + "/inscribir", name="portal:autopay_enroll", operation_id="portal_autopay_enroll")
async def autopay_enroll(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template | Redirect:
    """Start enrolling (or changing the card): a pending enrollment, then the provider's page."""
    form = await request.form()

    async def fail(message: str, field: str = "", status: int = 400) -> Template:
        return await _page(
            request,
            tenant,
            tenant_scope,
            customer,
            error=message,
            error_field=field,
            status_code=status,
        )

    if form_text(form, "acepto", 5) != "si":
        return await fail(
            "Para activar el pago automático debes aceptar las condiciones.", "acepto"
        )
    chosen = form_text(form, "metodo", 60)
    methods = await saved_instrument_methods(tenant_scope, tenant, str(tenant.currency))
    found = next(((p, m, c) for p, m, c in methods if m.name == chosen), None)
    if found is None:
        return await fail("Elige un medio de pago.", "metodo")
    plugin, method, ctx = found
    days_text = form_text(form, "aviso", 3)
    try:
        enrollment = await begin_enrollment(
            tenant_scope,
            int(customer.id),
            plugin=plugin,
            method=method,
            what=form_text(form, "cobrar", 20),
            days_before=int(days_text) if days_text.isdigit() else -1,
        )
    except AutopayError as exc:
        return await fail(str(exc), "cobrar" if "pagar" in str(exc) else "aviso")
    query = urlencode({"estado": str(enrollment.setup_token)})
    back = f"{portal_base(request, tenant)}{PATH}/tarjeta/{int(enrollment.id)}?{query}"
    checkout = setup_checkout(enrollment, customer, str(tenant.currency), back)
    try:
        async with guard.watch(plugin, "start_instrument_setup", tenant_id=tenant_scope.tenant_id):
            result = await method.start_instrument_setup(ctx, checkout)
    except Exception:
        checkout_log.warning("autopay setup with %s failed", plugin, exc_info=True)
        return await fail(
            "El medio de pago no respondió. Intenta de nuevo o elige otro.", status=503
        )
    url = str(result.redirect_url or "")
    if result.kind != "redirect" or not (
        url.startswith("https://") or (url.startswith("/") and not url.startswith("//"))
    ):
        return await fail("Ese medio de pago no permite guardar una tarjeta.", "metodo")
    return Redirect(url, status_code=303)


@get(
    PATH + "/tarjeta/{enrollment_id:str}",
    name="portal:autopay_return",
    operation_id="portal_autopay_return",
)
async def autopay_return(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
    enrollment_id: FromPath[str],
) -> Template | Redirect:
    """Back from the provider's page: save the instrument and activate the enrollment.

    Only the customer's own pending enrollment with its one-time ``estado`` is accepted; any
    other id (another customer's, another tenant's) is a 404.
    """
    row = await pending_enrollment(
        tenant_scope,
        int(customer.id),
        as_id(enrollment_id) or 0,
        str(request.query_params.get("estado", ""))[:80],
    )
    if row is None:
        raise not_found("Inscripción no encontrada")
    prefix = prefix_of(request, tenant)
    token = str(request.query_params.get("token", ""))[:2000]
    if not token:
        return Redirect(f"{prefix}{PATH}?aviso=sin-cambios", status_code=303)
    methods = await saved_instrument_methods(tenant_scope, tenant, str(tenant.currency))
    found = next(((p, m, c) for p, m, c in methods if m.name == row.method), None)
    if found is None:
        raise not_found("Medio de pago no disponible")
    plugin, method, ctx = found
    checkout = setup_checkout(row, customer, str(tenant.currency), "")
    try:
        async with guard.watch(plugin, "save_instrument", tenant_id=tenant_scope.tenant_id):
            instrument = await method.save_instrument(ctx, checkout, token)
    except Exception:
        checkout_log.warning("autopay: %s could not save the instrument", plugin, exc_info=True)
        return await _page(
            request,
            tenant,
            tenant_scope,
            customer,
            error="No pudimos guardar la tarjeta. Intenta de nuevo.",
            status_code=400,
        )
    try:
        await complete_enrollment(tenant_scope, row, instrument, actor=_actor(customer))
    except AutopayError as exc:
        return await _page(request, tenant, tenant_scope, customer, error=str(exc), status_code=409)
    return Redirect(f"{prefix}{PATH}?aviso=inscrito", status_code=303)


@post(PATH + "/cancelar", name="portal:autopay_cancel", operation_id="portal_autopay_cancel")
async def autopay_cancel(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Redirect:
    cancelled = await cancel_enrollment(tenant_scope, int(customer.id), actor=_actor(customer))
    notice = "cancelado" if cancelled else "sin-cambios"
    return Redirect(f"{prefix_of(request, tenant)}{PATH}?aviso={notice}", status_code=303)


ROUTES: list[Any] = [autopay_page, autopay_enroll, autopay_return, autopay_cancel]
