"""Paying: choose invoices (or an amount, or a plan installment), choose a method, pay, see result.

The pay form carries an idempotency key generated when it is rendered. Submitting it twice (a
double click, a reload, two tabs) reaches the same ledger payment and the same stored checkout,
so the customer is never charged twice. The result page asks the provider about a payment still
in flight (throttled) and, with htmx, polls until the payment settles.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from recaudo.core.billing.account import checkout_of, customer_payment, payment_allocations
from recaudo.core.common.jsonfield import loads
from recaudo.core.common.local_cache import LocalCache
from recaudo.core.common.money import Money
from recaudo.core.common.money_input import example
from recaudo.core.payments import expiry
from recaudo.core.payments.checkout import CheckoutError, refresh_status, start_once
from recaudo.core.payments.expiry import is_late
from recaudo.core.payments.ledger import PaymentError, create_payment
from recaudo.core.payments.method import PAYMENT_STATUSES, PaymentMethod
from recaudo.core.payments.registry import (
    all_methods,
    method_fees,
    method_options,
    usable_methods,
)
from recaudo.core.payments.selection import (
    NOTHING_PICKED,
    Selection,
    SelectionError,
    UnknownInstallment,
    amount_to_charge,
    select,
)
from recaudo.core.platform.context import PluginContext, context_for
from recaudo.core.tables import Customer
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope, as_id
from recaudo.tenants.service import tenant_info
from recaudo.web.amounts import page_locale, read_amount
from recaudo.web.deps import settings_of
from recaudo.web.portal.access import portal_base
from recaudo.web.portal.common import (
    form_ids,
    form_text,
    gettext,
    is_htmx,
    not_found,
    prefix_of,
)
from recaudo.web.templating import render
from recaudo.web.tenancy import PAGE_CACHE_SECONDS

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Statuses after which the result page stops polling the provider.
FINAL = tuple(s for s in PAYMENT_STATUSES if s not in ("pending", "in_process"))


async def selection_from(
    scope: TenantScope, tenant: Tenant, customer: Customer, params: Any
) -> Selection:
    """Read the selection from query or form values (:func:`selection.select` decides)."""
    installment = str(params.get("cuota") or "")
    try:
        return await select(
            scope,
            int(customer.id),
            str(tenant.currency),
            installment_id=(as_id(installment) or 0) if installment.isdigit() else None,
            everything=bool(params.get("todo")),
            invoice_ids=form_ids(params, "factura") if hasattr(params, "getall") else [],
            picking=bool(params.get("seleccion")),
        )
    except UnknownInstallment as exc:
        raise not_found(str(exc)) from exc


def _json_list(value: Any) -> list[Any]:
    data = loads(value, [])
    return data if isinstance(data, list) else []


async def _methods(
    scope: TenantScope, tenant: Tenant, currency: str, amount: int | None
) -> list[dict[str, Any]]:
    """Only methods that can take this payment now: enabled, allowed, configured."""
    info = tenant_info(tenant)
    out = []
    for plugin, method, ctx in await usable_methods(scope, info, currency):
        fees = (
            method_fees(plugin, method, Money(currency, amount), dict(ctx.settings), info.id)
            if amount
            else []
        )
        options = method_options(plugin, method, info)
        out.append({"plugin": plugin, "method": method, "fees": fees, "options": options})
    return out


# Whether a tenant's customers can pay online, for the statement (the pay page reads it fresh).
_online: LocalCache[tuple[int, str], bool] = LocalCache("online payment", max_entries=1_000)


async def can_pay_online(scope: TenantScope, tenant: Tenant) -> bool:
    """Does any usable method exist? Reused for a few seconds: the statement is a hot page."""
    key = (scope.tenant_id, str(tenant.currency))
    cached = _online.get(key, max_age=PAGE_CACHE_SECONDS)
    if cached is None:
        info = tenant_info(tenant)
        cached = bool(await usable_methods(scope, info, str(tenant.currency)))
        _online.put(key, cached)
    return cached


async def _pay_page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    customer: Customer,
    selection: Selection,
    *,
    error: str = "",
    error_field: str = "",
    status_code: int = 200,
    key: str = "",
    amount_text: str = "",
) -> Template:
    methods = await _methods(scope, tenant, selection.currency, selection.total)
    return await render(
        request,
        "portal/pay.html",
        tenant,
        status_code=status_code,
        customer=customer,
        sel=selection,
        methods=methods,
        error=error,
        error_field=error_field,
        key=key or secrets.token_urlsafe(24),
        amount_text=amount_text,
        amount_example=example(selection.currency, page_locale(request, tenant)),
    )


@get("/pagar", name="portal:pay", operation_id="portal_pay")
async def pay_form(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template:
    selection = await selection_from(tenant_scope, tenant, customer, request.query_params)
    error = ""
    if selection.mode == "invoices" and not selection.invoices:
        error = NOTHING_PICKED
    return await _pay_page(
        request,
        tenant,
        tenant_scope,
        customer,
        selection,
        error=error,
        status_code=400 if error else 200,
    )


async def _method_choice(
    form: FormMultiDict, scope: TenantScope, tenant: Tenant, currency: str
) -> tuple[str, PaymentMethod, str, PluginContext] | None:
    """The method the form names, if the pay page may offer it (a forged name gets nothing)."""
    chosen = form_text(form, "metodo", 120)
    name, _, option = chosen.partition(":")
    info = tenant_info(tenant)
    for plugin, method, ctx in await usable_methods(scope, info, currency):
        if method.name == name:
            codes = {code for code, _label in method_options(plugin, method, info)}
            if option and option not in codes:
                return None
            return plugin, method, option, ctx
    return None


@post("/pagar", name="portal:pay_submit", operation_id="portal_pay_submit")
async def pay_submit(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
) -> Template | Redirect:
    form = await request.form()
    _ = gettext(request, tenant)
    selection = await selection_from(tenant_scope, tenant, customer, form)
    key = form_text(form, "clave", 80)
    amount_text = form_text(form, "monto", 30)

    async def fail(message: str, status: int = 400, field: str = "") -> Template:
        return await _pay_page(
            request,
            tenant,
            tenant_scope,
            customer,
            selection,
            error=message,
            error_field=field,
            status_code=status,
            key=key,
            amount_text=amount_text,
        )

    if not KEY_RE.match(key):
        return await fail("El formulario expiró. Revisa los datos y vuelve a intentarlo.")
    choice = await _method_choice(form, tenant_scope, tenant, selection.currency)
    if choice is None:
        return await fail("Elige un medio de pago.", field="metodo")
    plugin, method, option, method_ctx = choice
    typed = None
    if selection.mode == "amount":
        parsed, problem = read_amount(request, tenant, amount_text, selection.currency)
        if parsed is None:
            return await fail(problem, field="monto")
        typed = parsed.amount
    try:
        amount = amount_to_charge(selection, typed)
    except SelectionError as exc:
        return await fail(str(exc), field=exc.field)
    try:
        payment = await create_payment(
            tenant_scope,
            customer_id=int(customer.id),
            method=method.name,
            currency=selection.currency,
            idempotency_key=f"portal:{int(customer.id)}:{key}",
            invoice_ids=selection.invoice_ids or None,
            amount=amount,
        )
    except PaymentError:
        return await fail("No pudimos preparar el pago: alguna factura cambió. Revisa y reintenta.")
    if is_late(payment, expiry.now()):
        # An old form sent again after a newer checkout replaced it, or after it expired.
        return await fail("Este pago ya no es válido. Revisa tus facturas y vuelve a intentarlo.")
    extra: dict[str, Any] = {"option": option}
    if selection.installment is not None:
        extra["installment"] = int(selection.installment.id)
    numbers = ", ".join(i.number for i in selection.invoices[:10])
    description = (_("Pago a %(name)s") % {"name": tenant.name}) + (
        f" ({numbers})" if numbers else ""
    )
    try:
        result = await start_once(
            tenant_scope,
            payment,
            method=method,
            ctx=method_ctx,
            customer=customer,
            description=description[:300],
            return_url=f"{portal_base(request, tenant)}/pagos/{int(payment.id)}",
            notification_url=f"{settings_of(request).base_url}/hooks/{plugin}/{tenant.slug}",
            option=option,
            extra=extra,
        )
    except CheckoutError:
        return await fail("El medio de pago no respondió. Intenta de nuevo o elige otro.", 503)
    if result.get("kind") == "redirect" and _safe_redirect(str(result.get("redirect_url", ""))):
        return Redirect(str(result["redirect_url"]), status_code=303)
    return Redirect(f"{prefix_of(request, tenant)}/pagos/{int(payment.id)}", status_code=303)


def _safe_redirect(url: str) -> bool:
    return url.startswith("https://") or (url.startswith("/") and not url.startswith("//"))


@get("/pagos/{payment_id:int}", name="portal:payment", operation_id="portal_payment")
async def payment_result(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    customer: NamedDependency[Customer],
    payment_id: FromPath[int],
) -> Template | Response[bytes]:
    payment = await customer_payment(tenant_scope, int(customer.id), payment_id)
    if payment is None:
        raise not_found("Pago no encontrado")
    owner = all_methods().get(str(payment.method))
    if owner is not None:
        ctx = await context_for(tenant_info(tenant), owner[0])
        payment = await refresh_status(tenant_scope, payment, owner[1], ctx)
    payment = expiry.as_seen(payment, expiry.now())
    previous = request.query_params.get("estado")
    if is_htmx(request) and previous == payment.status:
        return Response(b"", status_code=204)
    checkout = checkout_of(payment)
    retry_ids = [int(i) for i in _json_list(payment.requested_invoices) if str(i).isdigit()]
    return await render(
        request,
        "portal/_payment_status.html" if is_htmx(request) else "portal/payment.html",
        tenant,
        customer=customer,
        payment=payment,
        checkout=checkout,
        instructions=_instructions(checkout),
        final=payment.status in FINAL,
        method_label=owner[1].label if owner else payment.method,
        allocations=await payment_allocations(tenant_scope, int(payment.id)),
        retry_ids=retry_ids,
    )


_B64 = re.compile(r"^[A-Za-z0-9+/=]{20,200000}$")


def _instructions(checkout: dict[str, Any]) -> dict[str, Any]:
    """Instruction values that are safe to show (URLs only https, images only base64 PNG)."""
    data = checkout.get("instructions") or {}
    if not isinstance(data, dict):
        return {}
    out = {k: str(v) for k, v in data.items() if isinstance(v, str | int) and str(v)}
    if not out.get("voucher_url", "").startswith("https://"):
        out.pop("voucher_url", None)
    if not _B64.match(out.get("qr_code_base64", "")):
        out.pop("qr_code_base64", None)
    return out


ROUTES = [pay_form, pay_submit, payment_result]
