"""The e-invoicing host against a small fake backend: what it sends, what it keeps, when it runs.

Requests built from the ledger (tax split exactly across lines, installments and balances
across partial payments, net after reversals), idempotent jobs, refusals recorded and not
retried, outages retried, triggers only for tenants with a backend, another tenant's ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from recaudo.api import EInvoiceBackend, EInvoiceRequest, EInvoiceResult, PluginContext
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.einvoicing import service
from recaudo.core.einvoicing.requests import paid_invoices, picture_key, split_exact
from recaudo.core.hookspecs import hookimpl
from recaudo.core.payments.settlement import record_allocated_payment, undo_payment
from recaudo.core.platform.host import PluginHost
from recaudo.core.tables import Allocation, AuditEvent, Customer, Invoice, OutboxJob
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope
from tests.clock_support import drain_at
from tests.conftest import drain_jobs, make_tenant
from tests.einvoicing_fake import PLUGIN, FakeBackend, FakePlugin


@pytest.fixture
def fake(host: PluginHost) -> Iterator[FakeBackend]:
    backend = FakeBackend()
    host.register(FakePlugin(backend), name=PLUGIN, source="test")
    yield backend


async def tenant(slug: str, *, enabled: bool = True, **settings: object) -> TenantScope:
    scope = TenantScope(int((await make_tenant(slug)).id))
    if enabled:
        await set_plugin(scope, PLUGIN, enabled=True, settings={"certificate": "csd", **settings})
    return scope


async def customer(scope: TenantScope, number: str = "C-1", tax_id: str = "EKU9003173C9") -> int:
    row = await create_customer(scope, NewCustomer(number, "Escuela Kemper Urgate SA de CV"), "MX")
    await scope.update(
        Customer,
        {
            Customer.tax_id: tax_id,
            Customer.fiscal_name: "ESCUELA KEMPER URGATE",
            Customer.fiscal_regime: "601",
            Customer.fiscal_postal_code: "42501",
            Customer.fiscal_use: "G03",
        },
    ).where(Customer.id == row.id)
    return int(row.id)


async def invoice(
    scope: TenantScope,
    customer_id: int,
    number: str,
    lines: tuple[tuple[str, int, int], ...] = (("Tornillos", 1, 100_000),),
    tax: int = 0,
) -> Invoice:
    today = date.today()
    return await create_invoice(
        scope,
        NewInvoice(
            customer_id,
            number,
            today,
            today + timedelta(days=30),
            "MXN",
            tuple(NewLine(d, q, u) for d, q, u in lines),
            tax=tax,
        ),
    )


async def pay(scope: TenantScope, customer_id: int, ref: str, *parts: tuple[int, int]) -> int:
    payment, _new = await record_allocated_payment(
        scope,
        customer_id=customer_id,
        currency="MXN",
        amount=sum(a for _, a in parts),
        method="transferencia",
        reference=ref,
        allocations=parts,
        source="staff",
    )
    return int(payment.id)


async def audit(scope: TenantScope, action: str) -> list[AuditEvent]:
    return list(await scope.objects(AuditEvent).where(AuditEvent.action == action))


async def jobs(scope: TenantScope, actor: str) -> list[OutboxJob]:
    return list(await scope.objects(OutboxJob).where(OutboxJob.actor == actor))


def test_tax_split_is_proportional_and_exact() -> None:
    assert split_exact(16_000, [33_333, 33_333, 33_334]) == [5_333, 5_333, 5_334]
    assert split_exact(1, [1, 1, 1]) == [1, 0, 0]
    assert split_exact(0, [5, 5]) == [0, 0]
    assert split_exact(100, [0, 0]) == [100, 0]
    for total, weights in ((9_999, [7, 13, 29, 31]), (-500, [3, 3, 3]), (160, [1] * 7)):
        assert sum(split_exact(total, weights)) == total


async def test_created_invoice_is_issued_once_with_its_lines_and_the_cache_follows(
    database: str, fake: FakeBackend
) -> None:
    scope = await tenant("ferre")
    cid = await customer(scope)
    inv = await invoice(
        scope, cid, "FER-1", (("A", 1, 33_333), ("B", 1, 33_333), ("C", 2, 16_667)), tax=16_000
    )
    assert "done" in await drain_jobs()

    assert len(fake.requests) == 1
    request = fake.requests[0]
    assert request.key == f"invoice:{inv.id}"
    assert request.number == "FER-1" and request.total.amount == inv.total
    assert [i.tax.amount for i in request.items] == [5_333, 5_333, 5_334]
    assert sum(i.tax.amount for i in request.items) == 16_000
    assert [i.amount.amount for i in request.items] == [33_333, 33_333, 33_334]
    assert request.customer is not None and request.customer.tax_id == "EKU9003173C9"
    assert request.customer.name == "ESCUELA KEMPER URGATE" and request.customer.use == "G03"
    assert request.balance is not None and request.balance.amount == inv.total

    row = await scope.get(Invoice, inv.id)
    assert row is not None
    assert (row.einvoice_backend, row.einvoice_status) == ("fakefiscal", "issued")
    docs = await service.list_documents(scope, invoice_id=int(inv.id))
    assert [d.fiscal_id for d in docs] == [row.einvoice_uuid]
    assert row.einvoice_xml.startswith("<I ")
    assert len(await audit(scope, "einvoice.issued")) == 1

    # Again (a retried job, the CLI, a double click): the same document, nothing new.
    again = await service.issue_invoice(scope, int(inv.id), actor="staff:ana")
    assert again.id == docs[0].id
    job = (await jobs(scope, "einvoice_invoice"))[0]
    await scope.update(OutboxJob, {OutboxJob.status: "pending"}).where(OutboxJob.id == job.id)
    await drain_jobs()
    assert len(fake.requests) == 1
    assert len(await service.list_documents(scope)) == 1


async def test_complements_count_installments_and_balances_net_of_reversals(
    database: str, fake: FakeBackend
) -> None:
    scope = await tenant("ferre")
    cid = await customer(scope)
    a = await invoice(scope, cid, "FER-1", (("A", 1, 100_000),))
    b = await invoice(scope, cid, "FER-2", (("B", 1, 50_000),))
    await drain_jobs()
    docs = {d.invoice_id: d for d in await service.list_documents(scope, kind="invoice")}
    assert docs[a.id].payment_terms == "PPD"

    p1 = await pay(scope, cid, "R1", (int(a.id), 30_000))
    p2 = await pay(scope, cid, "R2", (int(a.id), 20_000))
    await drain_jobs()
    [p2_doc] = await service.list_documents(scope, payment_id=p2)
    assert p2_doc.status == "issued"
    await undo_payment(scope, p2, reason="no era de este cliente")
    p3 = await pay(scope, cid, "R3", (int(a.id), 50_000), (int(b.id), 10_000))
    await drain_jobs()

    last = {r.payment_id: r for r in fake.payment_requests}  # the latest picture of each
    first = last[p1].invoices
    assert [(p.number, p.installment, p.balance_before.amount, p.amount.amount) for p in first] == [
        ("FER-1", 1, 100_000, 30_000)
    ]
    assert first[0].fiscal_id == docs[a.id].fiscal_id
    assert last[p2].invoices == ()  # undone: it pays nothing any more
    third = last[p3].invoices
    assert [(p.number, p.installment, p.balance_before.amount, p.amount.amount) for p in third] == [
        ("FER-1", 2, 70_000, 50_000),  # the undone payment neither counts nor reduces the balance
        ("FER-2", 1, 50_000, 10_000),
    ]
    assert last[p3].amount.amount == 60_000 and last[p3].key.startswith(f"payment:{p3}:")

    # p2's complement was issued when approved, then cancelled when undone.
    p2_docs = await service.list_documents(scope, payment_id=p2)
    assert [d.status for d in p2_docs] == ["cancelled"]
    live = await service.list_documents(scope, kind="payment", status="issued")
    assert sorted(d.payment_id for d in live) == sorted([p1, p3])

    # A partial reversal of the first payment (a refund of 100.00): it pays less, and the
    # third payment's balance before it grows by as much; the picture's key changes.
    [alloc] = await scope.objects(Allocation).where(Allocation.payment == p1)
    await scope.update(Allocation, {Allocation.reversed_amount: 10_000}).where(
        Allocation.id == alloc.id
    )
    assert [(p.amount.amount, p.installment) for p in await paid_invoices(scope, p1)] == [
        (20_000, 1)
    ]
    moved = await paid_invoices(scope, p3)
    assert [(p.installment, p.balance_before.amount) for p in moved] == [(2, 80_000), (1, 50_000)]
    assert picture_key(p3, last[p3].amount, moved) != last[p3].key
    await scope.update(Allocation, {Allocation.reversed_amount: 0}).where(Allocation.id == alloc.id)

    # Syncing again with nothing changed sends the same key and issues nothing.
    before = len(await service.list_documents(scope))
    assert await service.sync_payment(scope, p3) == []
    assert fake.payment_requests[-1].key == last[p3].key
    assert len(await service.list_documents(scope)) == before


async def test_an_invoice_documented_after_a_payment_gets_that_payments_complement(
    database: str, fake: FakeBackend
) -> None:
    scope = await tenant("ferre", auto_issue=False)
    cid = await customer(scope)
    inv = await invoice(scope, cid, "FER-1")
    await drain_jobs()
    assert fake.requests == [] and await jobs(scope, "einvoice_invoice") == []
    payment = await pay(scope, cid, "R1", (int(inv.id), 40_000))
    await drain_jobs()
    assert fake.payment_requests == []  # nothing documented yet: nothing to complement

    doc = await service.issue_invoice(scope, int(inv.id), actor="staff:ana")
    assert doc.payment_terms == "PPD"
    await drain_jobs()
    [request] = fake.payment_requests
    assert request.payment_id == payment and request.invoices[0].fiscal_id == doc.fiscal_id
    assert request.invoices[0].balance_before.amount == 100_000
    assert [d.kind for d in await service.list_documents(scope, payment_id=payment)] == ["payment"]


async def test_a_refusal_is_recorded_for_staff_and_not_retried(
    database: str, fake: FakeBackend
) -> None:
    scope = await tenant("ferre")
    cid = await customer(scope)
    fake.refuse = "CFDI40147: El RFC del receptor no está en la lista de RFC inscritos"
    inv = await invoice(scope, cid, "FER-1")
    await drain_jobs()
    [job] = await jobs(scope, "einvoice_invoice")
    assert job.status == "done" and job.attempts == 1
    row = await scope.get(Invoice, inv.id)
    assert row is not None and row.einvoice_status == "failed" and row.einvoice_uuid == ""
    [event] = await audit(scope, "einvoice.failed")
    assert "CFDI40147" in str(event.data) and event.subject == f"invoice:{inv.id}"
    await drain_at(datetime.now(UTC) + timedelta(days=2))
    assert len(fake.requests) == 1, "a refusal is not retried"

    # Fixed by staff: issuing now works, and says so on the invoice.
    doc = await service.issue_invoice(scope, int(inv.id), actor="staff:ana")
    row = await scope.get(Invoice, inv.id)
    assert row is not None and (row.einvoice_status, row.einvoice_uuid) == ("issued", doc.fiscal_id)


async def test_missing_fiscal_data_and_settings_are_clear_errors(
    database: str, fake: FakeBackend
) -> None:
    scope = await tenant("ferre")
    cid = await customer(scope, tax_id="")
    await scope.update(Customer, {Customer.tax_id: ""}).where(Customer.id == cid)
    inv = await invoice(scope, cid, "FER-1")
    with pytest.raises(service.EInvoicingError, match="RFC del cliente es obligatorio"):
        await service.issue_invoice(scope, int(inv.id), actor="staff:ana")
    assert fake.requests == []
    party = await service.party_for(scope, cid)
    assert await service.fiscal_errors(scope, party) == ["El RFC del cliente es obligatorio"]

    bare = await tenant("otra", enabled=False)
    await set_plugin(bare, PLUGIN, enabled=True)  # no certificate
    bcid = await customer(bare)
    binv = await invoice(bare, bcid, "OT-1")
    with pytest.raises(service.NotConfigured, match="Falta el certificado"):
        await service.issue_invoice(bare, int(binv.id), actor="staff:ana")
    brow = await bare.get(Invoice, binv.id)
    assert brow is not None and brow.einvoice_status == "failed", "staff see why"
    assert "Falta el certificado" in str((await audit(bare, "einvoice.failed"))[0].data)

    none = await tenant("sin", enabled=False)
    ncid = await customer(none)
    ninv = await invoice(none, ncid, "SN-1")
    assert await service.backend_name(none) is None
    assert await service.list_documents(none) == []
    assert await service.fiscal_errors(none, await service.party_for(none, ncid)) == []
    with pytest.raises(service.NotConfigured):
        await service.issue_invoice(none, int(ninv.id), actor="staff:ana")
    nrow = await none.get(Invoice, ninv.id)
    assert (
        nrow is not None
        and nrow.einvoice_status == ""
        and await audit(none, "einvoice.failed") == []
    )
    assert await service.backend_name(scope) == "fakefiscal"


async def test_an_outage_is_retried_and_issues_once(database: str, fake: FakeBackend) -> None:
    scope = await tenant("ferre")
    cid = await customer(scope)
    fake.outage = 1
    inv = await invoice(scope, cid, "FER-1")
    await drain_jobs()
    [job] = await jobs(scope, "einvoice_invoice")
    assert job.status == "pending" and "pac.example is down" in job.last_error
    await drain_at(datetime.now(UTC) + timedelta(minutes=5))
    [job] = await jobs(scope, "einvoice_invoice")
    assert job.status == "done"
    assert [d.invoice_id for d in await service.list_documents(scope)] == [inv.id]


async def test_only_tenants_with_a_backend_get_jobs(database: str, fake: FakeBackend) -> None:
    on = await tenant("con")
    off = await tenant("sin", enabled=False)
    manual = await tenant("manual", auto_issue=False)
    for scope, number in ((on, "A-1"), (off, "B-1"), (manual, "C-1")):
        cid = await customer(scope)
        inv = await invoice(scope, cid, number)
        await pay(scope, cid, "R" + number, (int(inv.id), 1_000))
    await drain_jobs()
    assert len(await jobs(on, "einvoice_invoice")) == 1
    assert len(await jobs(on, "einvoice_payment")) >= 1
    assert await jobs(off, "einvoice_invoice") == [] and await jobs(off, "einvoice_payment") == []
    assert await jobs(manual, "einvoice_invoice") == []
    assert len(await jobs(manual, "einvoice_payment")) >= 1
    assert [r.tenant.id for r in fake.requests] == [on.tenant_id]


async def test_cancel_updates_the_invoice_and_a_reissue_is_a_new_generation(
    database: str, fake: FakeBackend
) -> None:
    scope = await tenant("ferre")
    cid = await customer(scope)
    inv = await invoice(scope, cid, "FER-1")
    await drain_jobs()
    [doc] = await service.list_documents(scope)
    with pytest.raises(service.EInvoicingError, match="folio sustituto"):
        await service.cancel_document(scope, doc.id, reason="01", actor="staff:ana")
    assert (await service.get_document(scope, doc.id)).status == "issued"

    gone = await service.cancel_document(scope, doc.id, reason="02", actor="staff:ana")
    assert gone.status == "cancelled"
    row = await scope.get(Invoice, inv.id)
    assert row is not None and row.einvoice_status == "cancelled"
    assert len(await audit(scope, "einvoice.cancelled")) == 1

    new = await service.issue_invoice(scope, int(inv.id), actor="staff:ana")
    assert new.id != doc.id and fake.requests[-1].key == f"invoice:{inv.id}:1"
    assert fake.requests[-1].replaces == doc.fiscal_id
    row = await scope.get(Invoice, inv.id)
    assert row is not None and (row.einvoice_uuid, row.einvoice_status) == (new.fiscal_id, "issued")
    assert (await service.refresh_document(scope, new.id)).status == "issued"
    xml = await service.document_file(scope, new.id, "xml")
    assert xml.media_type == "application/xml" and xml.content == b"<cfdi/>"
    with pytest.raises(service.DocumentNotFound):
        await service.document_file(scope, new.id, "docx")


async def test_another_tenants_ids_name_nothing(database: str, fake: FakeBackend) -> None:
    mine = await tenant("mia")
    theirs = await tenant("ajena")
    cid = await customer(theirs)
    inv = await invoice(theirs, cid, "AJ-1")
    await drain_jobs()
    [doc] = await service.list_documents(theirs)
    assert await service.list_documents(mine) == []
    with pytest.raises(service.DocumentNotFound):
        await service.get_document(mine, doc.id)
    with pytest.raises(service.DocumentNotFound):
        await service.document_file(mine, doc.id, "xml")
    with pytest.raises(service.DocumentNotFound):
        await service.cancel_document(mine, doc.id, reason="02", actor="staff:eve")
    with pytest.raises(service.DocumentNotFound):
        await service.refresh_document(mine, doc.id)
    with pytest.raises(service.EInvoicingError, match="no encontrada"):
        await service.issue_invoice(mine, int(inv.id), actor="staff:eve")
    with pytest.raises(service.EInvoicingError, match="no encontrado"):
        await service.party_for(mine, cid)
    with pytest.raises(service.EInvoicingError):
        await service.sync_payment(mine, 10**12)
    assert (await service.get_document(theirs, doc.id)).status == "issued"


async def test_a_document_being_issued_elsewhere_is_waited_for_not_issued_twice(
    database: str, fake: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    from dataclasses import replace

    scope = await tenant("ferre", auto_issue=False)
    cid = await customer(scope)
    inv = await invoice(scope, cid, "FER-1")
    doc = await service.issue_invoice(scope, int(inv.id), actor="worker")
    fake.docs[doc.id] = (scope.tenant_id, replace(doc, status="pending"))  # a worker mid-stamp

    async def finish() -> None:
        await asyncio.sleep(0.3)
        fake.docs[doc.id] = (scope.tenant_id, doc)

    task = asyncio.create_task(finish())
    got = await service.issue_invoice(scope, int(inv.id), actor="cli")
    await task
    assert (got.id, got.status) == (doc.id, "issued") and len(fake.requests) == 1

    # Stuck pending: after the wait, the backend is asked with the same key (no second one).
    monkeypatch.setattr(service, "PENDING_WAIT", 0.2)
    fake.docs[doc.id] = (scope.tenant_id, replace(doc, status="pending"))
    await service.issue_invoice(scope, int(inv.id), actor="cli")
    assert [r.key for r in fake.requests] == [f"invoice:{inv.id}"] * 2
    assert len(fake.docs) == 1


class IssueOnlyBackend(EInvoiceBackend):
    """A backend written for API 1.0 (like the plugin template's): ``issue`` and nothing else."""

    name = "issueonly"
    label = "Solo emisión"
    countries = ("MX",)

    def __init__(self) -> None:
        self.stamped: dict[str, str] = {}

    async def issue(self, ctx: PluginContext, request: EInvoiceRequest) -> EInvoiceResult:
        uuid = self.stamped.setdefault(request.key, f"UUID-{len(self.stamped) + 1}")
        return EInvoiceResult(ok=True, uuid=uuid, xml=f"<cfdi folio='{request.number}'/>")


class IssueOnlyPlugin:
    def __init__(self, backend: IssueOnlyBackend) -> None:
        self.backend = backend

    @hookimpl
    def recaudo_einvoice_backends(self) -> list[EInvoiceBackend]:
        return [self.backend]


async def test_an_issue_only_backend_of_api_1_0_keeps_working(
    database: str, host: PluginHost
) -> None:
    backend = IssueOnlyBackend()
    host.register(IssueOnlyPlugin(backend), name="issueonly", source="test")
    scope = TenantScope(int((await make_tenant("solo-emision")).id))
    await set_plugin(scope, "issueonly", enabled=True)
    customer_id = await customer(scope)
    row = await invoice(scope, customer_id, "F-1")
    await drain_jobs()  # the created invoice is issued by its job

    stored = await scope.get(Invoice, int(row.id))
    assert stored is not None
    assert (stored.einvoice_status, stored.einvoice_uuid) == ("issued", "UUID-1")
    assert stored.einvoice_xml == "<cfdi folio='F-1'/>"  # the portal's download reads it
    again = await service.issue_invoice(scope, int(row.id), actor="staff:1")
    assert (again.fiscal_id, again.status, len(backend.stamped)) == ("UUID-1", "issued", 1)
    # It documents no payments, lists nothing and cannot cancel: answers, not crashes.
    await pay(scope, customer_id, "SPEI-1", (int(row.id), 40_000))
    await drain_jobs()
    assert await service.list_documents(scope) == []
    with pytest.raises(service.DocumentNotFound):
        await service.get_document(scope, 1)
    assert not await audit(scope, "einvoice.payment_failed")
