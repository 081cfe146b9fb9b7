"""Customers (debtors) of a tenant."""

from __future__ import annotations

import re
from dataclasses import dataclass

from recaudo.core.billing.taxids import TaxIdError, validate_tax_id
from recaudo.core.tables import Customer
from recaudo.tenants.scoped import TenantScope

CHANNELS = ("email", "sms", "whatsapp")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_RE = re.compile(r"^\+?[0-9]{7,15}$")


class CustomerError(ValueError):
    """Invalid customer data; the message names the field."""


@dataclass(frozen=True)
class NewCustomer:
    number: str
    name: str
    tax_id: str = ""
    tax_country: str = ""
    email: str = ""
    phone: str = ""
    preferred_channel: str = "email"


def normalise_phone(phone: str) -> str:
    return re.sub(r"[\s().-]", "", phone or "")


def validate_customer(data: NewCustomer, default_country: str) -> NewCustomer:
    number = data.number.strip()
    if not number or len(number) > 64:
        raise CustomerError("number: required, at most 64 characters")
    name = data.name.strip()
    if not name or len(name) > 200:
        raise CustomerError("name: required, at most 200 characters")
    email = data.email.strip().lower()
    if email and not _EMAIL_RE.match(email):
        raise CustomerError(f"email {data.email!r}: not an email address")
    phone = normalise_phone(data.phone)
    if phone and not _PHONE_RE.match(phone):
        raise CustomerError(f"phone {data.phone!r}: use digits, optionally with a leading +")
    if data.preferred_channel not in CHANNELS:
        raise CustomerError(f"preferred_channel: use one of {', '.join(CHANNELS)}")
    country = (data.tax_country or default_country).upper()
    tax_id = ""
    if data.tax_id.strip():
        try:
            tax_id = validate_tax_id(country, data.tax_id)
        except TaxIdError as exc:
            raise CustomerError(f"tax_id: {exc}") from None
    return NewCustomer(number, name, tax_id, country, email, phone, data.preferred_channel)


async def create_customer(scope: TenantScope, data: NewCustomer, default_country: str) -> Customer:
    data = validate_customer(data, default_country)
    if await scope.exists(Customer).where(Customer.number == data.number):
        raise CustomerError(f"number {data.number!r}: already used by another customer")
    customer = Customer(
        number=data.number,
        name=data.name,
        tax_id=data.tax_id,
        tax_country=data.tax_country,
        email=data.email,
        phone=data.phone,
        preferred_channel=data.preferred_channel,
        consents={},
    )
    await scope.add(customer)
    return customer
