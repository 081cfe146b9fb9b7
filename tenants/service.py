"""Creating tenants and reading what plugins may know about them."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.core import get_global

from recaudo.core.common.jsonfield import loads
from recaudo.core.common.money import MoneyError, check_currency
from recaudo.core.platform.values import TenantInfo
from recaudo.tenants.models import Tenant, TenantDomain
from recaudo.tenants.resolve import RESERVED_SLUGS, valid_slug
from recaudo.tenants.urls import valid_hostname


class TenantError(ValueError):
    """Invalid tenant data; the message says which field and why."""


@dataclass(frozen=True)
class NewTenant:
    slug: str
    name: str
    country: str
    currency: str
    locale: str = "es_MX"
    timezone: str = "America/Mexico_City"
    test: bool = False  # a tenant for trying Recaudo: sandbox allowed, pages say "modo de prueba"


def validate_new_tenant(data: NewTenant) -> NewTenant:
    slug = data.slug.strip().lower()
    if not valid_slug(slug):
        reserved = f" ({', '.join(sorted(RESERVED_SLUGS))} are reserved)" if slug else ""
        raise TenantError(
            f"slug {data.slug!r}: use 1-63 lowercase letters, digits and dashes{reserved}"
        )
    name = data.name.strip()
    if not name or len(name) > 200:
        raise TenantError("name: required, at most 200 characters")
    country = data.country.strip().upper()
    # Real countries have a legal-tender currency in CLDR; "ZZ", "EU" and the like do not.
    tender = [c for c in get_global("territory_currencies").get(country, ()) if c[3]]
    if len(country) != 2 or not country.isalpha() or not tender:
        raise TenantError(f"country {data.country!r}: not an ISO 3166 country code")
    try:
        currency = check_currency(data.currency)
    except MoneyError as exc:
        raise TenantError(f"currency: {exc}") from None
    locale = data.locale.replace("-", "_")
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        raise TenantError(f"locale {data.locale!r}: unknown") from None
    try:
        ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise TenantError(f"timezone {data.timezone!r}: unknown IANA time zone") from None
    return NewTenant(slug, name, country, currency, locale, data.timezone, bool(data.test))


async def create_tenant(data: NewTenant, branding: dict | None = None) -> Tenant:
    data = validate_new_tenant(data)
    if await Tenant.exists().where(Tenant.slug == data.slug):
        raise TenantError(f"slug {data.slug!r}: already taken")
    tenant = Tenant(
        slug=data.slug,
        name=data.name,
        country=data.country,
        currency=data.currency,
        locale=data.locale,
        timezone=data.timezone,
        branding=branding or {},
        test=data.test,
    )
    await tenant.save().run()
    return tenant


async def add_domain(tenant: Tenant, domain: str) -> None:
    domain = domain.strip().lower().rstrip(".")
    if not valid_hostname(domain):
        raise TenantError(f"domain {domain!r}: not a host name (letters, digits, hyphens, dots)")
    if await TenantDomain.exists().where(TenantDomain.domain == domain):
        raise TenantError(f"domain {domain!r}: already in use")
    await TenantDomain(tenant=tenant.id, domain=domain).save().run()


def tenant_info(tenant: Tenant) -> TenantInfo:
    branding = loads(tenant.branding, {}) or {}
    return TenantInfo(
        id=int(tenant.id),
        slug=tenant.slug,
        name=tenant.name,
        country=tenant.country,
        currency=tenant.currency,
        locale=tenant.locale,
        timezone=tenant.timezone,
        branding=dict(branding),
        test=bool(tenant.test),
    )


async def list_tenants() -> list[Tenant]:
    return await Tenant.objects().order_by(Tenant.id)
