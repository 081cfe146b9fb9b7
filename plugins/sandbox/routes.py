"""The sandbox's hosted checkout page (what a real provider would host on its own domain)."""

from __future__ import annotations

import json
import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from recaudo.core.payments import expiry
from recaudo.core.payments.expiry import aware, is_live
from recaudo.core.tables import Payment
from recaudo.plugins.sandbox import sign
from recaudo.plugins.sandbox.tables import SandboxCharge
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope, unscoped
from recaudo.web.templating import render

log = logging.getLogger(__name__)
DECISIONS = {"approve": "approved", "reject": "rejected", "pending": "in_process"}

# Tests swap in an ASGI transport so the sandbox can notify an app that is not on a socket.
transport: httpx.AsyncBaseTransport | None = None


async def _charge(provider_id: str) -> tuple[SandboxCharge, Tenant]:
    """The charge and its tenant; only a test tenant's charges exist here.

    Anyone holding the page can approve a sandbox charge, so a real business's invoices must
    never be reachable through it, whatever plugins it has switched on.
    """
    charge = (
        await unscoped(SandboxCharge)
        .objects()
        .where(SandboxCharge.provider_id == provider_id)
        .first()
    )
    tenant = None
    if charge is not None:
        tenant = await Tenant.objects().where(Tenant.id == charge.tenant).first()
    if charge is None or tenant is None or not tenant.test:
        raise NotFoundException("Cobro de prueba no encontrado")
    return charge, tenant


async def still_valid(charge: SandboxCharge, now: datetime | None = None) -> bool:
    """May this open charge still be decided? Not once its page expired, nor once Recaudo ended
    the payment it belongs to (a newer checkout for the same invoices replaced it, or it expired):
    approving it would pay those invoices twice."""
    now = now or expiry.now()
    if charge.expires_at is not None and aware(charge.expires_at) <= now:
        return False
    payment = await TenantScope(int(charge.tenant)).get(Payment, int(charge.our_payment_id))
    return payment is not None and is_live(payment, now)


async def _page(
    request: Request, charge: SandboxCharge, tenant: Tenant, status_code: int = 200
) -> Template:
    open_ = charge.status in ("pending", "in_process")
    valid = open_ and await still_valid(charge)
    return await render(
        request,
        "sandbox/checkout.html",
        tenant,
        status_code=status_code if valid or not open_ else 410,
        charge=charge,
        open=open_,
        valid=valid,
    )


@get(
    "/sandbox/checkout/{provider_id:str}", name="sandbox:checkout", operation_id="sandbox_checkout"
)
async def checkout_page(request: Request, provider_id: FromPath[str]) -> Template:
    charge, tenant = await _charge(provider_id)
    return await _page(request, charge, tenant)


async def notify(charge: SandboxCharge) -> None:
    """Send the signed notification a real provider would send."""
    body = json.dumps(
        {
            "id": charge.provider_id,
            "event_id": f"{charge.provider_id}:{charge.status}:{secrets.token_hex(4)}",
            "status": charge.status,
        }
    ).encode()
    ts = int(time.time())
    async with httpx.AsyncClient(transport=transport, timeout=10) as client:
        response = await client.post(
            charge.notification_url,
            content=body,
            headers={"content-type": "application/json", "x-sandbox-signature": sign(body, ts)},
        )
    if response.status_code != 200:
        log.warning("sandbox webhook answered %s: %s", response.status_code, response.text[:200])


@post("/sandbox/checkout/{provider_id:str}", name="sandbox:decide", operation_id="sandbox_decide")
async def decide(
    request: Request,
    provider_id: FromPath[str],
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect | Template:
    charge, tenant = await _charge(provider_id)
    decision = DECISIONS.get(str(data.get("decision", "")))
    if decision is None:
        from litestar.exceptions import ClientException

        raise ClientException("Elige aprobar, rechazar o dejar pendiente")
    if charge.status in ("pending", "in_process") and not await still_valid(charge):
        return await _page(request, charge, tenant)
    if charge.status in ("pending", "in_process"):
        charge.status = decision
        charge.updated_at = datetime.now(UTC)
        await charge.save().run()
        try:
            await notify(charge)
        except httpx.HTTPError as exc:
            # The payment is not lost: the portal's status check and the reconciliation job
            # ask the sandbox for the authoritative state.
            log.warning("sandbox could not deliver its webhook: %s", exc)
    return Redirect(charge.return_url, status_code=303)


ROUTES = [checkout_page, decide]
