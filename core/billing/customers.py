"""Customers (debtors) of a tenant."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from recaudo.core.billing.errors import RecordNotFound, actor_name
from recaudo.core.billing.taxids import TaxIdError, validate_tax_id
from recaudo.core.common.audit import record
from recaudo.core.db import transaction
from recaudo.core.tables import Customer, CustomerNote, StaffUser
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
    locale: str = ""
    segment: str = ""
    tags: tuple[str, ...] = ()
    fiscal_name: str = ""
    fiscal_regime: str = ""
    fiscal_postal_code: str = ""
    fiscal_use: str = ""


FISCAL_FIELDS = ("fiscal_name", "fiscal_regime", "fiscal_postal_code", "fiscal_use")
_FISCAL_CODE = re.compile(r"^[A-Za-z0-9]{0,10}$")


def _fiscal(data: NewCustomer) -> dict[str, str]:
    """The fiscal identity as stored: the name trimmed (at most 300), codes upper-case and short.

    Only the shape is checked here; whether the codes exist and fit together is the tenant's
    e-invoicing backend's call (``recaudo.core.einvoicing.service.fiscal_errors``).
    """
    name = " ".join((data.fiscal_name or "").split())
    if len(name) > 300:
        raise CustomerError("fiscal_name: at most 300 characters")
    out = {"fiscal_name": name}
    for field in FISCAL_FIELDS[1:]:
        value = (getattr(data, field) or "").strip().upper()
        if not _FISCAL_CODE.match(value):
            raise CustomerError(f"{field}: a code of letters and digits, at most 10 characters")
        out[field] = value
    return out


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
    country = (data.tax_country or default_country).strip().upper()
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        raise CustomerError("tax_country: a two-letter country code such as MX or CO")
    tax_id = ""
    if data.tax_id.strip():
        try:
            tax_id = validate_tax_id(country, data.tax_id)
        except TaxIdError as exc:
            raise CustomerError(f"tax_id: {exc}") from None
    return replace(
        data,
        number=number,
        name=name,
        tax_id=tax_id,
        tax_country=country,
        email=email,
        phone=phone,
        locale=_locale(data.locale),
        segment=_segment(data.segment),
        tags=clean_tags(data.tags),
        **_fiscal(data),
    )


# --- segment, tags, locale (records) --------------------------------------------------------------

LOCALES = ("", "es", "en")
MAX_TAGS = 20
MAX_TAG = 30
MAX_SEGMENT = 40


def _locale(value: str) -> str:
    text = (value or "").strip()
    if text not in LOCALES:
        raise CustomerError("locale: use es, en or leave it empty (the business's language)")
    return text


def _segment(value: str) -> str:
    text = " ".join((value or "").split())
    if len(text) > MAX_SEGMENT:
        raise CustomerError(f"segment: at most {MAX_SEGMENT} characters")
    return text


def clean_tags(tags: Iterable[str] | str) -> tuple[str, ...]:
    """Tags lowercased, trimmed, without repeats, in the order given; ``"a, b"`` is two tags."""
    items = tags.split(",") if isinstance(tags, str) else list(tags)
    out: list[str] = []
    for raw in items:
        tag = " ".join(str(raw).split()).lower()
        if not tag:
            continue
        if "," in tag or len(tag) > MAX_TAG:
            raise CustomerError(f"tags {raw!r}: at most {MAX_TAG} characters, no commas")
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise CustomerError(f"tags: at most {MAX_TAGS}")
    return tuple(out)


def tags_column(tags: Iterable[str]) -> str:
    """Tags as stored: ``,vip,norte,`` (empty string for none)."""
    items = list(tags)
    return f",{','.join(items)}," if items else ""


def tags_of(customer: Customer | Mapping[str, Any]) -> tuple[str, ...]:
    value = customer["tags"] if isinstance(customer, Mapping) else customer.tags
    return tuple(t for t in str(value or "").split(",") if t)


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
        locale=data.locale,
        segment=data.segment,
        tags=tags_column(data.tags),
        consents={},
        fiscal_name=data.fiscal_name,
        fiscal_regime=data.fiscal_regime,
        fiscal_postal_code=data.fiscal_postal_code,
        fiscal_use=data.fiscal_use,
    )
    await scope.add(customer)
    return customer


EDITABLE = tuple(f.name for f in fields(NewCustomer))


def as_new_customer(customer: Customer) -> NewCustomer:
    """The customer as a form or the API would submit it unchanged (the base of an edit)."""
    return NewCustomer(
        number=str(customer.number),
        name=str(customer.name),
        tax_id=str(customer.tax_id or ""),
        tax_country=str(customer.tax_country or ""),
        email=str(customer.email or ""),
        phone=str(customer.phone or ""),
        preferred_channel=str(customer.preferred_channel or "email"),
        locale=str(customer.locale or ""),
        segment=str(customer.segment or ""),
        tags=tags_of(customer),
        fiscal_name=str(customer.fiscal_name or ""),
        fiscal_regime=str(customer.fiscal_regime or ""),
        fiscal_postal_code=str(customer.fiscal_postal_code or ""),
        fiscal_use=str(customer.fiscal_use or ""),
    )


async def update_customer(
    scope: TenantScope,
    customer_id: int,
    changes: Mapping[str, Any],
    actor: StaffUser | str,
    default_country: str = "",
) -> Customer:
    """Change a customer's data; ``changes`` names only what changes (any of :data:`EDITABLE`).

    Validated like :func:`create_customer` (the tax id against the country given, else the
    customer's, else ``default_country``). Consents are not editable: they are what the customer
    chose in the portal. Writes an audit event ``customer.updated`` with the changed fields' old
    and new values; nothing is stored when anything is invalid.
    """
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise CustomerError(f"{unknown[0]}: not a field that can be changed")
    for key, value in changes.items():
        ok = isinstance(value, str) or (
            key == "tags"
            and isinstance(value, list | tuple)
            and all(isinstance(v, str) for v in value)
        )
        if not ok:
            raise CustomerError(f"{key}: must be text")
    customer = await scope.get(Customer, customer_id)
    if customer is None:
        raise RecordNotFound(f"customer {customer_id}: not found")
    before = as_new_customer(customer)
    try:
        merged = replace(before, **dict(changes))
    except TypeError as exc:  # pragma: no cover - names were checked above
        raise CustomerError(str(exc)) from None
    after = validate_customer(merged, default_country)
    old, new = asdict(before), asdict(after)
    changed = {key: [old[key], new[key]] for key in EDITABLE if old[key] != new[key]}
    if not changed:
        return customer
    async with transaction():
        if "number" in changed and await scope.exists(Customer).where(
            (Customer.number == after.number) & (Customer.id != customer.id)
        ):
            raise CustomerError(f"number {after.number!r}: already used by another customer")
        values = {
            Customer.number: after.number,
            Customer.name: after.name,
            Customer.tax_id: after.tax_id,
            Customer.tax_country: after.tax_country,
            Customer.email: after.email,
            Customer.phone: after.phone,
            Customer.preferred_channel: after.preferred_channel,
            Customer.locale: after.locale,
            Customer.segment: after.segment,
            Customer.tags: tags_column(after.tags),
            Customer.fiscal_name: after.fiscal_name,
            Customer.fiscal_regime: after.fiscal_regime,
            Customer.fiscal_postal_code: after.fiscal_postal_code,
            Customer.fiscal_use: after.fiscal_use,
        }
        await scope.update(Customer, values).where(Customer.id == customer.id)
        audit = {
            key: [list(v) if isinstance(v, tuple) else v for v in pair]
            for key, pair in changed.items()
        }
        await record(
            scope, actor_name(actor), "customer.updated", f"customer:{customer.id}", changes=audit
        )
    for column, value in values.items():
        setattr(customer, column._meta.name, value)
    return customer


MAX_NOTE = 2000


async def add_note(
    scope: TenantScope, customer_id: int, body: str, actor: StaffUser
) -> CustomerNote:
    """A staff note on a customer (shown in the timeline, never to the customer); audited."""
    text = (body or "").strip() if isinstance(body, str) else ""
    if not text:
        raise CustomerError("body: write the note")
    if len(text) > MAX_NOTE:
        raise CustomerError(f"body: at most {MAX_NOTE} characters")
    if await scope.get(Customer, customer_id) is None:
        raise RecordNotFound(f"customer {customer_id}: not found")
    note = CustomerNote(customer=customer_id, author=actor.id, body=text)
    async with transaction():
        await scope.add(note)
        await record(
            scope,
            actor_name(actor),
            "customer.note_added",
            f"customer:{customer_id}",
            note=int(note.id),
        )
    return note
