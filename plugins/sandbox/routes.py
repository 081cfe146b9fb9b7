"""The sandbox's hosted checkout page (what a real provider would host on its own domain)."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
from litestar import Request, Response, get, post
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import Body, FromPath
from litestar.response import Redirect
from litestar.template.base import csrf_token

from recaudo.api import Money, PluginContext, plugin_context
from recaudo.plugins.sandbox import TEST_CARDS, card_token, fee_for, read_setup, sign
from recaudo.plugins.sandbox.tables import SandboxCharge

log = logging.getLogger(__name__)
DECISIONS = {"approve": "approved", "reject": "rejected", "pending": "in_process"}

# Tests swap in an ASGI transport so the sandbox can notify an app that is not on a socket.
transport: httpx.AsyncBaseTransport | None = None


async def _charge(
    request: Request, slug: str, provider_id: str
) -> tuple[PluginContext, SandboxCharge]:
    """The tenant's context and its charge; only a test tenant's charges exist here.

    Anyone holding the page can approve a sandbox charge, so a real business's invoices must
    never be reachable through it, whatever plugins it has switched on.
    """
    ctx = await plugin_context(request, "sandbox", slug)
    charge = None
    if ctx is not None and ctx.tenant.test:
        charge = (
            await ctx.db.objects(SandboxCharge)
            .where(SandboxCharge.provider_id == provider_id)
            .first()
        )
    if ctx is None or charge is None:
        raise NotFoundException("Cobro de prueba no encontrado")
    return ctx, charge


async def still_valid(
    ctx: PluginContext, charge: SandboxCharge, now: datetime | None = None
) -> bool:
    """May this open charge still be decided? Not once its page expired, nor once Recaudo ended
    the payment it belongs to (a newer checkout for the same invoices replaced it, or it expired):
    approving it would pay those invoices twice."""
    now = now or datetime.now(UTC)
    expires = charge.expires_at
    if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= now:
        return False
    return await ctx.payment_open(int(charge.our_payment_id))


async def _page(
    request: Request, ctx: PluginContext, charge: SandboxCharge, status_code: int = 200
) -> Response[str]:
    open_ = charge.status in ("pending", "in_process")
    valid = open_ and await still_valid(ctx, charge)
    amount = Money(str(charge.currency), int(charge.amount))
    fee = fee_for(amount, ctx.settings)
    html = await ctx.render(
        "sandbox/checkout.html",
        charge=charge,
        open=open_,
        valid=valid,
        fee=fee,
        total=Money(amount.currency, amount.amount + fee.amount),
        csrf_token=csrf_token({"request": request}),
    )
    return Response(
        html,
        media_type=MediaType.HTML,
        status_code=status_code if valid or not open_ else 410,
    )


@get(
    "/sandbox/checkout/{slug:str}/{provider_id:str}",
    name="sandbox:checkout",
    operation_id="sandbox_checkout",
)
async def checkout_page(
    request: Request, slug: FromPath[str], provider_id: FromPath[str]
) -> Response[str]:
    ctx, charge = await _charge(request, slug, provider_id)
    return await _page(request, ctx, charge)


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


@post(
    "/sandbox/checkout/{slug:str}/{provider_id:str}",
    name="sandbox:decide",
    operation_id="sandbox_decide",
)
async def decide(
    request: Request,
    slug: FromPath[str],
    provider_id: FromPath[str],
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect | Response[str]:
    ctx, charge = await _charge(request, slug, provider_id)
    decision = DECISIONS.get(str(data.get("decision", "")))
    if decision is None:
        raise ClientException("Elige aprobar, rechazar o dejar pendiente")
    if charge.status in ("pending", "in_process") and not await still_valid(ctx, charge):
        return await _page(request, ctx, charge)
    if charge.status in ("pending", "in_process"):
        charge.status = decision
        charge.updated_at = datetime.now(UTC)
        await ctx.db.save(charge)
        try:
            await notify(charge)
        except httpx.HTTPError as exc:
            # The payment is not lost: the portal's status check and the reconciliation job
            # ask the sandbox for the authoritative state.
            log.warning("sandbox could not deliver its webhook: %s", exc)
    return Redirect(charge.return_url, status_code=303)


# --- "guardar tarjeta": the page where a tester saves a test card for autopay ------------------

_EXP = re.compile(r"^(0[1-9]|1[0-2])\s*/\s*(\d{2})$")


async def _setup(request: Request, slug: str, setup: str) -> tuple[PluginContext, str]:
    ctx = await plugin_context(request, "sandbox", slug)
    back = read_setup(slug, setup) if ctx is not None and ctx.tenant.test else None
    if ctx is None or back is None:
        raise NotFoundException("Página vencida o inexistente")
    return ctx, back


async def _card_page(
    request: Request, ctx: PluginContext, back: str, error: str = "", status_code: int = 200
) -> Response[str]:
    html = await ctx.render(
        "sandbox/card.html",
        back=back,
        error=error,
        cards=[(f"{n[:4]} {n[4:8]} {n[8:12]} {n[12:]}", b, o) for n, (b, o) in TEST_CARDS.items()],
        csrf_token=csrf_token({"request": request}),
    )
    return Response(html, media_type=MediaType.HTML, status_code=status_code)


@get("/sandbox/tarjetas/{slug:str}/{setup:str}", name="sandbox:card", operation_id="sandbox_card")
async def card_page(request: Request, slug: FromPath[str], setup: FromPath[str]) -> Response[str]:
    ctx, back = await _setup(request, slug, setup)
    return await _card_page(request, ctx, back)


@post(
    "/sandbox/tarjetas/{slug:str}/{setup:str}",
    name="sandbox:card_save",
    operation_id="sandbox_card_save",
)
async def card_save(
    request: Request,
    slug: FromPath[str],
    setup: FromPath[str],
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect | Response[str]:
    """Check the test card and send the tester back with a token (the number stays here)."""
    ctx, back = await _setup(request, slug, setup)
    number = re.sub(r"[\s-]", "", str(data.get("numero", "")))[:30]
    exp = str(data.get("vence", "")).strip()[:10]
    match = _EXP.match(exp)
    if data.get("accion") == "cancelar":
        return Redirect(back + ("&" if "?" in back else "?") + "cancelado=1", status_code=303)
    if number not in TEST_CARDS:
        return await _card_page(
            request, ctx, back, "Usa uno de los números de prueba de la lista.", 400
        )
    if match is None:
        return await _card_page(request, ctx, back, "Escribe el vencimiento así: 12/30.", 400)
    brand, outcome = TEST_CARDS[number]
    token = card_token(slug, brand, outcome, number[-4:], f"{match[1]}/{match[2]}")
    return Redirect(back + ("&" if "?" in back else "?") + "token=" + token, status_code=303)


ROUTES = [checkout_page, decide, card_page, card_save]
