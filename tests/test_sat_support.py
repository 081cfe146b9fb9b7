"""Shared set-up for the SAT plugin's tests: a tenant with ``sat_mx`` enabled (SAT's public
test CSD, fake PAC, development mode) and builders for the host's requests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest

from recaudo.api import (
    EInvoiceLine,
    EInvoiceParty,
    EInvoicePaymentRequest,
    EInvoiceRequest,
    Money,
    PaidInvoice,
    PluginContext,
)
from recaudo.core import config
from recaudo.core.platform.context import context_for
from recaudo.plugins.sat_mx import settings as sat_settings
from recaudo.plugins.sat_mx.backend import SatBackend
from recaudo.plugins.sat_mx.demo import demo_settings
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info
from tests.conftest import make_tenant

CUSTOMER = EInvoiceParty(
    customer_id=7,
    tax_id="MASO451221PM4",
    name="María Olivia Martínez Sagaz",
    country="MX",
    regime="612",
    postal_code="64000",
    use="G03",
)


@dataclass
class Sat:
    ctx: PluginContext
    backend: SatBackend
    scope: TenantScope


async def enable(settings: Any, overrides: dict[str, str] | None = None) -> Sat:
    tenant = await make_tenant("sat-" + uuid.uuid4().hex[:6])
    scope = TenantScope(int(tenant.id))
    values = {**demo_settings(), **(overrides or {})}
    await set_plugin(scope, "sat_mx", enabled=True, settings=values, secret_key=settings.secret_key)
    ctx = await context_for(tenant_info(tenant), "sat_mx")
    return Sat(ctx, SatBackend(), scope)


@pytest.fixture
async def sat(
    database: str, settings: Any, host: object, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Sat]:
    monkeypatch.setattr(config, "_active", settings)
    sat_settings.set_development(True)
    try:
        yield await enable(settings)
    finally:
        sat_settings.set_development(False)


def mxn(amount: int, currency: str = "MXN") -> Money:
    return Money(currency, amount)


def invoice_request(
    sat: Sat,
    invoice_id: int,
    *,
    unit: int = 10_000,
    quantity: int = 2,
    taxed: bool = True,
    balance: int | None = None,
    currency: str = "MXN",
    customer: EInvoiceParty | None = CUSTOMER,
    key: str = "",
    total: int | None = None,
) -> EInvoiceRequest:
    """An invoice of ``quantity`` × ``unit`` (minor units) plus 16 % IVA when ``taxed``."""
    amount = unit * quantity
    tax = amount * 16 // 100 if taxed else 0
    grand = amount + tax if total is None else total
    item = EInvoiceLine("Tornillo hexagonal", quantity, mxn(unit, currency),
                        mxn(amount, currency), mxn(tax, currency))  # fmt: skip
    return EInvoiceRequest(
        tenant=sat.ctx.tenant,
        invoice_id=invoice_id,
        number=f"F-{invoice_id}",
        issue_date=date(2026, 12, 1),
        customer_name=customer.name if customer else "Mostrador",
        customer_tax_id=customer.tax_id if customer else "",
        total=mxn(grand, currency),
        lines=(("Tornillo hexagonal", quantity, mxn(amount, currency)),),
        key=key or f"invoice:{invoice_id}",
        subtotal=mxn(amount, currency),
        tax=mxn(tax, currency),
        balance=mxn(grand if balance is None else balance, currency),
        customer=customer,
        items=(item,),
    )


def paid(
    invoice_id: int, amount: int, before: int, installment: int, total: int, currency: str = "MXN"
) -> PaidInvoice:
    return PaidInvoice(
        invoice_id=invoice_id,
        number=f"F-{invoice_id}",
        fiscal_id="",
        amount=mxn(amount, currency),
        balance_before=mxn(before, currency),
        installment=installment,
        invoice_total=mxn(total, currency),
    )


def payment_request(
    sat: Sat,
    payment_id: int,
    invoices: tuple[PaidInvoice, ...],
    *,
    key: str = "",
    method: str = "spei",
    currency: str = "MXN",
) -> EInvoicePaymentRequest:
    return EInvoicePaymentRequest(
        tenant=sat.ctx.tenant,
        payment_id=payment_id,
        key=key
        or f"payment:{payment_id}:" + ",".join(f"{p.invoice_id}={p.amount}" for p in invoices),
        paid_at=datetime(2026, 12, 1, 18, 30, tzinfo=UTC),
        method=method,
        amount=mxn(sum(p.amount.amount for p in invoices), currency),
        customer=CUSTOMER,
        invoices=invoices,
    )
