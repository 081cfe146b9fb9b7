"""/staff/ajustes/webhooks over HTTP: owners manage, everyone else reads; tenants never mix.

The app runs in-process; the receiver is a real HTTP server on 127.0.0.1 (development mode).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from recaudo.core.access.staff import create_staff
from recaudo.core.config import Settings
from recaudo.core.platform.host import PluginHost
from recaudo.core.tables import AuditEvent, WebhookDelivery, WebhookEndpoint
from recaudo.core.webhooks import endpoints as hooks
from recaudo.core.webhooks import events
from recaudo.tenants.scoped import TenantScope
from tests.conftest import drain_jobs, make_tenant
from tests.webhook_receiver import Receiver, receiver, verify

PASSWORD = "clave-de-prueba-123"
BASE = "http://testserver"


@dataclass
class Side:
    slug: str
    scope: TenantScope
    endpoint: int = 0
    delivery: int = 0

    @property
    def hooks(self) -> str:
        return f"/t/{self.slug}/staff/ajustes/webhooks"

    def email(self, role: str) -> str:
        return f"{role}@{self.slug}.example"


@dataclass
class World:
    app: Any
    a: Side
    b: Side
    box: Receiver


@pytest.fixture
def box() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


async def _seed(slug: str, url: str, roles: tuple[str, ...]) -> Side:
    tenant = await make_tenant(slug)
    side = Side(slug, TenantScope(int(tenant.id)))
    for role in roles:
        await create_staff(side.scope, side.email(role), PASSWORD, role, role.title())
    made = await hooks.create_endpoint(side.scope, url, ["*"], "ERP <b>", "test")
    side.endpoint = int(made.endpoint.id)
    side.delivery = int((await events.ping(side.scope, made.endpoint, "test")).id)
    return side


@pytest.fixture
async def world(database: str, host: PluginHost, box: Receiver) -> World:
    from tests.apps import asgi_app

    settings = Settings(
        env="development", database_url=database, secret_key="x" * 40, base_url=BASE
    )
    app = asgi_app(settings)
    suffix = uuid.uuid4().hex[:6]
    a = await _seed(f"alfa-{suffix}", box.url, ("owner", "collector", "viewer"))
    b = await _seed(f"beta-{suffix}", box.url, ())  # only its ids are used
    return World(app, a, b, box)


@asynccontextmanager
async def signed_in(world: World, side: Side, role: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        response = await post(
            c,
            side,
            f"/t/{side.slug}/staff/login",
            {"email": side.email(role), "password": PASSWORD},
        )
        assert response.status_code == 303, response.text
        yield c


async def post(
    c: httpx.AsyncClient, side: Side, url: str, data: dict[str, Any] | None = None
) -> httpx.Response:
    if "csrftoken" not in c.cookies:
        await c.get(f"/t/{side.slug}/staff/login")
    form = {"_csrf_token": str(c.cookies["csrftoken"]), **(data or {})}
    return await c.post(url, data=form, headers={"accept": "text/html"})


def routes(side: Side, other: Side) -> tuple[list[str], list[tuple[str, dict[str, str]]]]:
    """Every webhooks route, pointed at ``other``'s endpoint and delivery ids."""
    e, d = other.endpoint, other.delivery
    reads = [f"{side.hooks}/{e}", f"{side.hooks}/{e}?estado=failed&pagina=2"]
    writes = [
        (f"{side.hooks}/{e}/estado", {"active": "0"}),
        (f"{side.hooks}/{e}/eliminar", {"confirm": "1"}),
        (f"{side.hooks}/{e}/rotar", {}),
        (f"{side.hooks}/{e}/probar", {}),
        (f"{side.hooks}/{e}/entregas/{d}/reenviar", {}),
        # own endpoint, other tenant's delivery
        (f"{side.hooks}/{side.endpoint}/entregas/{d}/reenviar", {}),
    ]
    return reads, writes


async def test_owner_adds_an_endpoint_sees_the_secret_once_and_a_ping_arrives_signed(
    world: World,
) -> None:
    a = world.a
    async with signed_in(world, a, "owner") as c:
        page = await c.get(a.hooks)
        assert page.status_code == 200 and "Webhooks" in page.text
        assert "ERP &lt;b&gt;" in page.text  # tenant text is escaped
        made = await post(
            c,
            a,
            a.hooks,
            {
                "url": world.box.url + "?nuevo=1",
                "description": "Contabilidad",
                "events": [
                    "invoice.created",
                    "payment.approved",
                ],
            },
        )
        assert made.status_code == 201, made.text
        secret = re.search(r'value="(whsec_[^"]+)"', made.text)
        assert secret is not None
        assert made.headers["cache-control"] == "no-store"
        endpoint = (
            await a.scope.objects(WebhookEndpoint).where(
                WebhookEndpoint.description == "Contabilidad"
            )
        )[0]
        assert json.loads(endpoint.events) if isinstance(endpoint.events, str) else endpoint.events
        detail = await c.get(f"{a.hooks}/{endpoint.id}")
        assert detail.status_code == 200
        assert secret.group(1) not in detail.text  # never shown again
        pinged = await post(c, a, f"{a.hooks}/{endpoint.id}/probar")
        assert pinged.status_code == 303
    world.box.requests.clear()
    await drain_jobs()
    pings = [r for r in world.box.requests if r.path.endswith("?nuevo=1")]
    assert len(pings) == 1
    assert json.loads(pings[0].body)["type"] == "ping"
    assert verify(pings[0].headers["recaudo-signature"], pings[0].body, secret.group(1))
    actions = {r.action for r in await a.scope.objects(AuditEvent)}
    assert {"webhook.created", "webhook.ping"} <= actions


async def test_bad_url_is_a_400_naming_the_field_and_changes_nothing(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "owner") as c:
        before = await a.scope.count(WebhookEndpoint)
        for data in (
            {"url": "ftp://example.com/x", "all_events": "1"},
            {"url": "", "all_events": "1"},
            {"url": "https://ok.example.com/x"},  # no events chosen
            {"url": "https://ok.example.com/x", "events": "invoice.exploded"},
            {"url": "https://ok.example.com/x", "all_events": "1", "description": "x" * 201},
        ):
            response = await post(c, a, a.hooks, data)
            assert response.status_code == 400, data
            assert re.search(r"(url|events|description): ", response.text), data
        english = await c.post(
            f"{a.hooks}?lang=en",
            data={"_csrf_token": str(c.cookies["csrftoken"]), "url": "", "all_events": "1"},
            headers={"accept": "text/html"},
        )
        assert english.status_code == 400
        assert "url: enter the address that will receive the events." in english.text
        assert "Add an endpoint" in english.text
        bad_state = await post(c, a, f"{a.hooks}/{a.endpoint}/estado", {"active": "maybe"})
        assert bad_state.status_code == 400 and "active" in bad_state.text
        assert await a.scope.count(WebhookEndpoint) == before


async def test_disable_enable_rotate_resend_delete_are_audited(world: World) -> None:
    a = world.a
    base = f"{a.hooks}/{a.endpoint}"
    async with signed_in(world, a, "owner") as c:
        assert (await post(c, a, f"{base}/estado", {"active": "0"})).status_code == 303
        assert (await a.scope.get(WebhookEndpoint, a.endpoint)).active is False  # type: ignore[union-attr]
        assert (await post(c, a, f"{base}/estado", {"active": "1"})).status_code == 303
        rotated = await post(c, a, f"{base}/rotar")
        assert rotated.status_code == 200 and "whsec_" in rotated.text
        await drain_jobs()
        resent = await post(c, a, f"{base}/entregas/{a.delivery}/reenviar")
        assert resent.status_code == 303
        await drain_jobs()
        log = await c.get(f"{base}?estado=delivered")
        assert log.status_code == 200 and 'data-status="delivered"' in log.text
        assert 'data-status="pending"' not in log.text
        unconfirmed = await post(c, a, f"{base}/eliminar")
        assert unconfirmed.status_code == 400 and "confirm" in unconfirmed.text
        assert await a.scope.get(WebhookEndpoint, a.endpoint) is not None
        assert (await post(c, a, f"{base}/eliminar", {"confirm": "1"})).status_code == 303
        assert await a.scope.get(WebhookEndpoint, a.endpoint) is None
        assert (await c.get(base)).status_code == 404
    actions = [r.action for r in await a.scope.objects(AuditEvent).order_by(AuditEvent.id)]
    for action in (
        "webhook.disabled",
        "webhook.enabled",
        "webhook.secret_rotated",
        "webhook.resent",
        "webhook.deleted",
    ):
        assert action in actions


async def test_log_is_paginated_and_filtered_newest_first(world: World) -> None:
    a = world.a
    endpoint = await a.scope.get(WebhookEndpoint, a.endpoint)
    assert endpoint is not None
    for _ in range(30):
        await events.ping(a.scope, endpoint, "test")
    async with signed_in(world, a, "viewer") as c:
        first = await c.get(f"{a.hooks}/{a.endpoint}")
        second = await c.get(f"{a.hooks}/{a.endpoint}?pagina=2")
        junk = await c.get(f"{a.hooks}/{a.endpoint}?pagina=abc&estado=nope&evento=<x>")
        by_event = await c.get(f"{a.hooks}/{a.endpoint}?evento=invoice.created")
        pings = await c.get(f"{a.hooks}/{a.endpoint}?evento=ping&estado=pending&pagina=9")
    assert "data-delivery=" not in by_event.text and "No hay entregas" in by_event.text
    assert len(re.findall(r'data-delivery="(\d+)"', pings.text)) == 6  # page 9 → the last page
    ids1 = [int(i) for i in re.findall(r'data-delivery="(\d+)"', first.text)]
    ids2 = [int(i) for i in re.findall(r'data-delivery="(\d+)"', second.text)]
    assert len(ids1) == 25 and len(ids2) == 6
    assert ids1 == sorted(ids1, reverse=True) and max(ids2) < min(ids1)
    assert junk.status_code == 200


@pytest.mark.parametrize("role", ["collector", "viewer"])
async def test_others_read_the_log_but_change_nothing(world: World, role: str) -> None:
    a = world.a
    async with signed_in(world, a, role) as c:
        page = await c.get(a.hooks)
        assert page.status_code == 200
        assert 'id="new-endpoint"' not in page.text
        detail = await c.get(f"{a.hooks}/{a.endpoint}")
        assert detail.status_code == 200 and "/reenviar" not in detail.text
        assert "Registro de entregas" in detail.text
        english = await c.get(f"{a.hooks}/{a.endpoint}?lang=en")
        assert "Delivery log" in english.text and "Test (ping)" in english.text
        before = await a.scope.count(WebhookDelivery)
        audit = await a.scope.count(AuditEvent)
        _reads, writes = routes(a, a)
        for url, data in [(a.hooks, {"url": world.box.url, "all_events": "1"}), *writes[:-1]]:
            response = await post(c, a, url, data)
            assert response.status_code == 403, url
        assert await a.scope.count(WebhookDelivery) == before
        assert await a.scope.count(AuditEvent) == audit
        endpoint = await a.scope.get(WebhookEndpoint, a.endpoint)
        assert endpoint is not None and endpoint.active


async def test_other_tenants_ids_are_404_on_every_route(world: World) -> None:
    a, b = world.a, world.b
    async with signed_in(world, a, "owner") as c:
        reads, writes = routes(a, b)
        for url in [*reads, f"{a.hooks}/abc", f"{a.hooks}/99999999999"]:
            assert (await c.get(url)).status_code == 404, url
        for url, data in writes:
            assert (await post(c, a, url, data)).status_code == 404, url
    endpoint = await b.scope.get(WebhookEndpoint, b.endpoint)
    assert endpoint is not None and endpoint.active
    assert await b.scope.count(WebhookDelivery) == 1


async def test_posts_need_the_csrf_token(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "owner") as c:
        response = await c.post(
            f"{a.hooks}/{a.endpoint}/eliminar",
            data={"confirm": "1"},
            headers={"accept": "text/html"},
        )
        assert response.status_code == 403
    assert await a.scope.get(WebhookEndpoint, a.endpoint) is not None


async def test_signed_out_goes_to_login(world: World) -> None:
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        response = await c.get(world.a.hooks)
    assert response.status_code == 303 and "/login" in response.headers["location"]
