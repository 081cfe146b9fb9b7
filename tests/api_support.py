"""Shared set-up of the REST API tests: two tenants with data and keys, and an HTTP client."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from recaudo.core.access.apikeys import create_api_key
from recaudo.core.billing.attachments import add_attachment
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.common.money import Money
from recaudo.core.config import Settings
from recaudo.core.platform.host import PluginHost
from recaudo.core.tables import BankLine, BankStatement, Payment, PaymentPlan, PlanInstallment
from recaudo.tenants.scoped import TenantScope
from tests import einvoice_web_fake
from tests.conftest import make_tenant

BASE = "http://testserver"
SEED_PDF = b"%PDF-1.7\n% seeded\n%%EOF\n"


@dataclass
class Side:
    slug: str
    scope: TenantScope
    currency: str
    write_key: str = ""
    read_key: str = ""
    customer: int = 0
    invoices: list[int] = field(default_factory=list)
    payment: int = 0
    plan: int = 0
    document: int = 0
    statement: int = 0
    einvoice: int = 0

    @property
    def w(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.write_key}"}

    @property
    def r(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.read_key}"}

    def ids(self) -> dict[str, int]:
        """A row id of this tenant for each path parameter name the API uses."""
        return {
            "customer_id": self.customer,
            "invoice_id": self.invoices[0],
            "payment_id": self.payment,
            "plan_id": self.plan,
            "document_id": self.document,
            "statement_id": self.statement,
            "einvoice_id": self.einvoice,
        }


async def seed(slug: str, country: str, currency: str) -> Side:
    tenant = await make_tenant(slug, country, currency)
    side = Side(slug, TenantScope(int(tenant.id)), currency)
    scope = side.scope
    side.write_key = (await create_api_key(scope, key_scope="write", actor="test")).plaintext
    side.read_key = (await create_api_key(scope, key_scope="read", actor="test")).plaintext
    customer = await create_customer(
        scope, NewCustomer("C-1", "Cliente Uno", email=f"uno@{slug}.example"), country
    )
    side.customer = int(customer.id)
    today = date.today()
    for number, amount, due in (("F-1", 100_000, -10), ("F-2", 50_000, 20)):
        invoice = await create_invoice(
            scope,
            NewInvoice(
                customer_id=side.customer,
                number=number,
                issue_date=today - timedelta(days=40),
                due_date=today + timedelta(days=due),
                currency=currency,
                lines=(NewLine("Servicio", 1, amount),),
                external_id=f"ERP-{number}",
            ),
        )
        side.invoices.append(int(invoice.id))
    payment = Payment(
        customer=side.customer,
        method="sandbox",
        status="confirmed",
        currency=currency,
        amount=10_000,
        idempotency_key=f"pay-{slug}",
        requested_invoices=[],
        checkout={},
    )
    plan = PaymentPlan(
        customer=side.customer,
        status="active",
        currency=currency,
        total=50_000,
        down_payment=0,
        installments_count=2,
        invoice_ids=[side.invoices[1]],
        reason="lost_income",
    )
    await scope.add(payment)
    await scope.add(plan)
    for n in (1, 2):
        await scope.add(
            PlanInstallment(
                plan=plan.id, number=n, due_date=today + timedelta(days=30 * n), amount=25_000
            )
        )
    side.payment, side.plan = int(payment.id), int(plan.id)
    document = await add_attachment(scope, side.invoices[0], "F-1.pdf", SEED_PDF, "test")
    side.document = int(document.id)
    side.statement = await _seed_statement(scope, slug, currency, side.customer)
    return side


async def _seed_statement(scope: TenantScope, slug: str, currency: str, customer: int) -> int:
    """A bank statement with one unmatched credit, stored as an import would leave it."""
    statement = BankStatement(
        format="mt940",
        account="012180001234567895",
        currency=currency,
        statement_id=f"S-{slug}",
        file_sha256=hashlib.sha256(slug.encode()).hexdigest(),
        filename="seed.sta",
        source="cli",
        imported_by="test",
        counts={"lines": 1, "new": 1, "unmatched": 1},
        created_at=datetime.now(UTC),
    )
    await scope.add(statement)
    line = BankLine(
        statement=statement.id,
        line_no=1,
        key=f"seed-{slug}",
        booked_on=date.today(),
        amount=7_500,
        currency=currency,
        reference="SIN REFERENCIA",
        status="unmatched",
        candidates=[],
        created_at=datetime.now(UTC),
    )
    await scope.add(line)
    return int(statement.id)


@dataclass
class ApiWorld:
    app: Any
    a: Side
    b: Side
    fiscal: Any = None  # the e-invoicing backend both tenants enabled (tests/einvoice_web_fake)


@pytest.fixture
async def api_world(database: str, host: PluginHost) -> ApiWorld:
    from tests.apps import asgi_app

    settings = Settings(
        env="development", database_url=database, secret_key="x" * 40, base_url=BASE
    )
    app = asgi_app(settings)
    suffix = uuid.uuid4().hex[:6]
    a = await seed(f"alfa-{suffix}", "MX", "MXN")
    b = await seed(f"beta-{suffix}", "CO", "COP")
    fiscal = einvoice_web_fake.install(host)
    for side in (a, b):
        await einvoice_web_fake.enable(side.scope)
        side.einvoice = fiscal.add(
            side.scope.tenant_id,
            series="F",
            folio="1",
            invoice_id=side.invoices[0],
            customer_id=side.customer,
            total=Money(side.currency, 100_000),
            payment_terms="PPD",
        ).id
    return ApiWorld(app, a, b, fiscal)


@pytest.fixture
async def api(api_world: ApiWorld) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=api_world.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        yield c


def invoice_body(customer: int, number: str, **extra: Any) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "number": number,
        "due_date": (date.today() + timedelta(days=30)).isoformat(),
        "lines": [{"description": "Renta", "quantity": 2, "unit_amount": 61_725}],
        **extra,
    }
