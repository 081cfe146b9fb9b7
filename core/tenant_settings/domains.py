"""Ajustes → Dominios: custom domains that serve a tenant's portal, and the DNS record to create.

A domain is a host name with at least two labels, not an IP address, not the platform's own host
nor one of its subdomains (``<slug>.<base host>`` already belongs to tenants), and unique across
tenants (:class:`recaudo.tenants.models.TenantDomain` has a unique index).

DNS: the owner points the domain at the platform with a ``CNAME`` to the base host. There is no
TXT ownership token: the domain only ever shows this tenant's portal, and only once its DNS
points here, which only the domain's owner can arrange; a domain claimed by mistake is freed by
removing it (or by the platform operator). The page can look the name up to say whether it
already resolves to the platform.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

from recaudo.core.common.audit import record
from recaudo.core.tenant_settings.errors import FormErrors, SettingNotFound
from recaudo.tenants.models import Tenant, TenantDomain
from recaudo.tenants.resolve import LOCAL_HOSTS
from recaudo.tenants.scoped import TenantScope, as_id
from recaudo.tenants.urls import valid_hostname

MAX_DOMAINS = 10
DNS_TIMEOUT = 3.0


@dataclass(frozen=True)
class DnsRecord:
    name: str
    type: str
    value: str


def normalize(domain: str) -> str:
    value = (domain or "").strip().lower()
    for scheme in ("https://", "http://"):
        value = value.removeprefix(scheme)
    return value.rstrip("/").rstrip(".")


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def check_domain(domain: str, base_host: str) -> str:
    """The domain as stored, or :class:`FormErrors` on ``domain`` saying what is wrong."""
    value = normalize(domain)
    base = base_host.lower().split(":", 1)[0]
    if not value:
        raise FormErrors({"domain": "Escribe un dominio, por ejemplo pagos.tu-negocio.mx."})
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise FormErrors({"domain": "No es un nombre de dominio válido."}) from None
    if not valid_hostname(value) or "." not in value:
        raise FormErrors(
            {"domain": "No es un nombre de dominio válido (letras, dígitos, guiones y puntos)."}
        )
    if _is_ip(value):
        raise FormErrors({"domain": "Usa un nombre de dominio, no una dirección IP."})
    if value == base or value.endswith("." + base) or value in LOCAL_HOSTS:
        raise FormErrors(
            {"domain": "Ese dominio es de la plataforma: usa uno propio de tu negocio."}
        )
    if value.endswith((".localhost", ".local", ".internal", ".test", ".example", ".invalid")):
        raise FormErrors({"domain": "Ese dominio no se puede usar en internet."})
    return value


async def tenant_domains(tenant: Tenant) -> list[TenantDomain]:
    return (
        await TenantDomain.objects()
        .where(TenantDomain.tenant == tenant.id)
        .order_by(TenantDomain.domain)
    )


async def add_domain(
    scope: TenantScope, tenant: Tenant, domain: str, base_host: str, actor: str
) -> TenantDomain:
    value = check_domain(domain, base_host)
    existing = await TenantDomain.objects().where(TenantDomain.domain == value).first()
    if existing is not None:
        if int(existing.tenant) == int(tenant.id):
            raise FormErrors({"domain": "Ya agregaste ese dominio."})
        raise FormErrors({"domain": "Ese dominio ya lo usa otra cuenta."})
    if await TenantDomain.count().where(TenantDomain.tenant == tenant.id) >= MAX_DOMAINS:
        raise FormErrors({"domain": "Llegaste al máximo de 10 dominios."})
    row = TenantDomain(tenant=tenant.id, domain=value)
    try:
        await row.save().run()
    except Exception as exc:  # a concurrent add of the same domain: the unique index refused it
        if "unique" in str(exc).lower():
            raise FormErrors({"domain": "Ese dominio ya lo usa otra cuenta."}) from None
        raise
    await record(scope, actor, "settings.domain.added", f"tenant_domain:{row.id}", domain=value)
    return row


async def remove_domain(scope: TenantScope, tenant: Tenant, domain_id: int, actor: str) -> str:
    row = None
    if as_id(domain_id) is not None:
        row = (
            await TenantDomain.objects()
            .where((TenantDomain.id == domain_id) & (TenantDomain.tenant == tenant.id))
            .first()
        )
    if row is None:
        raise SettingNotFound("Ese dominio no existe en esta cuenta.")
    await TenantDomain.delete().where(
        (TenantDomain.id == domain_id) & (TenantDomain.tenant == tenant.id)
    )
    await record(
        scope, actor, "settings.domain.removed", f"tenant_domain:{domain_id}", domain=row.domain
    )
    return str(row.domain)


def dns_records(domain: str, base_host: str) -> list[DnsRecord]:
    """What to create at the domain's DNS provider: a CNAME to the platform's host."""
    return [DnsRecord(domain, "CNAME", base_host.split(":", 1)[0] + ".")]


def is_apex(domain: str) -> bool:
    """``tu-negocio.mx`` (no CNAME possible there) rather than ``pagos.tu-negocio.mx``; a rough
    guess: two labels, or three with a short second-level label (``com.mx``, ``co.uk``)."""
    labels = domain.split(".")
    return len(labels) == 2 or (len(labels) == 3 and len(labels[1]) <= 3 and len(labels[2]) == 2)


async def _addresses(name: str) -> set[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(name, None, type=socket.SOCK_STREAM), DNS_TIMEOUT
        )
    except (OSError, TimeoutError, UnicodeError):
        return set()
    return {str(info[4][0]) for info in infos}


async def dns_status(domain: str, base_host: str) -> str:
    """``ok`` (resolves to the platform's addresses), ``elsewhere`` (resolves, not here) or
    ``missing`` (does not resolve yet)."""
    mine = await _addresses(domain)
    if not mine:
        return "missing"
    platform = await _addresses(base_host.split(":", 1)[0])
    return "ok" if mine & platform else "elsewhere"
