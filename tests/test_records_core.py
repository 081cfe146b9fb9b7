"""Records' core services: update_customer, update_invoice, void_invoice, issue_credit_note.

Money effects are checked against the ledger's own invariants (``tests/test_ledger.check_ledger``)
and the customer's statement, the read model the portal shows.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from recaudo.core.billing.credit_notes import (
    CreditNoteError,
    customer_credit_notes,
    issue_credit_note,
)
from recaudo.core.billing.customers import (
    CustomerError,
    NewCustomer,
    create_customer,
    tags_of,
    update_customer,
)
from recaudo.core.billing.errors import RecordConflict, RecordNotFound
from recaudo.core.billing.invoice_changes import update_invoice, void_invoice
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice, status_for
from recaudo.core.billing.statement import customer_statement
from recaudo.core.common.jsonfield import loads
from recaudo.core.payments.ledger import record_staff_payment
from recaudo.core.tables import AuditEvent, Customer, Invoice, InvoiceLine, OutboxJob
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant
from tests.test_ledger import check_ledger

TODAY = date.today()


async def setup(country: str = "MX", currency: str = "MXN") -> tuple[TenantScope, int]:
    tenant = await make_tenant("r-" + uuid.uuid4().hex[:8], country, currency)
    scope = TenantScope(int(tenant.id))
    customer = await create_customer(
        scope, NewCustomer("C-1", "Ana", email="ana@example.com"), country
    )
    return scope, int(customer.id)


async def invoice(scope: TenantScope, customer: int, amount: int, number: str = "F-1") -> int:
    row = await create_invoice(
        scope,
        NewInvoice(
            customer_id=customer,
            number=number,
            issue_date=TODAY - timedelta(days=5),
            due_date=TODAY + timedelta(days=25),
            currency="MXN",
            lines=(NewLine("Servicio", 1, amount),),
        ),
    )
    return int(row.id)


async def events(scope: TenantScope, kind: str) -> list[dict]:
    rows = await scope.objects(OutboxJob).where(OutboxJob.actor == "invoice_event")
    payloads = [loads(r.payload, {}) for r in rows]
    return [p for p in payloads if p.get("kind") == kind]


async def pay(scope: TenantScope, customer: int, invoice_id: int, amount: int) -> None:
    await record_staff_payment(
        scope,
        customer_id=customer,
        currency="MXN",
        amount=amount,
        method="cash",
        reference=uuid.uuid4().hex[:10],
        invoice_ids=[invoice_id],
    )


def test_status_rule_counts_a_fully_credited_invoice_as_paid() -> None:
    assert status_for(0, 0) == "paid"
    assert status_for(100, 0) == "open"
    assert status_for(100, 40) == "partially_paid"
    assert status_for(100, 100) == "paid"
    assert status_for(0, 0, voided=True) == "void"


# --- customers ----------------------------------------------------------------------------------


async def test_update_customer_validates_and_audits(database: str) -> None:
    scope, customer = await setup()
    updated = await update_customer(
        scope,
        customer,
        {"tax_id": "GODE561231GR8", "segment": " Mayoreo ", "tags": "VIP, norte ,vip"},
        "staff:1",
    )
    assert updated.tax_id == "GODE561231GR8" and updated.segment == "Mayoreo"
    assert tags_of(updated) == ("vip", "norte")
    stored = await scope.get(Customer, customer)
    assert stored is not None and stored.tags == ",vip,norte,"
    audit = await scope.objects(AuditEvent).where(AuditEvent.action == "customer.updated")
    assert len(audit) == 1 and audit[0].actor == "staff:1"
    assert loads(audit[0].data, {})["changes"]["segment"] == ["", "Mayoreo"]

    with pytest.raises(CustomerError, match=r"^tax_id"):
        await update_customer(scope, customer, {"tax_id": "XXXX", "name": "Otro"}, "staff:1")
    with pytest.raises(CustomerError, match=r"^email"):
        await update_customer(scope, customer, {"email": "no-es-correo"}, "staff:1")
    with pytest.raises(CustomerError, match=r"^consents"):
        await update_customer(scope, customer, {"consents": "{}"}, "staff:1")
    with pytest.raises(CustomerError, match=r"^name"):
        await update_customer(scope, customer, {"name": None}, "staff:1")
    stored = await scope.get(Customer, customer)
    assert stored is not None and stored.name == "Ana" and stored.email == "ana@example.com"
    assert await scope.count(AuditEvent).where(AuditEvent.action == "customer.updated") == 1


async def test_update_customer_colombian_nit_and_duplicate_number(database: str) -> None:
    scope, customer = await setup("CO", "COP")
    await create_customer(scope, NewCustomer("C-2", "Beto"), "CO")
    with pytest.raises(CustomerError, match=r"^tax_id"):
        await update_customer(scope, customer, {"tax_id": "800.197.268-3"}, "staff:1")
    ok = await update_customer(scope, customer, {"tax_id": "800.197.268-4"}, "staff:1")
    assert ok.tax_id == "8001972684" and ok.tax_country == "CO"
    with pytest.raises(CustomerError, match=r"^number"):
        await update_customer(scope, customer, {"number": "C-2"}, "staff:1")


async def test_update_customer_of_another_tenant_is_not_found(database: str) -> None:
    _scope, customer = await setup()
    other, _ = await setup()
    with pytest.raises(RecordNotFound):
        await update_customer(other, customer, {"name": "X"}, "staff:1")


# --- invoices -----------------------------------------------------------------------------------


async def test_update_invoice_recomputes_and_is_refused_once_paid(database: str) -> None:
    scope, customer = await setup()
    inv = await invoice(scope, customer, 10_000)
    updated = await update_invoice(
        scope,
        inv,
        {
            "lines": [
                {"description": "A", "quantity": 2, "unit_amount": 3_000},
                NewLine("B", 1, 1_000),
            ],
            "tax": 1_120,
            "due_date": TODAY + timedelta(days=60),
        },
        "staff:1",
    )
    assert (updated.subtotal, updated.tax, updated.total) == (7_000, 1_120, 8_120)
    lines = await scope.objects(InvoiceLine).where(InvoiceLine.invoice == inv)
    assert sorted(line.amount for line in lines) == [1_000, 6_000]
    assert len(await events(scope, "updated")) == 1
    audit = await scope.objects(AuditEvent).where(AuditEvent.action == "invoice.updated")
    assert loads(audit[0].data, {})["changes"]["tax"] == [0, 1_120]

    with pytest.raises(Exception, match="due_date"):
        await update_invoice(scope, inv, {"due_date": TODAY - timedelta(days=30)}, "staff:1")
    with pytest.raises(Exception, match=r"^line 1"):
        await update_invoice(scope, inv, {"lines": [NewLine("A", 0, 1)]}, "staff:1")

    await pay(scope, customer, inv, 1_000)
    with pytest.raises(RecordConflict, match="payments were applied"):
        await update_invoice(scope, inv, {"description": "otra"}, "staff:1")
    row = await scope.get(Invoice, inv)
    assert row is not None and row.total == 8_120 and row.description == ""
    await check_ledger(scope)


async def test_void_removes_the_invoice_from_the_statement(database: str) -> None:
    scope, customer = await setup()
    keep = await invoice(scope, customer, 10_000, "F-1")
    gone = await invoice(scope, customer, 5_000, "F-2")
    with pytest.raises(Exception, match=r"^reason"):
        await void_invoice(scope, gone, "  ", "staff:1")
    voided = await void_invoice(scope, gone, "Emitida por error", "staff:7")
    assert voided.status == "void"
    statement = await customer_statement(scope, customer, TODAY)
    assert statement.balance_due == 10_000
    assert [i.id for i in statement.open_invoices] == [keep]
    assert len(await events(scope, "voided")) == 1
    audit = await scope.objects(AuditEvent).where(AuditEvent.action == "invoice.voided")
    assert audit[0].actor == "staff:7"
    assert loads(audit[0].data, {})["reason"] == "Emitida por error"
    with pytest.raises(RecordConflict, match="already void"):
        await void_invoice(scope, gone, "otra vez", "staff:1")
    await pay(scope, customer, keep, 100)
    with pytest.raises(RecordConflict, match="payments were applied"):
        await void_invoice(scope, keep, "no", "staff:1")
    other, _ = await setup()
    with pytest.raises(RecordNotFound):
        await void_invoice(other, keep, "ajeno", "staff:1")
    await check_ledger(scope)


async def test_credit_note_lowers_the_balance_through_the_ledger(database: str) -> None:
    scope, customer = await setup()
    inv = await invoice(scope, customer, 30_000)
    await pay(scope, customer, inv, 10_000)
    with pytest.raises(CreditNoteError, match=r"^amount"):
        await issue_credit_note(scope, inv, 20_001, "Descuento", "staff:1")
    with pytest.raises(CreditNoteError, match=r"^amount"):
        await issue_credit_note(scope, inv, 0, "Descuento", "staff:1")
    with pytest.raises(CreditNoteError, match=r"^reason"):
        await issue_credit_note(scope, inv, 5_000, "", "staff:1")
    note = await issue_credit_note(scope, inv, 5_000, "Descuento por pronto pago", "staff:1")
    assert note.number == "NC-F-1-1" and note.amount == 5_000 and note.currency == "MXN"
    row = await scope.get(Invoice, inv)
    assert row is not None and (row.total, row.balance, row.status) == (
        25_000,
        15_000,
        "partially_paid",
    )
    assert (await customer_statement(scope, customer, TODAY)).balance_due == 15_000
    second = await issue_credit_note(scope, inv, 15_000, "Devolución", "staff:1")
    assert second.number == "NC-F-1-2"
    row = await scope.get(Invoice, inv)
    assert row is not None and (row.balance, row.status) == (0, "paid")
    assert (await customer_statement(scope, customer, TODAY)).balance_due == 0
    with pytest.raises(RecordConflict, match="paid"):
        await issue_credit_note(scope, inv, 1, "más", "staff:1")
    assert len(await events(scope, "credited")) == 2
    notes = await customer_credit_notes(scope, customer)
    assert [n["number"] for n in notes] == ["NC-F-1-2", "NC-F-1-1"]
    assert notes[0]["invoice_number"] == "F-1"
    await check_ledger(scope)


async def test_a_fully_credited_unpaid_invoice_is_settled(database: str) -> None:
    scope, customer = await setup()
    inv = await invoice(scope, customer, 8_000)
    await issue_credit_note(scope, inv, 8_000, "Cancelación del servicio", "staff:1")
    row = await scope.get(Invoice, inv)
    assert row is not None and (row.total, row.status) == (0, "paid")
    assert (await customer_statement(scope, customer, TODAY)).open_invoices == []
    await check_ledger(scope)


async def test_credit_notes_refused_on_void_and_other_tenants(database: str) -> None:
    scope, customer = await setup()
    inv = await invoice(scope, customer, 8_000)
    other, _ = await setup()
    with pytest.raises(RecordNotFound):
        await issue_credit_note(other, inv, 100, "x", "staff:1")
    await void_invoice(scope, inv, "error", "staff:1")
    with pytest.raises(RecordConflict, match="void"):
        await issue_credit_note(scope, inv, 100, "x", "staff:1")


async def test_credit_note_after_a_partial_write_off_keeps_the_write_off_status(
    database: str,
) -> None:
    from recaudo.core.payments.manual import write_off

    scope, customer = await setup()
    inv = await invoice(scope, customer, 10_000)
    await write_off(scope, inv, 4_000, "Acuerdo", "staff:1")
    await issue_credit_note(scope, inv, 6_000, "Descuento", "staff:1")
    row = await scope.get(Invoice, inv)
    assert row is not None and (row.balance, row.status) == (0, "written_off")
    with pytest.raises(RecordConflict, match="written off"):
        await issue_credit_note(scope, inv, 1, "más", "staff:1")


async def test_timeline_is_newest_first_and_limited(database: str) -> None:
    from recaudo.core.access.staff import create_staff
    from recaudo.core.billing.customers import add_note
    from recaudo.core.billing.timeline import customer_timeline

    scope, customer = await setup()
    staff = await create_staff(scope, "n@example.com", "una-clave-larga", "collector")
    first = await invoice(scope, customer, 1_000, "F-1")
    await add_note(scope, customer, "primera", staff)
    await invoice(scope, customer, 2_000, "F-2")
    await void_invoice(scope, first, "error", staff)
    row = await scope.get(Customer, customer)
    assert row is not None
    entries = await customer_timeline(scope, row)
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    assert {e.kind for e in entries} == {"invoice", "note", "audit"}
    assert entries[0].kind == "audit" and entries[0].data["action"] == "invoice.voided"
    assert len(await customer_timeline(scope, row, limit=2)) == 2
    other, _ = await setup()
    assert await customer_timeline(other, row) == []  # another tenant's scope sees nothing
