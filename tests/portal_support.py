"""Shared set-up for the portal's HTTP tests: an app on ASGITransport, a tenant with customers
and invoices, and a client that logs in through the real one-time-link flow."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.config import Settings
from recaudo.core.platform.host import get_host
from recaudo.core.tables import Customer, NotificationLog
from recaudo.tenants.models import Tenant
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant

POLICY = {
    "plan_max_installments": 4,
    "plan_min_down_payment_bp": 1000,
    "plan_max_days": 120,
    "advice_links": [["Educación financiera", "https://example.org/finanzas"]],
}
BANK = {
    "bank_name": "Banco Demo",
    "account_holder": "Demo SA",
    "account_number": "1234567890",
    "reference_prefix": "7",
}
LINK_RE = re.compile(r"https?://[^\s\"'<>]+/acceso/[A-Za-z0-9_-]{40,}")


def make_settings(database: str, smtp_url: str = "", env: str = "development") -> Settings:
    return Settings(
        env=env,
        database_url=database,
        secret_key="x" * 40,
        base_url="http://testserver",
        smtp_url=smtp_url,
    )


def make_app(settings: Settings) -> Any:
    from tests.apps import asgi_app

    app = asgi_app(settings)
    # ASGITransport sends no lifespan events: run the start-up hook ourselves.
    get_host().results("recaudo_startup", settings=settings)
    return app


@dataclass
class Shop:
    tenant: Tenant
    scope: TenantScope
    customers: list[Customer] = field(default_factory=list)
    invoices: dict[int, list[int]] = field(default_factory=dict)  # customer id -> invoice ids

    @property
    def slug(self) -> str:
        return str(self.tenant.slug)

    @property
    def prefix(self) -> str:
        return f"/t/{self.tenant.slug}"


async def make_shop(
    name: str = "tienda",
    country: str = "MX",
    currency: str = "MXN",
    today: date | None = None,
    policy: dict[str, Any] | None = None,
) -> Shop:
    # A test tenant: the shop pays through the sandbox gateway.
    tenant = await make_tenant(f"{name}-{uuid.uuid4().hex[:6]}", country, currency, test=True)
    # The tenant's calendar day, not the machine's: between midnight UTC and the tenant's
    # midnight they differ, and every "days late" figure would be off by one.
    today = today or datetime.now(ZoneInfo(str(tenant.timezone))).date()
    tenant.policy = POLICY if policy is None else policy
    await tenant.save().run()
    scope = TenantScope(int(tenant.id))
    for plugin in ("sandbox", "email", "banktransfer", "branding"):
        await set_plugin(
            scope,
            plugin,
            enabled=True,
            settings=BANK if plugin == "banktransfer" else None,
            secret_key="x" * 40,
        )
    shop = Shop(tenant, scope)
    tag = uuid.uuid4().hex[:6]
    for i, (who, email, phone) in enumerate(
        [
            ("Ana Pérez", f"ana.{tag}@example.com", "+5255000000" + str(10 + len(tag) % 10)),
            ("Luis Gómez", f"luis.{tag}@example.com", ""),
        ]
    ):
        customer = await create_customer(
            scope, NewCustomer(f"C-{tag}-{i}", who, email=email, phone=phone), country
        )
        shop.customers.append(customer)
        ids = []
        for j, (days, amount) in enumerate([(40, 100_000), (5, 50_000), (-10, 25_000)]):
            invoice = await create_invoice(
                scope,
                NewInvoice(
                    customer_id=int(customer.id),
                    number=f"F-{tag}-{i}{j}",
                    issue_date=today - timedelta(days=days + 30),
                    due_date=today - timedelta(days=days),
                    currency=currency,
                    lines=(NewLine("Servicio", 1, amount),),
                ),
            )
            ids.append(int(invoice.id))
        shop.invoices[int(customer.id)] = ids
    return shop


def csrf(client: httpx.AsyncClient) -> str:
    return client.cookies.get("csrftoken") or ""


async def post_form(
    client: httpx.AsyncClient,
    url: str,
    data: dict[str, Any] | list[tuple[str, str]] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """POST a form with the CSRF token, fetching a page first if the cookie is not there yet."""
    if not csrf(client):
        await client.get(url.rsplit("/", 1)[0] + "/" if "/t/" in url else "/")
    items = list(data.items()) if isinstance(data, dict) else list(data or [])
    form: dict[str, list[str]] = {}
    for key, value in [*items, ("_csrf_token", csrf(client))]:
        form.setdefault(key, []).extend(value if isinstance(value, list) else [str(value)])
    return await client.post(url, data=form, **kwargs)


async def latest_link(scope: TenantScope, recipient: str) -> str:
    rows = await (
        scope.select(NotificationLog, NotificationLog.body_text)
        .where(NotificationLog.recipient == recipient)
        .order_by(NotificationLog.id, ascending=False)
        .limit(1)
    )
    assert rows, f"no message for {recipient}"
    match = LINK_RE.search(rows[0]["body_text"])
    assert match, rows[0]["body_text"]
    return match.group(0)


async def login(client: httpx.AsyncClient, shop: Shop, customer: Customer) -> None:
    """The whole front-door flow: ask, read the message, confirm."""
    await client.get(shop.prefix + "/")
    response = await post_form(client, shop.prefix + "/acceso", {"contact": customer.email})
    assert response.status_code == 200, response.text
    link = await latest_link(shop.scope, str(customer.email))
    path = link.split("http://testserver", 1)[1]
    response = await post_form(client, path)
    assert response.status_code == 303, response.text


@dataclass
class Env:
    app: Any
    client: httpx.AsyncClient
    shop: Shop

    @property
    def customer(self) -> Customer:
        return self.shop.customers[0]

    def invoice_ids(self, index: int = 0) -> list[int]:
        return self.shop.invoices[int(self.shop.customers[index].id)]

    async def new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(self.app), base_url="http://testserver"
        )


async def open_env(
    database: str, smtp_url: str = "", env: str = "development", **shop_args: Any
) -> Env:
    import recaudo.plugins.sandbox.routes as sandbox_routes

    app = make_app(make_settings(database, smtp_url, env))
    sandbox_routes.transport = httpx.ASGITransport(app)
    shop = await make_shop(**shop_args)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver")
    return Env(app, client, shop)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name}"
    return match.group(1)
