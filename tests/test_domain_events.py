"""Plugins hear about invoices and payments after commit, if their tenant enabled them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.hookspecs import hookimpl
from recaudo.core.payments.ledger import record_staff_payment
from recaudo.core.platform.host import PluginHost
from recaudo.core.platform.values import InvoiceEvent, PaymentEvent
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope
from tests.conftest import drain_jobs, make_tenant


class Listener:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, Any]] = []

    @hookimpl
    def recaudo_invoice_event(self, ctx: Any, event: InvoiceEvent) -> None:
        self.seen.append(("invoice", event.kind, event.balance.amount))

    @hookimpl
    def recaudo_payment_event(self, ctx: Any, event: PaymentEvent) -> None:
        self.seen.append(("payment", event.kind, event.amount.amount))


async def test_events_reach_only_tenants_that_enabled_the_plugin(
    database: str, host: PluginHost
) -> None:
    listener = Listener()
    host.register(listener, name="listener", source="test")
    scopes = []
    for slug, enable in (("con-plugin", True), ("sin-plugin", False)):
        scope = TenantScope(int((await make_tenant(slug)).id))
        await set_plugin(scope, "listener", enabled=enable)
        customer = await create_customer(scope, NewCustomer("C1", "Uno"), "MX")
        invoice = await create_invoice(
            scope,
            NewInvoice(
                int(customer.id),
                "F1",
                date.today(),
                date.today() + timedelta(days=5),
                "MXN",
                (NewLine("x", 1, 10_000),),
            ),
        )
        await record_staff_payment(
            scope,
            customer_id=int(customer.id),
            currency="MXN",
            amount=4_000,
            method="banktransfer",
            reference="r1",
            invoice_ids=[int(invoice.id)],
        )
        scopes.append(scope)
    assert listener.seen == [], "nothing is announced before the outbox runs"
    await drain_jobs()
    assert sorted(listener.seen) == sorted(
        [
            (
                "invoice",
                "created",
                6_000,
            ),  # delivered after commit: the balance is already the new one
            ("invoice", "partially_paid", 6_000),
            ("payment", "approved", 4_000),
        ]
    )
