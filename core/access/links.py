"""Portal access without an account: one-time links, deep links and request rate limits.

A link is ``secrets.token_urlsafe(32)`` (256 bits); only its SHA-256 is stored, it expires after
:data:`LINK_TTL` and is consumed once by a conditional update (``used_at IS NULL``), so two
concurrent confirmations cannot both log in. Access requests are counted whatever the contact by
:mod:`recaudo.core.common.ratelimit` (check and record in one atomic step, shared by every web
process, saying nothing about whether the contact exists) and recorded as audit events.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from recaudo.core.billing.customers import normalise_phone
from recaudo.core.common import ratelimit
from recaudo.core.common.ratelimit import Limit
from recaudo.core.tables import AuditEvent, Customer, MagicLink
from recaudo.tenants.scoped import TenantScope

LINK_TTL = timedelta(minutes=15)
RATE_WINDOW = timedelta(minutes=15)
MAX_PER_CONTACT = 3
MAX_PER_IP = 20
REQUEST_ACTION = "portal.access_request"

LinkState = Literal["valid", "used", "expired", "unknown"]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def normalise_contact(raw: str) -> str:
    """One spelling per contact so the rate limit cannot be dodged by case or spaces."""
    text = (raw or "").strip()
    if "@" in text:
        return text.lower()
    phone = normalise_phone(text)
    return phone if phone.lstrip("+").isdigit() and len(phone) >= 7 else text.upper()


def _fingerprint(value: str) -> str:
    # Audit rows and rate-limit buckets keep hashes, not the raw contact or IP.
    return ratelimit.fingerprint(value)


async def find_customer(scope: TenantScope, contact: str) -> Customer | None:
    """The customer with this email, phone (any formatting) or customer number, if exactly one."""
    text = (contact or "").strip()
    if not text or len(text) > 254:
        return None
    where: Any
    if "@" in text:
        where = Customer.email == text.lower()
    else:
        phone = normalise_phone(text)
        digits = phone.lstrip("+")
        if digits.isdigit() and len(digits) >= 7:
            candidates = {phone, digits, "+" + digits}
            where = Customer.phone.is_in(sorted(candidates)) | (Customer.number == text)
        else:
            where = Customer.number == text
    rows = await scope.objects(Customer).where(where).limit(2)
    return rows[0] if len(rows) == 1 else None


def request_limits(scope: TenantScope, contact: str, ip: str) -> tuple[Limit, Limit]:
    """Per contact within this tenant, and per IP across every tenant (one sender, one budget)."""
    return (
        Limit(
            f"link:contact:{scope.tenant_id}:{_fingerprint(normalise_contact(contact))}",
            MAX_PER_CONTACT,
            RATE_WINDOW,
        ),
        Limit(f"link:ip:{_fingerprint(ip)}", MAX_PER_IP, RATE_WINDOW),
    )


async def admit_request(scope: TenantScope, contact: str, ip: str) -> bool:
    """Count this request against its limits and say whether it may proceed, atomically.

    Counted before the contact is looked up, whether or not it exists, so the answer and the
    limit say nothing about which contacts are customers.
    """
    return await ratelimit.hit(request_limits(scope, contact, ip)) is not None


async def record_request(scope: TenantScope, contact: str, ip: str) -> None:
    """The audit trail of an admitted request (hashes only); limits are :func:`admit_request`'s."""
    await scope.add(
        AuditEvent(
            actor="ip:" + _fingerprint(ip),
            action=REQUEST_ACTION,
            subject=_fingerprint(normalise_contact(contact)),
            data={},
            created_at=_now(),
        )
    )


def safe_target(target: str) -> str:
    """A path inside the tenant's portal, or ``""``: never another site (open redirect)."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or len(target) > 300
        or any(ord(c) < 33 for c in target)
    ):
        return ""
    return target


async def issue_link(
    scope: TenantScope, customer_id: int, target: str = "", ttl: timedelta = LINK_TTL
) -> str:
    """Create a one-time link for a customer; returns the token (never stored in clear)."""
    ttl = min(ttl, LINK_TTL)
    token = secrets.token_urlsafe(32)
    await scope.add(
        MagicLink(
            customer=customer_id,
            token_hash=token_hash(token),
            expires_at=_now() + ttl,
            used_at=None,
            target=safe_target(target),
            created_at=_now(),
        )
    )
    return token


def invoice_target(invoice_id: int) -> str:
    return f"/facturas/{int(invoice_id)}"


def pay_target(invoice_ids: list[int]) -> str:
    """The pay page with exactly these invoices selected (a reminder's link). Too many to fit a
    link's target: the pay page with everything due selected."""
    target = "/pagar?" + "&".join(f"factura={int(i)}" for i in sorted(set(invoice_ids)))
    return target if invoice_ids and len(target) <= 300 else "/pagar?todo=1"


async def pay_link(scope: TenantScope, base: str, customer_id: int, invoice_ids: list[int]) -> str:
    """An absolute one-time link that signs the customer in and opens the pay page with
    ``invoice_ids`` selected: the reminder's "pay now" (open, confirm, pay)."""
    token = await issue_link(scope, customer_id, pay_target(invoice_ids))
    return f"{base.rstrip('/')}/acceso/{token}"


async def deep_link(
    scope: TenantScope, base: str, customer_id: int, invoice_id: int | None = None
) -> str:
    """An absolute one-time link that logs the customer in and opens one invoice.

    ``base`` is the tenant's portal root (``https://host/t/<slug>``). The link obeys the same
    rules as a login link; when it has expired, the page it leads to offers a fresh one.
    """
    target = invoice_target(invoice_id) if invoice_id is not None else ""
    token = await issue_link(scope, customer_id, target)
    return f"{base.rstrip('/')}/acceso/{token}"


@dataclass(frozen=True)
class LinkInfo:
    state: LinkState
    customer_id: int = 0
    target: str = ""


async def inspect_link(scope: TenantScope, token: str) -> LinkInfo:
    """What a token is, without consuming it (the GET confirmation page)."""
    if not token or len(token) > 100:
        return LinkInfo("unknown")
    row = await scope.objects(MagicLink).where(MagicLink.token_hash == token_hash(token)).first()
    if row is None:
        return LinkInfo("unknown")
    if row.used_at is not None:
        return LinkInfo("used", int(row.customer), row.target)
    if _aware(row.expires_at) <= _now():
        return LinkInfo("expired", int(row.customer), row.target)
    return LinkInfo("valid", int(row.customer), row.target)


async def consume_link(scope: TenantScope, token: str) -> LinkInfo:
    """Use a link once. The conditional update makes concurrent confirmations race safely."""
    info = await inspect_link(scope, token)
    if info.state != "valid":
        return info
    now = _now()
    claimed = await (
        scope.update(MagicLink, {MagicLink.used_at: now})
        .where(
            MagicLink.token_hash == token_hash(token),
            MagicLink.used_at.is_null(),
            MagicLink.expires_at > now,
        )
        .returning(MagicLink.id)
    )
    if not claimed:
        return LinkInfo("used", info.customer_id, info.target)
    return info
