"""Customers in the back office: list with search and filters, detail with the timeline, create,
edit and staff notes. Thin: every rule lives in ``core/billing`` (customers, listing, timeline).

Consents are shown as the customer gave them in the portal and are not editable here: a consent
to be contacted is the customer's decision, not staff's (they change it in the portal's
preferences; staff can note what a customer said on the phone).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.billing.credit_notes import customer_credit_notes
from recaudo.core.billing.customers import (
    CHANNELS,
    FISCAL_FIELDS,
    CustomerError,
    NewCustomer,
    add_note,
    clean_tags,
    create_customer,
    tags_of,
    update_customer,
)
from recaudo.core.billing.errors import RecordNotFound, actor_name
from recaudo.core.billing.listing import CustomerFilters, customer_balances, customer_page, segments
from recaudo.core.billing.taxids import _VALIDATORS
from recaudo.core.billing.timeline import customer_timeline
from recaudo.core.casework import review as inbox
from recaudo.core.common.audit import record
from recaudo.core.db import transaction
from recaudo.core.einvoicing import service
from recaudo.core.messaging.preferences import consents_of
from recaudo.core.tables import Customer, StaffUser
from recaudo.core.workspace.tasks import team
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.backoffice.common import form_data, staff_base, staff_page
from recaudo.web.backoffice.promise_forms import promise_context
from recaudo.web.backoffice.records_common import as_http, explain, field_of
from recaudo.web.fiscal import check_changes, check_fiscal
from recaudo.web.portal.common import tenant_today

FORM_FIELDS = (
    "number",
    "name",
    "tax_country",
    "tax_id",
    "email",
    "phone",
    "preferred_channel",
    "locale",
    "segment",
    "tags",
    *FISCAL_FIELDS,
)
TAX_COUNTRIES = tuple(sorted(_VALIDATORS))


async def _customer(scope: TenantScope, customer_id: int) -> Customer:
    row = await scope.get(Customer, customer_id)
    if row is None:
        raise inbox.NotFound("Cliente no encontrado.")
    return row


@get("/clientes", name="staff:customers", operation_id="staff_customers")
async def customers_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    filters = CustomerFilters.from_query(request.query_params)
    page = await customer_page(tenant_scope, filters, tenant_today(tenant), str(tenant.currency))
    return await staff_page(
        request,
        "staff/customers.html",
        tenant,
        staff,
        page=page,
        filters=filters,
        segments=await segments(tenant_scope),
        previous_link="?" + urlencode(filters.query(page.page - 1)),
        next_link="?" + urlencode(filters.query(page.page + 1)),
    )


@get("/clientes/{customer_id:int}", name="staff:customer", operation_id="staff_customer")
async def customer_detail(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    customer_id: FromPath[int],
) -> Template:
    customer = await _customer(tenant_scope, customer_id)
    today = tenant_today(tenant)
    return await staff_page(
        request,
        "staff/customer.html",
        tenant,
        staff,
        customer=customer,
        tags=tags_of(customer),
        consents=consents_of(customer),
        balances=await customer_balances(tenant_scope, int(customer.id), today),
        timeline=await customer_timeline(tenant_scope, customer),
        credit_notes=await customer_credit_notes(tenant_scope, int(customer.id), limit=5),
        today=today,
        team=await team(tenant_scope),
        **await promise_context(tenant_scope, customer, str(tenant.timezone)),
    )


def _values_of(customer: Customer | None, tenant: Tenant) -> dict[str, str]:
    if customer is None:
        return {name: "" for name in FORM_FIELDS} | {
            "tax_country": str(tenant.country),
            "preferred_channel": "email",
        }
    return {
        "number": str(customer.number),
        "name": str(customer.name),
        "tax_country": str(customer.tax_country or tenant.country),
        "tax_id": str(customer.tax_id or ""),
        "email": str(customer.email or ""),
        "phone": str(customer.phone or ""),
        "preferred_channel": str(customer.preferred_channel or "email"),
        "locale": str(customer.locale or ""),
        "segment": str(customer.segment or ""),
        "tags": ", ".join(tags_of(customer)),
        **{name: str(getattr(customer, name) or "") for name in FISCAL_FIELDS},
    }


async def _form(
    request: Request,
    tenant: Tenant,
    staff: StaffUser,
    customer: Customer | None,
    values: dict[str, str],
    error: str = "",
    error_field: str = "",
    status_code: int = 200,
) -> Template:
    return await staff_page(
        request,
        "staff/customer_form.html",
        tenant,
        staff,
        status_code=status_code,
        customer=customer,
        consents=consents_of(customer) if customer is not None else None,
        values=values,
        error=error,
        error_field=error_field,
        channels=CHANNELS,
        tax_countries=TAX_COUNTRIES,
        einvoicing=await service.backend_name(TenantScope(int(tenant.id))),
    )


@get("/clientes/nuevo", name="staff:customer_new", operation_id="staff_customer_new")
async def customer_new(
    request: Request,
    tenant: NamedDependency[Tenant],
    acting_staff: NamedDependency[StaffUser],
) -> Template:
    return await _form(request, tenant, acting_staff, None, _values_of(None, tenant))


def _submitted(form: dict[str, str]) -> dict[str, str]:
    return {name: form.get(name, "") for name in FORM_FIELDS}


@post("/clientes/nuevo", name="staff:customer_create", operation_id="staff_customer_create")
async def customer_create(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    values = _submitted(await form_data(request))
    try:
        data = NewCustomer(
            number=values["number"],
            name=values["name"],
            tax_id=values["tax_id"],
            tax_country=values["tax_country"],
            email=values["email"],
            phone=values["phone"],
            preferred_channel=values["preferred_channel"] or "email",
            locale=values["locale"],
            segment=values["segment"],
            tags=clean_tags(values["tags"]),
            **{name: values[name] for name in FISCAL_FIELDS},
        )
        await check_fiscal(tenant_scope, data, str(tenant.country))
        async with transaction():
            customer = await create_customer(tenant_scope, data, str(tenant.country))
            await record(
                tenant_scope,
                actor_name(acting_staff),
                "customer.created",
                f"customer:{customer.id}",
                number=str(customer.number),
            )
    except CustomerError as exc:
        return await _form(
            request,
            tenant,
            acting_staff,
            None,
            values,
            error=explain(request, tenant, str(exc)),
            error_field=field_of(str(exc)),
            status_code=400,
        )
    return Redirect(f"{staff_base(request)}/clientes/{customer.id}", status_code=303)


@get(
    "/clientes/{customer_id:int}/editar",
    name="staff:customer_edit",
    operation_id="staff_customer_edit",
)
async def customer_edit(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    customer_id: FromPath[int],
) -> Template:
    customer = await _customer(tenant_scope, customer_id)
    return await _form(request, tenant, acting_staff, customer, _values_of(customer, tenant))


@post(
    "/clientes/{customer_id:int}/editar",
    name="staff:customer_update",
    operation_id="staff_customer_update",
)
async def customer_update(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    customer_id: FromPath[int],
) -> Template | Redirect:
    customer = await _customer(tenant_scope, customer_id)
    form = await form_data(request)
    values = _submitted(form)
    changes: dict[str, Any] = {name: values[name] for name in FORM_FIELDS if name in form}
    if "preferred_channel" in changes and not changes["preferred_channel"]:
        changes["preferred_channel"] = "email"
    try:
        await check_changes(tenant_scope, customer, changes, str(tenant.country))
        await update_customer(
            tenant_scope, int(customer.id), changes, acting_staff, str(tenant.country)
        )
    except CustomerError as exc:
        return await _form(
            request,
            tenant,
            acting_staff,
            customer,
            values,
            error=explain(request, tenant, str(exc)),
            error_field=field_of(str(exc)),
            status_code=400,
        )
    except RecordNotFound as exc:
        raise as_http(request, tenant, exc) from None
    return Redirect(f"{staff_base(request)}/clientes/{customer.id}", status_code=303)


@post(
    "/clientes/{customer_id:int}/notas",
    name="staff:customer_note",
    operation_id="staff_customer_note",
)
async def customer_note(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    customer_id: FromPath[int],
) -> Redirect:
    customer = await _customer(tenant_scope, customer_id)
    form = await form_data(request)
    try:
        await add_note(tenant_scope, int(customer.id), form.get("body", ""), acting_staff)
    except (CustomerError, RecordNotFound) as exc:
        raise as_http(request, tenant, exc) from None
    return Redirect(f"{staff_base(request)}/clientes/{customer.id}#historial", status_code=303)


ROUTES = [
    customers_page,
    customer_new,
    customer_create,
    customer_detail,
    customer_edit,
    customer_update,
    customer_note,
]
