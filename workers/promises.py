"""Jobs of promises to pay and late fees (``core/collections/promises.py``, ``late_fees.py``).

- ``promises_check`` (hourly, every tenant in turn): resolves pending promises as kept or
  broken on the tenant's calendar; each state change queues its webhook and, when broken, one
  ``promise_broken_notice``.
- ``promise_broken_notice``: e-mails the tenant's owners and collectors about one broken
  promise (at least once: a crash after sending and before the job is done sends it again).
- ``late_fees_daily`` (daily, every tenant in turn): charges the late-fee periods due today,
  where the tenant's policy is on.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import escape

from recaudo.core.collections.late_fees import charge_late_fees
from recaudo.core.collections.promises import check_promises, progress
from recaudo.core.config import active
from recaudo.core.messaging.i18n import formatter_for, translations
from recaudo.core.messaging.notify import send_to_customer
from recaudo.core.platform.jobs import Job, Schedule
from recaudo.core.platform.values import OutgoingMessage
from recaudo.core.tables import Customer, PaymentPromise, StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info
from recaudo.tenants.urls import portal_base_url


def _now(payload: dict[str, Any]) -> datetime:
    for key in ("now", "slot"):
        if key in payload:
            value = datetime.fromisoformat(str(payload[key]))
            return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.now(UTC)


log = logging.getLogger(__name__)


async def _tenant(scope: TenantScope) -> Tenant | None:
    return await Tenant.objects().where(Tenant.id == scope.tenant_id).first()


async def _tenants() -> list[Tenant]:
    return list(await Tenant.objects().order_by(Tenant.id))


async def promises_check(_ctx: None, payload: dict[str, Any]) -> None:
    """Every tenant's pending promises, each on its own calendar; one tenant's failure is
    logged and does not stop the others (the next hour tries it again)."""
    now = _now(payload)
    for tenant in await _tenants():
        try:
            await check_promises(TenantScope(int(tenant.id)), str(tenant.timezone), now)
        except Exception:
            log.exception("promises check failed for tenant %s", tenant.id)


async def late_fees_daily(_ctx: None, payload: dict[str, Any]) -> None:
    """Late-fee periods due today for every tenant whose policy is on."""
    now = _now(payload)
    for tenant in await _tenants():
        try:
            zone = ZoneInfo(str(tenant.timezone))
        except (KeyError, ValueError):
            zone = ZoneInfo("UTC")
        try:
            await charge_late_fees(TenantScope(int(tenant.id)), now.astimezone(zone).date())
        except Exception:
            log.exception("late fees failed for tenant %s", tenant.id)


def notice_text(
    language: str, tenant_name: str, customer: str, date_text: str, owed: str, paid: str, link: str
) -> tuple[str, str]:
    """Subject and body of the staff e-mail about a broken promise."""
    _ = translations(language).gettext
    subject = _("Promesa de pago incumplida: %(customer)s") % {"customer": customer}
    lines = [
        _("%(customer)s prometió pagar %(amount)s a más tardar el %(date)s y no se cumplió.")
        % {"customer": customer, "amount": owed, "date": date_text},
        _("Pagado desde la promesa: %(paid)s.") % {"paid": paid},
        _("Los recordatorios de sus facturas se reanudan. Revisa las promesas en %(name)s:")
        % {"name": tenant_name},
        link,
    ]
    return subject, "\n\n".join(lines)


async def promise_broken_notice(scope: TenantScope, payload: dict[str, Any]) -> None:
    promise = await scope.get(PaymentPromise, int(payload["promise_id"]))
    tenant = await _tenant(scope)
    if promise is None or tenant is None or promise.status != "broken":
        return
    customer = await scope.get(Customer, int(promise.customer))
    staff = await scope.objects(StaffUser).where(
        StaffUser.active.eq(True), StaffUser.role.is_in(["owner", "collector"])
    )
    if customer is None or not staff:
        return
    settings = active()
    info = tenant_info(tenant)
    name = str(info.branding.get("display_name") or tenant.name)
    link = f"{portal_base_url(str(tenant.slug), settings)}/staff/plans"
    state = await progress(scope, promise, str(tenant.timezone))
    fmt = formatter_for("es", tenant.locale, tenant.timezone)
    who = f"{customer.name} ({customer.number})"
    subject, text = notice_text(
        "es",
        name,
        who,
        fmt.date(promise.promised_date),
        fmt.money(int(promise.amount), str(promise.currency)),
        fmt.money(state.paid_by_date + state.paid_after, str(promise.currency)),
        link,
    )
    html = "\n".join(
        f'<p><a href="{escape(p)}">{escape(p)}</a></p>' if p == link else f"<p>{escape(p)}</p>"
        for p in text.split("\n\n")
    )
    for user in staff:
        # Staff are not customers: an unsaved stand-in carries the address to the email channel.
        recipient = Customer(name=user.email, email=user.email, phone="", preferred_channel="email")
        await send_to_customer(
            scope,
            info,
            recipient,
            OutgoingMessage(
                to="", subject=subject, text=text, html=html, kind="staff_promise_broken"
            ),
            secret_key=settings.secret_key,
            prefer=("email",),
            only=("email",),
        )


JOBS = [
    Job("promises_check", promises_check, queue="default", time_limit=timedelta(minutes=10)),
    Job("promise_broken_notice", promise_broken_notice, queue="messages"),
    Job("late_fees_daily", late_fees_daily, queue="default", time_limit=timedelta(minutes=30)),
]
SCHEDULES = [
    Schedule("promises_check", "promises_check", every=timedelta(hours=1), per_tenant=False),
    Schedule("late_fees_daily", "late_fees_daily", every=timedelta(days=1), per_tenant=False),
]
