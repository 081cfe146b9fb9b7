"""Back-office payments: the list (/pagos), one payment (/pagos/{id}), recording a manual payment,
refunding through the provider, and writing off an invoice (/facturas/{id}/castigo).

Thin adapters over :mod:`recaudo.core.payments.book` (reads), :mod:`recaudo.core.payments.manual`
and :mod:`recaudo.core.payments.refunds` (changes). Every change needs ``acting_staff`` (viewers
get a 403 before the handler runs) and is audited by the service. Bad input re-renders the form
with a 400 naming the field and changes nothing; another tenant's ids are 404.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.billing.account import invoice_payments
from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.casework import review as inbox
from recaudo.core.casework.review.common import actor
from recaudo.core.common.money import Money
from recaudo.core.common.money_input import input_text
from recaudo.core.payments.book import (
    FilterError,
    PaymentFilter,
    methods_in_use,
    payment_detail,
    payment_page,
)
from recaudo.core.payments.errors import PaymentError
from recaudo.core.payments.manual import (
    MANUAL_METHODS,
    invoice_write_offs,
    record_manual_payment,
    write_off,
)
from recaudo.core.payments.method import PAYMENT_STATUSES
from recaudo.core.payments.refunds import refund_payment
from recaudo.core.tables import Customer, Invoice, StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope, as_id
from recaudo.web.amounts import page_locale, read_amount
from recaudo.web.backoffice.common import form_data, staff_base, staff_page
from recaudo.web.backoffice.einvoices import panel as einvoice_panel
from recaudo.web.portal.common import tenant_today

NOT_FOUND = "Pago no encontrado."
INVOICE_NOT_FOUND = "Factura no encontrada."


def _date(text: str | None, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FilterError("Escribe la fecha así: 2026-01-31.", field) from None


def _page_number(text: str | None) -> int:
    value = as_id(text or "1")
    return value if value is not None and value <= 10_000 else 1


# --- list ---------------------------------------------------------------------------------------


@get("/pagos", name="staff:payments", operation_id="staff_payments")
async def payments_list(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    q = request.query_params
    values = {k: (q.get(k) or "").strip() for k in ("estado", "medio", "cliente", "desde", "hasta")}
    error, error_field = "", ""
    try:
        filters = PaymentFilter(
            status=values["estado"],
            method=values["medio"],
            customer=values["cliente"],
            since=_date(values["desde"], "desde"),
            until=_date(values["hasta"], "hasta"),
        ).check()
        page = await payment_page(
            tenant_scope, filters, _page_number(q.get("pagina")), str(tenant.timezone)
        )
    except FilterError as exc:
        error, error_field = str(exc), exc.field
        page = await payment_page(tenant_scope, PaymentFilter(), 1, str(tenant.timezone))
    query = urlencode({k: v for k, v in values.items() if v and k != error_field})
    return await staff_page(
        request,
        "staff/payments.html",
        tenant,
        staff,
        status_code=400 if error else 200,
        page=page,
        values=values,
        statuses=PAYMENT_STATUSES,
        methods=sorted(set(await methods_in_use(tenant_scope)) | set(MANUAL_METHODS)),
        query=query,
        error=error,
        error_field=error_field,
    )


# --- detail and refund --------------------------------------------------------------------------


async def _detail_page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    staff: StaffUser,
    payment_id: int,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    detail = await payment_detail(scope, payment_id)
    if detail is None:
        raise inbox.NotFound(NOT_FOUND)
    return await staff_page(
        request,
        "staff/payment.html",
        tenant,
        staff,
        status_code=status_code,
        d=detail,
        refund_key=secrets.token_urlsafe(16),
        **await einvoice_panel(scope, payment_id=payment_id),
        **{"values": {}, "error": "", "error_field": "", **extra},
    )


@get("/pagos/{payment_id:int}", name="staff:payment", operation_id="staff_payment")
async def payment_page_view(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    payment_id: FromPath[int],
) -> Template:
    return await _detail_page(request, tenant, tenant_scope, staff, payment_id)


@post(
    "/pagos/{payment_id:int}/reembolso",
    name="staff:payment_refund",
    operation_id="staff_payment_refund",
)
async def payment_refund(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    payment_id: FromPath[int],
) -> Template | Redirect:
    detail = await payment_detail(tenant_scope, payment_id)
    if detail is None:
        raise inbox.NotFound(NOT_FOUND)
    form = await form_data(request)
    reason = " ".join(form.get("motivo", "").split())
    key = form.get("clave", "").strip()[:60] or secrets.token_urlsafe(16)

    async def again(message: str, field: str) -> Template:
        return await _detail_page(
            request,
            tenant,
            tenant_scope,
            acting_staff,
            payment_id,
            status_code=400,
            error=message,
            error_field=field,
            values=form,
        )

    if detail.refundable <= 0:
        return await again(detail.refund_note, "")
    money, problem = read_amount(
        request, tenant, form.get("monto", ""), str(detail.payment.currency)
    )
    if money is None:
        return await again(problem, "monto")
    if money.amount <= 0:
        return await again("El monto debe ser mayor que cero.", "monto")
    if money.amount > detail.refundable:
        return await again("El monto es mayor que lo que queda por reembolsar.", "monto")
    if not reason or len(reason) > 500:
        return await again("Escribe el motivo del reembolso (máximo 500 caracteres).", "motivo")
    try:
        await refund_payment(
            tenant_scope,
            int(detail.payment.id),
            money.amount,
            idempotency_key=f"staff-refund:{key}",
            actor=actor(acting_staff),
            reason=reason,
        )
    except PaymentError as exc:
        return await again(str(exc), "monto")
    return Redirect(f"{staff_base(request)}/pagos/{payment_id}", status_code=303)


# --- record a manual payment --------------------------------------------------------------------


async def _customer(scope: TenantScope, text: str) -> Customer | None:
    text = text.strip()
    if not text or len(text) > 64:
        return None
    found = await scope.objects(Customer).where(Customer.number == text).first()
    if found is None and (pk := as_id(text)) is not None:
        found = await scope.get(Customer, pk)
    return found


async def _open_invoices(scope: TenantScope, customer_id: int) -> list[Invoice]:
    return (
        await scope.objects(Invoice)
        .where(Invoice.customer == customer_id, Invoice.status.is_in(list(OPEN_STATUSES)))
        .order_by(Invoice.due_date, Invoice.id)
    )


async def _new_form(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    staff: StaffUser,
    values: dict[str, Any],
    status_code: int = 200,
    error: str = "",
    error_field: str = "",
) -> Template:
    customer = await _customer(scope, str(values.get("cliente", "")))
    if values.get("cliente") and customer is None and not error:
        error, error_field, status_code = "No hay un cliente con ese número.", "cliente", 404
    invoices = await _open_invoices(scope, int(customer.id)) if customer else []
    currencies = sorted({str(tenant.currency)} | {str(i.currency) for i in invoices})
    return await staff_page(
        request,
        "staff/payment_new.html",
        tenant,
        staff,
        status_code=status_code,
        customer=customer,
        invoices=invoices,
        currencies=currencies,
        methods=MANUAL_METHODS,
        values=values,
        chosen={str(i) for i in values.get("facturas", [])},
        today=tenant_today(tenant),
        example=input_text(Money(currencies[0], 150_000), page_locale(request, tenant)),
        error=error,
        error_field=error_field,
    )


@get("/pagos/nuevo", name="staff:payment_new", operation_id="staff_payment_new")
async def payment_new(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    values: dict[str, Any] = {"cliente": (request.query_params.get("cliente") or "").strip()}
    return await _new_form(request, tenant, tenant_scope, staff, values)


@post("/pagos/nuevo", name="staff:payment_create", operation_id="staff_payment_create")
async def payment_create(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    form = await request.form()
    values: dict[str, Any] = {
        k: str(form.get(k) or "").strip()
        for k in ("cliente", "monto", "moneda", "medio", "referencia", "fecha")
    }
    values["facturas"] = [str(v) for v in form.getall("facturas", []) if isinstance(v, str)]

    async def again(message: str, field: str) -> Template:
        return await _new_form(
            request, tenant, tenant_scope, acting_staff, values, 400, message, field
        )

    customer = await _customer(tenant_scope, values["cliente"])
    if customer is None:
        return await again("Elige un cliente por su número.", "cliente")
    currency = values["moneda"] or str(tenant.currency)
    if len(currency) != 3:
        return await again("Moneda no válida.", "moneda")
    money, problem = read_amount(request, tenant, values["monto"], currency)
    if money is None:
        return await again(problem, "monto")
    if money.amount <= 0:
        return await again("El monto debe ser mayor que cero.", "monto")
    if values["medio"] not in MANUAL_METHODS:
        return await again("Elige cómo pagó: efectivo, cheque o transferencia.", "medio")
    if not values["referencia"] or len(values["referencia"]) > 80:
        return await again(
            "Escribe la referencia: número de recibo, cheque o transferencia (máximo 80).",
            "referencia",
        )
    try:
        received = _date(values["fecha"], "fecha") or tenant_today(tenant)
    except FilterError as exc:
        return await again(str(exc), "fecha")
    if received > tenant_today(tenant):
        return await again("La fecha de pago no puede ser futura.", "fecha")
    ids = [as_id(v) for v in values["facturas"]]
    if any(i is None for i in ids):
        return await again("Factura no encontrada.", "facturas")
    try:
        payment = await record_manual_payment(
            tenant_scope,
            customer_id=int(customer.id),
            currency=money.currency,
            amount=money.amount,
            method=values["medio"],
            reference=values["referencia"],
            invoice_ids=[i for i in ids if i is not None],
            actor=actor(acting_staff),
            received_on=received,
        )
    except PaymentError as exc:
        text = str(exc)
        field = text.split(":", 1)[0].split(" ", 1)[0]
        field = {"reference": "referencia", "invoice": "facturas", "amount": "monto"}.get(
            field, "monto"
        )
        return await again(_spanish(text), field)
    return Redirect(f"{staff_base(request)}/pagos/{payment.id}", status_code=303)


def _spanish(message: str) -> str:
    """The ledger's messages name the field in English; staff read Spanish."""
    if message.startswith("reference:") and "another" in message:
        return "Esa referencia ya está registrada con otro monto o cliente."
    if message.startswith("invoice") and "currency mismatch" in message:
        return "La moneda de una factura no coincide con la del pago."
    if message.startswith("invoice") and "not found" in message:
        return "Factura no encontrada."
    if message.startswith("invoice"):
        return "Una de las facturas ya no tiene saldo por pagar."
    return message


# --- write-off ----------------------------------------------------------------------------------


async def _invoice(scope: TenantScope, invoice_id: int) -> Invoice:
    row = await scope.get(Invoice, invoice_id)
    if row is None:
        raise inbox.NotFound(INVOICE_NOT_FOUND)
    return row


async def _write_off_page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    staff: StaffUser,
    invoice: Invoice,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    customer = await scope.get(Customer, int(invoice.customer))
    return await staff_page(
        request,
        "staff/write_off.html",
        tenant,
        staff,
        status_code=status_code,
        invoice=invoice,
        customer=customer,
        write_offs=await invoice_write_offs(scope, int(invoice.id)),
        payments=await invoice_payments(scope, int(invoice.id)),
        can_write_off=invoice.status in OPEN_STATUSES and invoice.balance > 0,
        **{"values": {}, "error": "", "error_field": "", **extra},
    )


@get(
    "/facturas/{invoice_id:int}/castigo",
    name="staff:invoice_write_off",
    operation_id="staff_invoice_write_off",
)
async def write_off_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    invoice_id: FromPath[int],
) -> Template:
    invoice = await _invoice(tenant_scope, invoice_id)
    return await _write_off_page(request, tenant, tenant_scope, staff, invoice)


@post(
    "/facturas/{invoice_id:int}/castigo",
    name="staff:invoice_write_off_post",
    operation_id="staff_invoice_write_off_post",
)
async def write_off_post(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    invoice_id: FromPath[int],
) -> Template | Redirect:
    invoice = await _invoice(tenant_scope, invoice_id)
    form = await form_data(request)

    async def again(message: str, field: str) -> Template:
        return await _write_off_page(
            request,
            tenant,
            tenant_scope,
            acting_staff,
            invoice,
            400,
            values=form,
            error=message,
            error_field=field,
        )

    amount: int | None = None
    typed = form.get("monto", "").strip()
    if typed:
        money, problem = read_amount(request, tenant, typed, str(invoice.currency))
        if money is None:
            return await again(problem, "monto")
        if money.amount <= 0:
            return await again("El monto debe ser mayor que cero.", "monto")
        if money.amount > invoice.balance:
            return await again("El monto es mayor que el saldo de la factura.", "monto")
        amount = money.amount
    reason = " ".join(form.get("motivo", "").split())
    if not reason or len(reason) > 500:
        return await again("Escribe el motivo del castigo (máximo 500 caracteres).", "motivo")
    try:
        await write_off(tenant_scope, int(invoice.id), amount, reason, actor(acting_staff))
    except PaymentError as exc:
        text = str(exc)
        if "plan" in text:
            text = "La factura está en un plan de pagos: termina el plan primero."
        elif "nothing left" in text:
            text = "La factura ya no tiene saldo por castigar."
        return await again(text, "monto")
    return Redirect(f"{staff_base(request)}/facturas/{invoice_id}/castigo", status_code=303)


ROUTES = [
    payments_list,
    payment_new,
    payment_create,
    payment_page_view,
    payment_refund,
    write_off_page,
    write_off_post,
]
