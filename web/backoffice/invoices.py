"""Invoices in the back office: list with filters, detail, create, edit while unpaid, void with a
reason and credit notes. Thin: the rules live in ``core/billing`` (invoices, invoice_changes,
credit_notes, listing); this module reads the forms.

Amounts are typed as the tenant's country writes them (``1,500.00`` in Mexico, ``1.500,00`` in
Colombia) and read by ``core/common/money_input`` into integer minor units. Tax is either a rate
per line (or one rate for every line), rounded half up per line, and/or a fixed amount.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.billing.account import invoice_lines, invoice_payments
from recaudo.core.billing.credit_notes import (
    CreditNoteError,
    invoice_credit_notes,
    issue_credit_note,
)
from recaudo.core.billing.errors import RecordConflict, RecordNotFound, actor_name
from recaudo.core.billing.invoice_changes import editable_problem, update_invoice, void_invoice
from recaudo.core.billing.invoices import InvoiceError, NewInvoice, NewLine, create_invoice
from recaudo.core.billing.listing import INVOICE_FILTER_STATUSES, InvoiceFilters, invoice_page
from recaudo.core.casework import review as inbox
from recaudo.core.collections.late_fees import charge_views, invoice_charges
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.common.money import Money, MoneyError, check_currency
from recaudo.core.common.money_input import example, input_text
from recaudo.core.db import transaction
from recaudo.core.messaging.i18n import translations
from recaudo.core.tables import AuditEvent, Customer, Invoice, StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope, as_id
from recaudo.web.amounts import page_locale, read_amount
from recaudo.web.backoffice.common import form_data, staff_base, staff_page
from recaudo.web.backoffice.credit import invoice_limit_warning
from recaudo.web.backoffice.einvoices import panel as einvoice_panel
from recaudo.web.backoffice.records_common import as_http, explain, field_of
from recaudo.web.portal.common import tenant_today
from recaudo.web.templating import request_language

MIN_LINES = 3
MAX_LINES = 50
TERMS = (0, 7, 15, 30, 45, 60, 90)


class FormProblem(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


async def _invoice(scope: TenantScope, invoice_id: int) -> Invoice:
    row = await scope.get(Invoice, invoice_id)
    if row is None:
        raise inbox.NotFound("Factura no encontrada.")
    return row


# --- list ---------------------------------------------------------------------------------------


@get("/facturas", name="staff:invoices", operation_id="staff_invoices")
async def invoices_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    filters = InvoiceFilters.from_query(request.query_params)
    if filters.problems:
        trans = translations(request_language(request, tenant.locale))
        names = {"estado": "Estado", "desde": "Vence desde", "hasta": "Vence hasta"}
        name = filters.problems[0]
        raise inbox.InboxError(
            trans.gettext("Revisa el filtro «%(field)s».")
            % {"field": trans.gettext(names.get(name, "Cliente"))}
        )
    customer = await tenant_scope.get(Customer, filters.customer) if filters.customer else None
    if filters.customer and customer is None:
        raise inbox.NotFound("Cliente no encontrado.")
    page = await invoice_page(tenant_scope, filters, tenant_today(tenant))
    return await staff_page(
        request,
        "staff/invoices.html",
        tenant,
        staff,
        page=page,
        filters=filters,
        statuses=INVOICE_FILTER_STATUSES,
        customer=customer,
        previous_link="?" + urlencode(filters.query(page.page - 1)),
        next_link="?" + urlencode(filters.query(page.page + 1)),
    )


# --- detail -------------------------------------------------------------------------------------


@get("/facturas/{invoice_id:int}", name="staff:invoice", operation_id="staff_invoice")
async def invoice_detail(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    invoice_id: FromPath[int],
) -> Template:
    invoice = await _invoice(tenant_scope, invoice_id)
    customer = await tenant_scope.get(Customer, int(invoice.customer))
    notes = await invoice_credit_notes(tenant_scope, int(invoice.id))
    charges = charge_views(
        await invoice_charges(tenant_scope, int(invoice.id)),
        request_language(request, tenant.locale),
        str(invoice.number),
    )
    history = await (
        tenant_scope.select(
            AuditEvent, AuditEvent.actor, AuditEvent.action, AuditEvent.data, AuditEvent.created_at
        )
        .where(AuditEvent.subject == f"invoice:{invoice.id}")
        .order_by(AuditEvent.id, ascending=False)
        .limit(100)
    )
    today = tenant_today(tenant)
    return await staff_page(
        request,
        "staff/invoice.html",
        tenant,
        staff,
        invoice=invoice,
        customer=customer,
        lines=await invoice_lines(tenant_scope, int(invoice.id)),
        applied=await invoice_payments(tenant_scope, int(invoice.id)),
        credit_notes=notes,
        credited=sum(int(n.amount) for n in notes),
        history=[{**row, "data": loads(row["data"], {}) or {}} for row in history],
        charges=charges,
        charged=sum(c.amount for c in charges if not c.waived),
        editable=editable_problem(invoice) is None and not notes and not charges,
        creditable=invoice.status in ("open", "partially_paid") and invoice.plan_id is None,
        voidable=invoice.status != "void"
        and int(invoice.amount_applied) == 0
        and invoice.plan_id is None,
        overdue=invoice.status in ("open", "partially_paid") and invoice.due_date < today,
        amount_example=input_text(
            Money(str(invoice.currency), max(invoice.balance, 0)), page_locale(request, tenant)
        ),
        **await einvoice_panel(tenant_scope, invoice_id=int(invoice.id)),
        credit_warning=await invoice_limit_warning(tenant_scope, invoice),
    )


# --- the invoice form ---------------------------------------------------------------------------


def _rate(text: str, field: str) -> Decimal | None:
    value = text.strip().rstrip("%").strip().replace(",", ".")
    if not value:
        return None
    try:
        rate = Decimal(value)
    except InvalidOperation:
        raise FormProblem(field, "tax_rate: a percentage such as 16 or 19") from None
    if not rate.is_finite() or rate < 0 or rate > 100 or rate.as_tuple().exponent < -4:  # type: ignore[operator]
        raise FormProblem(field, "tax_rate: a percentage between 0 and 100")
    return rate


def _day(text: str, field: str, what: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FormProblem(field, f"{what}: a date (YYYY-MM-DD)") from None


async def _parse(
    request: Request, tenant: Tenant, scope: TenantScope, form: dict[str, str], count: int
) -> NewInvoice:
    """The form as a new invoice, or :class:`FormProblem` naming the first bad field."""
    number = form.get("cliente", "").strip()
    customer = (
        await scope.objects(Customer).where(Customer.number == number).first() if number else None
    )
    if customer is None:
        raise FormProblem("cliente", f"customer {number!r}: not found, use the customer's number")
    try:
        currency = check_currency(form.get("moneda", "").strip().upper())
    except MoneyError:
        raise FormProblem("moneda", "currency: an ISO 4217 code such as MXN or COP") from None
    issue = _day(form.get("emision", ""), "emision", "issue_date")
    if issue is None:
        raise FormProblem("emision", "issue_date: required")
    due = _day(form.get("vence", ""), "vence", "due_date")
    if due is None:
        terms = form.get("plazo", "").strip()
        if not terms.isdigit() or int(terms) > 3650:
            raise FormProblem("plazo", "terms: days to pay, a whole number (0 to 3650)")
        due = issue + timedelta(days=int(terms))
    default_rate = _rate(form.get("tasa", ""), "tasa")
    lines: list[NewLine] = []
    tax = 0
    for i in range(count):
        key = f"linea-{i}-"
        desc = form.get(key + "descripcion", "").strip()
        qty_text = form.get(key + "cantidad", "").strip()
        price_text = form.get(key + "precio", "").strip()
        rate_text = form.get(key + "tasa", "").strip()
        if not (desc or price_text or rate_text) and qty_text in ("", "1"):
            continue
        n = len(lines) + 1
        if not desc:
            raise FormProblem(key + "descripcion", f"line {n}: description required")
        if len(desc) > 500:
            raise FormProblem(key + "descripcion", f"line {n}: at most 500 characters")
        if not qty_text.isdigit() or int(qty_text) <= 0 or int(qty_text) > 1_000_000:
            raise FormProblem(
                key + "cantidad", f"line {n}: quantity must be a positive whole number"
            )
        money, problem = read_amount(request, tenant, price_text, currency)
        if money is None:
            raise FormProblem(key + "precio", f"line {n}: {problem}")
        line = NewLine(desc, int(qty_text), money.amount)
        rate = _rate(rate_text, key + "tasa")
        rate = default_rate if rate is None else rate
        if rate:
            amount = Decimal(line.quantity * line.unit_amount) * rate / 100
            tax += int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        lines.append(line)
    fixed = form.get("impuesto", "").strip()
    if fixed:
        money, problem = read_amount(request, tenant, fixed, currency)
        if money is None:
            raise FormProblem("impuesto", f"tax: {problem}")
        tax += money.amount
    description = form.get("descripcion", "").strip()
    if len(description) > 500:
        raise FormProblem("descripcion", "description: at most 500 characters")
    return NewInvoice(
        customer_id=int(customer.id),
        number=form.get("numero", "").strip(),
        issue_date=issue,
        due_date=due,
        currency=currency,
        lines=tuple(lines),
        tax=tax,
        description=description,
    )


def _line_count(form: dict[str, str]) -> int:
    count = as_id(form.get("lineas", "")) or MIN_LINES
    if form.get("accion") == "agregar":
        count += 1
    return max(MIN_LINES, min(count, MAX_LINES))


def _blank(tenant: Tenant, today: date, customer: Customer | None) -> dict[str, str]:
    return {
        "cliente": str(customer.number) if customer else "",
        "numero": "",
        "emision": today.isoformat(),
        "plazo": "30",
        "vence": "",
        "moneda": str(tenant.currency),
        "descripcion": "",
        "tasa": "",
        "impuesto": "",
    }


async def _values_of(
    request: Request, tenant: Tenant, scope: TenantScope, invoice: Invoice
) -> dict[str, str]:
    customer = await scope.get(Customer, int(invoice.customer))
    locale = page_locale(request, tenant)
    values = {
        "cliente": str(customer.number) if customer else "",
        "numero": str(invoice.number),
        "emision": invoice.issue_date.isoformat(),
        "plazo": str((invoice.due_date - invoice.issue_date).days),
        "vence": invoice.due_date.isoformat(),
        "moneda": str(invoice.currency),
        "descripcion": str(invoice.description or ""),
        "tasa": "",
        "impuesto": input_text(Money(str(invoice.currency), int(invoice.tax)), locale)
        if invoice.tax
        else "",
    }
    for i, line in enumerate(await invoice_lines(scope, int(invoice.id))):
        values[f"linea-{i}-descripcion"] = str(line.description)
        values[f"linea-{i}-cantidad"] = str(line.quantity)
        values[f"linea-{i}-precio"] = input_text(
            Money(str(invoice.currency), int(line.unit_amount)), locale
        )
    return values


async def _form(
    request: Request,
    tenant: Tenant,
    staff: StaffUser,
    invoice: Invoice | None,
    values: dict[str, str],
    count: int,
    error: str = "",
    error_field: str = "",
    status_code: int = 200,
) -> Template:
    return await staff_page(
        request,
        "staff/invoice_form.html",
        tenant,
        staff,
        status_code=status_code,
        invoice=invoice,
        values=values,
        count=count,
        terms=TERMS,
        amount_example=_example(request, tenant, str(values.get("moneda") or "")),
        error=error,
        error_field=error_field,
    )


def _example(request: Request, tenant: Tenant, currency: str) -> str:
    try:
        return example(currency.strip().upper(), page_locale(request, tenant))
    except MoneyError:
        return example(str(tenant.currency), page_locale(request, tenant))


def _problem_text(request: Request, tenant: Tenant, exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, FormProblem) and not field_of(text):
        return text
    return explain(request, tenant, text)


@get("/facturas/nueva", name="staff:invoice_new", operation_id="staff_invoice_new")
async def invoice_new(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
) -> Template:
    raw = request.query_params.get("cliente")
    customer = await tenant_scope.get(Customer, raw) if raw else None
    values = _blank(tenant, tenant_today(tenant), customer)
    return await _form(request, tenant, acting_staff, None, values, MIN_LINES)


@post("/facturas/nueva", name="staff:invoice_create", operation_id="staff_invoice_create")
async def invoice_create(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    form = await form_data(request)
    count = _line_count(form)
    if form.get("accion") == "agregar":
        return await _form(request, tenant, acting_staff, None, form, count)
    try:
        data = await _parse(request, tenant, tenant_scope, form, count)
        async with transaction():
            invoice = await create_invoice(tenant_scope, data)
            await record(
                tenant_scope,
                actor_name(acting_staff),
                "invoice.created",
                f"invoice:{invoice.id}",
                number=str(invoice.number),
                total=int(invoice.total),
                currency=str(invoice.currency),
            )
    except (FormProblem, InvoiceError) as exc:
        return await _form(
            request,
            tenant,
            acting_staff,
            None,
            form,
            count,
            error=_problem_text(request, tenant, exc),
            error_field=exc.field if isinstance(exc, FormProblem) else field_of(str(exc)),
            status_code=400,
        )
    return Redirect(f"{staff_base(request)}/facturas/{invoice.id}", status_code=303)


@get(
    "/facturas/{invoice_id:int}/editar",
    name="staff:invoice_edit",
    operation_id="staff_invoice_edit",
)
async def invoice_edit(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    invoice_id: FromPath[int],
) -> Template:
    invoice = await _invoice(tenant_scope, invoice_id)
    problem = editable_problem(invoice)
    if problem:
        raise inbox.Conflict(problem)
    values = await _values_of(request, tenant, tenant_scope, invoice)
    count = max(MIN_LINES, len([k for k in values if k.endswith("-descripcion")]) + 1)
    return await _form(request, tenant, acting_staff, invoice, values, count)


@post(
    "/facturas/{invoice_id:int}/editar",
    name="staff:invoice_update",
    operation_id="staff_invoice_update",
)
async def invoice_update(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    invoice_id: FromPath[int],
) -> Template | Redirect:
    invoice = await _invoice(tenant_scope, invoice_id)
    form = await form_data(request)
    count = _line_count(form)
    if form.get("accion") == "agregar":
        return await _form(request, tenant, acting_staff, invoice, form, count)
    try:
        data = await _parse(request, tenant, tenant_scope, form, count)
        changes: dict[str, Any] = {
            "customer_id": data.customer_id,
            "number": data.number,
            "issue_date": data.issue_date,
            "due_date": data.due_date,
            "currency": data.currency,
            "description": data.description,
            "lines": list(data.lines),
            "tax": data.tax,
        }
        await update_invoice(tenant_scope, int(invoice.id), changes, acting_staff)
    except (FormProblem, InvoiceError) as exc:
        return await _form(
            request,
            tenant,
            acting_staff,
            invoice,
            form,
            count,
            error=_problem_text(request, tenant, exc),
            error_field=exc.field if isinstance(exc, FormProblem) else field_of(str(exc)),
            status_code=400,
        )
    except (RecordConflict, RecordNotFound) as exc:
        raise as_http(request, tenant, exc) from None
    return Redirect(f"{staff_base(request)}/facturas/{invoice.id}", status_code=303)


# --- void and credit notes ----------------------------------------------------------------------


@post(
    "/facturas/{invoice_id:int}/anular",
    name="staff:invoice_void",
    operation_id="staff_invoice_void",
)
async def invoice_void(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    invoice_id: FromPath[int],
) -> Redirect:
    invoice = await _invoice(tenant_scope, invoice_id)
    form = await form_data(request)
    try:
        await void_invoice(tenant_scope, int(invoice.id), form.get("reason", ""), acting_staff)
    except (InvoiceError, RecordConflict, RecordNotFound) as exc:
        raise as_http(request, tenant, exc) from None
    return Redirect(f"{staff_base(request)}/facturas/{invoice.id}", status_code=303)


@post(
    "/facturas/{invoice_id:int}/nota-de-credito",
    name="staff:invoice_credit",
    operation_id="staff_invoice_credit",
)
async def invoice_credit(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    invoice_id: FromPath[int],
) -> Redirect:
    invoice = await _invoice(tenant_scope, invoice_id)
    form = await form_data(request)
    money, problem = read_amount(request, tenant, form.get("amount", ""), str(invoice.currency))
    if money is None:
        raise as_http(request, tenant, CreditNoteError(f"amount: {problem}"))
    try:
        note = await issue_credit_note(
            tenant_scope, int(invoice.id), money.amount, form.get("reason", ""), acting_staff
        )
    except (InvoiceError, RecordConflict, RecordNotFound) as exc:
        raise as_http(request, tenant, exc) from None
    return Redirect(f"{staff_base(request)}/facturas/{invoice.id}#nota-{note.id}", status_code=303)


ROUTES = [
    invoices_page,
    invoice_new,
    invoice_create,
    invoice_detail,
    invoice_edit,
    invoice_update,
    invoice_void,
    invoice_credit,
]
