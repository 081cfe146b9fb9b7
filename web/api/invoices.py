"""``/api/v1/invoices``: list with filters, get, create, and bulk create (up to 1,000)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, Parameter
from litestar.response import Response

from recaudo.core.access.apikeys import ApiCaller
from recaudo.core.billing.invoices import (
    BulkInvoiceError,
    InvoiceError,
    NewInvoice,
    NewLine,
    create_invoice,
    create_invoices,
)
from recaudo.core.common.audit import record
from recaudo.core.tables import INVOICE_STATUSES, Invoice, InvoiceLine
from recaudo.core.workspace.credit import NewInvoiceAmount, limit_warning, limit_warnings
from recaudo.tenants.scoped import TenantScope
from recaudo.web.api.common import IdempotencyKey, check_text, idempotent_post, page
from recaudo.web.api.customers import Cursor, Limit
from recaudo.web.api.errors import (
    ERROR_RESPONSES,
    POST_RESPONSES,
    ApiError,
    field_error,
    from_domain,
)
from recaudo.web.api.schemas import (
    BulkInvoicesIn,
    BulkInvoicesOut,
    InvoiceIn,
    InvoiceOut,
    InvoicePage,
    LineOut,
)

NOT_FOUND = "invoice: not found"
DateParam = Annotated[date | None, Parameter(description="YYYY-MM-DD, inclusive.")]


async def invoices_out(scope: TenantScope, rows: list[Invoice]) -> list[InvoiceOut]:
    """Invoices with their lines (one query for the lines of all of them)."""
    lines: dict[int, list[LineOut]] = {int(r.id): [] for r in rows}
    if rows:
        ids = list(lines)
        found = []
        for start in range(0, len(ids), 500):  # within SQLite's limit of bound values
            found += await (
                scope.objects(InvoiceLine)
                .where(InvoiceLine.invoice.is_in(ids[start : start + 500]))
                .order_by(InvoiceLine.position)
            )
        for line in found:
            lines[int(line.invoice)].append(  # type: ignore[arg-type]
                LineOut(
                    str(line.description),
                    int(line.quantity),
                    int(line.unit_amount),
                    int(line.amount),
                )
            )
    return [
        InvoiceOut(
            id=int(r.id),
            customer_id=int(r.customer),  # type: ignore[arg-type]
            number=str(r.number),
            status=str(r.status),
            currency=str(r.currency),
            subtotal=int(r.subtotal),
            tax=int(r.tax),
            total=int(r.total),
            amount_paid=int(r.amount_applied),
            balance=0 if r.status == "void" else int(r.total) - int(r.amount_applied),
            issue_date=r.issue_date,
            due_date=r.due_date,
            description=str(r.description),
            external_id=r.external_id,
            disputed=bool(r.disputed),
            lines=lines[int(r.id)],
            created_at=r.created_at,
        )
        for r in rows
    ]


def _new_invoice(data: InvoiceIn, caller: ApiCaller) -> NewInvoice:
    today = datetime.now(ZoneInfo(caller.timezone)).date()
    return NewInvoice(
        customer_id=data.customer_id,
        number=data.number,
        issue_date=data.issue_date or today,
        due_date=data.due_date,
        currency=data.currency or caller.currency,
        lines=tuple(NewLine(x.description, x.quantity, x.unit_amount) for x in data.lines),
        tax=data.tax,
        description=data.description,
        external_id=data.external_id,
    )


def _invoice_error(exc: InvoiceError, prefix: str = "") -> ApiError:
    text = str(exc)
    if text.startswith("customer ") and "not found" in text:
        return field_error(422, f"{prefix}.customer_id" if prefix else "customer_id", "not found")
    status = 409 if "already used" in text else 422
    return from_domain(exc, prefix=prefix, status=status)


@get(
    "/invoices",
    responses=ERROR_RESPONSES,
    summary="List invoices",
    description="Newest first; cursor-paginated; amounts in minor units.",
)
async def list_invoices(
    api_scope: NamedDependency[TenantScope],
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[
        str | None, Parameter(description="open, partially_paid, paid or void.", max_length=20)
    ] = None,
    customer_id: Annotated[
        int | None, Parameter(ge=1, le=2**31 - 1, description="Only this customer's.")
    ] = None,
    external_id: Annotated[str | None, Parameter(max_length=100)] = None,
    number: Annotated[str | None, Parameter(max_length=64)] = None,
    issued_from: DateParam = None,
    issued_to: DateParam = None,
    due_from: DateParam = None,
    due_to: DateParam = None,
) -> InvoicePage:
    query = api_scope.objects(Invoice)
    if status is not None:
        if status not in INVOICE_STATUSES:
            raise field_error(400, "status", f"use one of {', '.join(INVOICE_STATUSES)}")
        query = query.where(Invoice.status == status)
    if customer_id is not None:
        query = query.where(Invoice.customer == customer_id)
    if external_id is not None:
        query = query.where(Invoice.external_id == external_id)
    if number is not None:
        query = query.where(Invoice.number == number.strip())
    for value, clause in (
        (issued_from, lambda v: Invoice.issue_date >= v),
        (issued_to, lambda v: Invoice.issue_date <= v),
        (due_from, lambda v: Invoice.due_date >= v),
        (due_to, lambda v: Invoice.due_date <= v),
    ):
        if value is not None:
            query = query.where(clause(value))
    rows, nxt = await page(query, Invoice.id, limit, cursor)
    return InvoicePage(await invoices_out(api_scope, rows), nxt)


@get("/invoices/{invoice_id:int}", responses=ERROR_RESPONSES, summary="Get an invoice")
async def get_invoice(
    api_scope: NamedDependency[TenantScope], invoice_id: FromPath[int]
) -> InvoiceOut:
    row = await api_scope.get(Invoice, invoice_id)
    if row is None:
        raise NotFoundException(NOT_FOUND)
    return (await invoices_out(api_scope, [row]))[0]


@post(
    "/invoices",
    responses=POST_RESPONSES,
    summary="Create an invoice",
    description="Amounts in minor units. Send an `Idempotency-Key` header to retry safely.",
    status_code=201,
)
async def create_invoice_route(
    request: Request[Any, Any, Any],
    writer: NamedDependency[ApiCaller],
    idempotency_key: IdempotencyKey,
    api_scope: NamedDependency[TenantScope],
    data: JSONBody[InvoiceIn],
) -> Response[InvoiceOut]:
    check_text(data)

    async def action() -> InvoiceOut:
        try:
            row = await create_invoice(api_scope, _new_invoice(data, writer))
        except InvoiceError as exc:
            raise _invoice_error(exc) from None
        await record(api_scope, writer.actor, "invoice.created", f"invoice:{row.id}", via="api")
        out = (await invoices_out(api_scope, [row]))[0]
        customer_id, currency = int(row.customer), str(row.currency)  # type: ignore[arg-type]
        warning = await limit_warning(
            api_scope, customer_id, row.balance, currency, exclude_invoice=int(row.id)
        )
        out.warnings = [warning] if warning else None
        return out

    return await idempotent_post(request, writer, api_scope, action)


@post(
    "/invoices/bulk",
    responses=POST_RESPONSES,
    summary="Create up to 1,000 invoices",
    description=(
        "All or nothing: one bad item and none is created; errors name the item as "
        "`invoices[i].field`. Body at most 2 MiB. An invoice that takes its customer's open "
        "balance (with the batch's earlier invoices) over the credit limit carries `warnings`; "
        "it is created all the same."
    ),
    status_code=201,
)
async def create_invoices_bulk(
    request: Request[Any, Any, Any],
    writer: NamedDependency[ApiCaller],
    idempotency_key: IdempotencyKey,
    api_scope: NamedDependency[TenantScope],
    data: JSONBody[BulkInvoicesIn],
) -> Response[BulkInvoicesOut]:
    check_text(data)

    async def action() -> BulkInvoicesOut:
        items = [_new_invoice(item, writer) for item in data.invoices]
        try:
            rows = await create_invoices(api_scope, items)
        except BulkInvoiceError as exc:
            errors, statuses = [], set()
            for index, error in exc.errors:
                each = _invoice_error(error, prefix=f"invoices[{index}]")
                errors += each.errors
                statuses.add(each.status_code)
            detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:20])
            raise ApiError(409 if statuses == {409} else 422, detail, errors) from None
        await record(
            api_scope, writer.actor, "invoice.bulk_created", "invoice", count=len(rows), via="api"
        )
        out = await invoices_out(api_scope, rows)
        batch = [
            NewInvoiceAmount(int(r.id), int(r.customer), r.balance, str(r.currency)) for r in rows
        ]
        warnings = await limit_warnings(api_scope, batch)
        for item in out:
            if item.id in warnings:
                item.warnings = [warnings[item.id]]
        return BulkInvoicesOut(out)

    return await idempotent_post(request, writer, api_scope, action)


ROUTES: list[Any] = [list_invoices, get_invoice, create_invoice_route, create_invoices_bulk]
