"""``/api/v1/customers``: list, get, create, update."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, Parameter
from litestar.response import Response

from recaudo.core.access.apikeys import ApiCaller
from recaudo.core.billing.customers import (
    CustomerError,
    NewCustomer,
    create_customer,
    tags_of,
    update_customer,
)
from recaudo.core.billing.errors import RecordNotFound
from recaudo.core.common.audit import record
from recaudo.core.tables import Customer
from recaudo.tenants.scoped import TenantScope
from recaudo.web.api.common import IdempotencyKey, check_text, idempotent_post, page
from recaudo.web.api.errors import ERROR_RESPONSES, POST_RESPONSES, from_domain
from recaudo.web.api.schemas import CustomerIn, CustomerOut, CustomerPage, CustomerPatch
from recaudo.web.fiscal import FiscalError, check_changes, check_fiscal

Limit = Annotated[int, Parameter(ge=1, le=500, description="Items per page (1–500).")]
Cursor = Annotated[
    str | None, Parameter(max_length=100, description="The `next` of the previous page.")
]
NOT_FOUND = "customer: not found"


def customer_out(c: Customer) -> CustomerOut:
    return CustomerOut(
        id=int(c.id),
        number=str(c.number),
        name=str(c.name),
        email=str(c.email),
        phone=str(c.phone),
        tax_id=str(c.tax_id),
        tax_country=str(c.tax_country),
        preferred_channel=str(c.preferred_channel),
        segment=str(c.segment or ""),
        tags=list(tags_of(c)),
        created_at=c.created_at,
        fiscal_name=str(c.fiscal_name or ""),
        fiscal_regime=str(c.fiscal_regime or ""),
        fiscal_postal_code=str(c.fiscal_postal_code or ""),
        fiscal_use=str(c.fiscal_use or ""),
    )


@get(
    "/customers",
    responses=ERROR_RESPONSES,
    summary="List customers",
    description="Newest first; cursor-paginated.",
)
async def list_customers(
    api_scope: NamedDependency[TenantScope],
    limit: Limit = 50,
    cursor: Cursor = None,
    number: Annotated[str | None, Parameter(max_length=64, description="Exact number.")] = None,
    email: Annotated[str | None, Parameter(max_length=254, description="Exact email.")] = None,
) -> CustomerPage:
    query = api_scope.objects(Customer)
    if number is not None:
        query = query.where(Customer.number == number.strip())
    if email is not None:
        query = query.where(Customer.email == email.strip().lower())
    rows, nxt = await page(query, Customer.id, limit, cursor)
    return CustomerPage([customer_out(r) for r in rows], nxt)


@get("/customers/{customer_id:int}", responses=ERROR_RESPONSES, summary="Get a customer")
async def get_customer(
    api_scope: NamedDependency[TenantScope], customer_id: FromPath[int]
) -> CustomerOut:
    row = await api_scope.get(Customer, customer_id)
    if row is None:
        raise NotFoundException(NOT_FOUND)
    return customer_out(row)


@post(
    "/customers",
    responses=POST_RESPONSES,
    summary="Create a customer",
    description="Send an `Idempotency-Key` header to retry safely.",
    status_code=201,
)
async def create_customer_route(
    request: Request[Any, Any, Any],
    writer: NamedDependency[ApiCaller],
    idempotency_key: IdempotencyKey,
    api_scope: NamedDependency[TenantScope],
    data: JSONBody[CustomerIn],
) -> Response[CustomerOut]:
    check_text(data)

    async def action() -> CustomerOut:
        new = NewCustomer(
            number=data.number,
            name=data.name,
            tax_id=data.tax_id,
            tax_country=data.tax_country,
            email=data.email,
            phone=data.phone,
            preferred_channel=data.preferred_channel,
            segment=data.segment,
            tags=tuple(data.tags),
            fiscal_name=data.fiscal_name,
            fiscal_regime=data.fiscal_regime,
            fiscal_postal_code=data.fiscal_postal_code,
            fiscal_use=data.fiscal_use,
        )
        try:
            await check_fiscal(api_scope, new, writer.country)
            row = await create_customer(api_scope, new, writer.country)
        except FiscalError as exc:
            raise from_domain(exc, status=400) from None
        except CustomerError as exc:
            status = 409 if "already used" in str(exc) else 422
            raise from_domain(exc, status=status) from None
        await record(api_scope, writer.actor, "customer.created", f"customer:{row.id}", via="api")
        return customer_out(row)

    return await idempotent_post(request, writer, api_scope, action)


@patch("/customers/{customer_id:int}", responses=ERROR_RESPONSES, summary="Update a customer")
async def update_customer_route(
    writer: NamedDependency[ApiCaller],
    api_scope: NamedDependency[TenantScope],
    customer_id: FromPath[int],
    data: JSONBody[CustomerPatch],
) -> CustomerOut:
    check_text(data)
    changes: dict[str, Any] = {
        k: v for k, v in msgspec.structs.asdict(data).items() if v is not None
    }
    if "tags" in changes:
        changes["tags"] = tuple(changes["tags"])
    try:
        existing = await api_scope.get(Customer, customer_id)
        if existing is None:
            raise RecordNotFound(NOT_FOUND)
        await check_changes(api_scope, existing, changes, writer.country)
        row = await update_customer(
            api_scope, customer_id, changes, writer.actor, default_country=writer.country
        )
    except FiscalError as exc:
        raise from_domain(exc, status=400) from None
    except RecordNotFound:
        raise NotFoundException(NOT_FOUND) from None
    except CustomerError as exc:
        raise from_domain(exc, status=409 if "already used" in str(exc) else 422) from None
    return customer_out(row)


ROUTES: list[Any] = [list_customers, get_customer, create_customer_route, update_customer_route]
