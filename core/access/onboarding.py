"""The owner's onboarding checklist: what a new business still has to do before its customers can
pay online, each item computed from real data and linked to the page that does it.

Shown on the staff home to owners until every item is done or an owner dismisses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from recaudo.core.access import staff_links, totp
from recaudo.core.casework.review.common import PROOF_METHOD
from recaudo.core.common.jsonfield import loads
from recaudo.core.payments.manual import MANUAL_METHODS
from recaudo.core.tables import Customer, Invoice, Payment, StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info

# Statuses of money actually received through a payment method (not pending, not refused).
PAID_STATUSES = ("approved", "partially_refunded", "refunded", "charged_back")
# Payments staff record by hand (cash, cheque, transfer; a confirmed proof) are not "online".
OFFLINE_METHODS = (*MANUAL_METHODS, PROOF_METHOD)


@dataclass(frozen=True)
class Item:
    key: str
    label: str  # Spanish; translated by the template
    path: str  # under the staff base, e.g. "/ajustes/marca"
    done: bool


@dataclass(frozen=True)
class Checklist:
    items: tuple[Item, ...]

    @property
    def done(self) -> int:
        return sum(1 for item in self.items if item.done)

    @property
    def complete(self) -> bool:
        return all(item.done for item in self.items)


async def _payment_method_ready(scope: TenantScope, tenant: Tenant) -> bool:
    from recaudo.core.payments.registry import usable_methods

    info = tenant_info(tenant)
    try:
        return bool(await usable_methods(scope, info, str(tenant.currency)))
    except Exception:  # no plugin host (a bare CLI): say "not yet" rather than fail the page
        return False


async def checklist(scope: TenantScope, tenant: Tenant) -> Checklist:
    branding = loads(tenant.branding, {}) or {}
    customers = await scope.count(Customer)
    invoices = await scope.count(Invoice)
    members = await scope.count(StaffUser)
    invited = bool(await staff_links.pending_invitations(scope))
    paid_online = await scope.exists(Payment).where(
        Payment.status.is_in(list(PAID_STATUSES)) & Payment.method.not_in(list(OFFLINE_METHODS))
    )
    return Checklist(
        (
            Item(
                "branding",
                "Pon tu marca: logo, colores y datos de contacto",
                "/ajustes/marca",
                any(bool(v) for v in dict(branding).values()),
            ),
            Item(
                "payment_method",
                "Activa y configura un método de pago",
                "/ajustes/pagos",
                await _payment_method_ready(scope, tenant),
            ),
            Item(
                "customers",
                "Carga tus clientes y sus facturas",
                "/importar",
                customers > 0 and invoices > 0,
            ),
            Item("team", "Invita a tu equipo", "/equipo", members > 1 or invited),
            Item(
                "first_payment",
                "Recibe el primer pago en línea",
                "/pagos",
                bool(paid_online),
            ),
        )
    )


async def visible_checklist(
    scope: TenantScope, tenant: Tenant, user: StaffUser
) -> Checklist | None:
    """The checklist for an owner, unless it is complete or was dismissed."""
    if str(user.role) != "owner":
        return None
    policy = await totp.policy(scope)
    if policy is not None and policy.checklist_dismissed:
        return None
    found = await checklist(scope, tenant)
    return None if found.complete else found
