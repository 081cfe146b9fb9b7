"""A customer's fiscal data checked by the tenant's e-invoicing backend, for the API and staff.

``core/billing/customers`` checks only the shape of the four fiscal fields; whether the regime
exists, fits the RFC or the CFDI use is the backend's knowledge (SAT's catalogs live in the SAT
plugin). Both the API and the customer form ask it here, before anything is stored, and get the
problem as ``"field: message"`` like every other customer error, so each shows it by its field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from recaudo.core.billing.customers import (
    FISCAL_FIELDS,
    CustomerError,
    NewCustomer,
    as_new_customer,
    validate_customer,
)
from recaudo.core.einvoicing import service
from recaudo.core.platform.values import EInvoiceParty
from recaudo.core.tables import Customer
from recaudo.tenants.scoped import TenantScope


class FiscalError(CustomerError):
    """The backend refused the fiscal data; the message starts with the field at fault."""


_FIELDS = (*FISCAL_FIELDS, "tax_id")
# How a backend's message names the field when it does not start with ``field:`` (Spanish first).
_HINTS = (
    ("fiscal_postal_code", re.compile(r"postal|\bcp\b|domicilio", re.I)),
    ("fiscal_regime", re.compile(r"r[ée]gimen|regime", re.I)),
    ("fiscal_use", re.compile(r"\buso\b|\buse\b|usocfdi", re.I)),
    ("tax_id", re.compile(r"\brfc\b|tax.?id", re.I)),
    ("fiscal_name", re.compile(r"nombre|name|raz[óo]n social", re.I)),
)


def field_of_message(message: str) -> str:
    """The customer field a backend's message is about (``fiscal_name`` when it does not say)."""
    head, sep, _ = message.partition(":")
    if sep and head.strip() in _FIELDS:
        return head.strip()
    for field, pattern in _HINTS:
        if pattern.search(message):
            return field
    return "fiscal_name"


def has_fiscal_data(data: NewCustomer) -> bool:
    return any(getattr(data, f) for f in FISCAL_FIELDS)


def party_of(data: NewCustomer, customer_id: int = 0) -> EInvoiceParty:
    return EInvoiceParty(
        customer_id=customer_id,
        tax_id=data.tax_id,
        name=data.fiscal_name or data.name,
        country=data.tax_country,
        regime=data.fiscal_regime,
        postal_code=data.fiscal_postal_code,
        use=data.fiscal_use,
        email=data.email,
    )


async def check_fiscal(
    scope: TenantScope, data: NewCustomer, default_country: str, customer_id: int = 0
) -> None:
    """Raise :class:`FiscalError` when the tenant's backend refuses ``data``'s fiscal identity.

    Customers without fiscal data are not asked about (most tenants issue no e-invoices, and a
    customer may be captured before their tax details arrive).
    """
    clean = validate_customer(data, default_country)
    if not has_fiscal_data(clean):
        return
    problems = await service.fiscal_errors(scope, party_of(clean, customer_id))
    if problems:
        message = str(problems[0])
        field = field_of_message(message)
        head, sep, rest = message.partition(":")
        text = rest.strip() if sep and head.strip() == field else message
        raise FiscalError(f"{field}: {text}")


async def check_changes(
    scope: TenantScope, customer: Customer, changes: Mapping[str, Any], default_country: str
) -> None:
    """:func:`check_fiscal` on the customer as it would be after ``changes`` — only when they
    touch the fiscal identity (a new phone number is not refused for an old regime)."""
    before = as_new_customer(customer)
    known = {k: v for k, v in changes.items() if k in NewCustomer.__dataclass_fields__}
    touched = (*_FIELDS, "tax_country", "name")
    if all(known[k] == getattr(before, k) for k in touched if k in known):
        return
    if "tags" in known and isinstance(known["tags"], list):
        known["tags"] = tuple(known["tags"])
    merged = replace(before, **known)
    await check_fiscal(scope, merged, default_country, int(customer.id))
