"""Bank reconciliation service: statements are stored once, matches go through the ledger
exactly once, staff decisions lock the line, and an undo gives back exactly what was applied."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import pytest

from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.billing.statement import customer_credit
from recaudo.core.common.jsonfield import loads
from recaudo.core.payments.settlement import UNDONE
from recaudo.core.platform.host import PluginHost
from recaudo.core.reconciliation.csv_profiles import (
    csv_profiles,
    delete_csv_profile,
    save_csv_profile,
)
from recaudo.core.reconciliation.formats import CsvProfile, StatementError
from recaudo.core.reconciliation.review import (
    LineNotFound,
    ReconcileError,
    accept_candidate,
    assign_line,
    count_lines,
    get_line,
    ignore_line,
    list_lines,
    list_statements,
    rematch_open_lines,
    undo_match,
)
from recaudo.core.reconciliation.service import import_statement
from recaudo.core.reconciliation.settings import reconcile_settings, save_reconcile_settings
from recaudo.core.tables import (
    Allocation,
    AuditEvent,
    BankLine,
    BankStatement,
    CreditEntry,
    Invoice,
    Payment,
    WriteOff,
)
from recaudo.core.tenant_settings.errors import FormErrors, SettingNotFound
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant

TODAY = date.today()
ACTOR = "staff:1"


async def _customer(scope: TenantScope, name: str) -> int:
    row = await create_customer(
        scope, NewCustomer(number="C-" + uuid.uuid4().hex[:8], name=name), "MX"
    )
    return int(row.id)


async def _invoice(scope: TenantScope, customer: int, number: str, total: int) -> int:
    row = await create_invoice(
        scope,
        NewInvoice(
            customer_id=customer,
            number=number,
            issue_date=TODAY - timedelta(days=30),
            due_date=TODAY - timedelta(days=5),
            currency="MXN",
            lines=(NewLine("Material", 1, total),),
        ),
    )
    return int(row.id)


def mt940(*lines: tuple[int, str], ref: str = "S1", day: date = TODAY) -> bytes:
    """An MT940 statement of credits (minor units, remittance text) booked on ``day``."""
    d = day.strftime("%y%m%d")
    out = [":20:" + ref, ":25:012180001234567895", ":28C:1/1", f":60F:C{d}MXN0,00"]
    for amount, text in lines:
        sign = "C" if amount > 0 else "D"
        value = f"{abs(amount) // 100},{abs(amount) % 100:02d}"
        out += [f":61:{d}{d[2:]}{sign}{value}NTRFNONREF", f":86:{text}"]
    out.append(f":62F:C{d}MXN0,00")
    return ("\r\n".join(out) + "\r\n").encode()


async def _balance(scope: TenantScope, invoice_id: int) -> int:
    row = await scope.get(Invoice, invoice_id)
    assert row is not None
    return row.balance


@pytest.fixture
async def shop(database: str, host: PluginHost) -> dict:
    tenant = await make_tenant("tienda-" + uuid.uuid4().hex[:6])
    scope = TenantScope(int(tenant.id))
    ana = await _customer(scope, "Ana Torres")
    beto = await _customer(scope, "Roberto Díaz")
    return {
        "scope": scope,
        "ana": ana,
        "beto": beto,
        "f1": await _invoice(scope, ana, "F-1001", 116_000),
        "f2": await _invoice(scope, ana, "F-1002", 50_000),
        "g1": await _invoice(scope, beto, "G-2001", 230_000),
    }


async def _import(scope: TenantScope, data: bytes, name: str = "estado.sta", **kw):  # type: ignore[no-untyped-def]
    return await import_statement(scope, data, filename=name, actor=ACTOR, **kw)


# --- importing ----------------------------------------------------------------------------------


async def test_a_line_naming_an_invoice_pays_it_once_and_the_same_file_adds_nothing(
    shop: dict,
) -> None:
    scope = shop["scope"]
    data = mt940((116_000, "PAGO FACTURA F-1001"), (-5_000, "COMISION MENSUAL"))
    first = await _import(scope, data)
    assert (first.lines, first.new, first.matched, first.debits) == (2, 2, 1, 1)
    assert first.applied == 116_000 and not first.duplicate_file
    assert await _balance(scope, shop["f1"]) == 0
    payment = await scope.objects(Payment).first()
    assert payment.idempotency_key.startswith("banktransfer:bankline:")
    assert payment.status == "approved" and payment.amount == 116_000

    again = await _import(scope, data)
    assert again.duplicate_file and again.statement_id == first.statement_id
    assert (again.new, again.already_imported, again.applied) == (0, 2, 0)
    assert await scope.count(BankStatement) == 1 and await scope.count(BankLine) == 2
    assert await scope.count(Payment) == 1

    # An overlapping file (a later export of the same day): only the new movement is added.
    overlap = mt940(
        (116_000, "PAGO FACTURA F-1001"), (-5_000, "COMISION MENSUAL"), (50_000, "F-1002"),
        ref="S2",
    )  # fmt: skip
    third = await _import(scope, overlap, "estado2.sta")
    assert (third.new, third.already_imported, third.matched) == (1, 2, 1)
    assert await scope.count(Payment) == 2 and await _balance(scope, shop["f2"]) == 0
    statuses = sorted(line.status for line in await list_lines(scope))
    assert statuses == ["debit", "matched", "matched"]
    assert next(s["id"] for s in await list_statements(scope)) == third.statement_id
    actions = await scope.select(AuditEvent, AuditEvent.action)
    assert sum(a["action"] == "bank_statement.imported" for a in actions) == 2


async def test_a_bad_file_stores_nothing_and_names_where(shop: dict) -> None:
    scope = shop["scope"]
    with pytest.raises(StatementError):
        await _import(scope, b"\x00\x01 no es un estado de cuenta", "basura.bin")
    broken = mt940((116_000, "F-1001")).replace(b":61:", b":61:XX", 1)
    with pytest.raises(StatementError) as exc:
        await _import(scope, broken)
    assert str(exc.value)
    assert await scope.count(BankStatement) == 0 and await scope.count(BankLine) == 0
    assert await scope.count(Payment) == 0
    with pytest.raises(StatementError, match="formato CSV"):
        await _import(scope, b"fecha,monto\n", "x.csv", csv_profile="No existe")


async def test_one_line_pays_two_invoices_and_two_lines_pay_one(shop: dict) -> None:
    scope = shop["scope"]
    summary = await _import(scope, mt940((166_000, "FACTURAS F-1001 Y F-1002")))
    assert summary.matched == 1 and summary.applied == 166_000
    assert await _balance(scope, shop["f1"]) == 0 and await _balance(scope, shop["f2"]) == 0
    payment = await scope.objects(Payment).first()
    allocations = await scope.objects(Allocation).where(Allocation.payment == payment.id)
    assert sorted(a.amount for a in allocations) == [50_000, 116_000]

    # Two partial payments of one invoice: each line applies its own money.
    lines = [(100_000, "ABONO G-2001"), (130_000, "RESTO G-2001")]
    for n, line in enumerate(lines):
        line_id = await _review_line(scope, shop, line[0], [(shop["g1"], line[0])], n)
        await accept_candidate(scope, line_id, 0, actor=ACTOR)
    assert await _balance(scope, shop["g1"]) == 0
    assert await scope.count(Payment).where(Payment.customer == shop["beto"]) == 2


async def _review_line(
    scope: TenantScope,
    shop: dict,
    amount: int,
    allocations: list[tuple[int, int]],
    n: int = 0,
    customer: str = "beto",
) -> int:
    """A line in review with one candidate, as an import leaves a doubtful match."""
    statement = BankStatement(
        format="mt940", currency="MXN", file_sha256=uuid.uuid4().hex, counts={}
    )
    await scope.add(statement)
    line = BankLine(
        statement=statement.id,
        line_no=n + 1,
        key=f"k-{uuid.uuid4().hex}",
        booked_on=TODAY,
        amount=amount,
        currency="MXN",
        description="pago",
        status="review",
        candidates=[
            {
                "rule": "payer_name",
                "confidence": 0.6,
                "customer_id": shop[customer],
                "allocations": [list(a) for a in allocations],
                "reason": "nombre parecido",
            }
        ],
    )
    await scope.add(line)
    return int(line.id)


# --- undo ---------------------------------------------------------------------------------------


async def test_undo_gives_back_exactly_what_was_applied_and_accepting_again_works(
    shop: dict,
) -> None:
    scope = shop["scope"]
    await save_reconcile_settings(
        scope,
        {"rules": "invoice_number", "auto_threshold": "0.9", "fee_tolerance": "20.00",
         "date_window_days": "15"},
        actor=ACTOR,
    )  # fmt: skip
    f1, f2, ana = shop["f1"], shop["f2"], shop["ana"]
    # 1,150.00 for F-1001 (1,160.00): the bank kept 10.00, written off as its fee.
    fee_line = await _review_line(scope, shop, 115_000, [(f1, 116_000)], customer="ana")
    # 600.00 for F-1002 (500.00): 100.00 becomes Ana's credit.
    over_line = await _review_line(scope, shop, 60_000, [(f2, 50_000)], customer="ana")
    for line_id in (fee_line, over_line):
        view = await accept_candidate(scope, line_id, 0, actor=ACTOR)
        assert view.status == "matched" and view.payment_id
    assert await _balance(scope, f1) == 0 and await _balance(scope, f2) == 0
    # The bank kept a fee: the customer paid in full, so the invoice is paid, not written off.
    assert (await scope.get(Invoice, f1)).status == "paid"
    offs = await scope.objects(WriteOff).where(WriteOff.invoice == f1)
    assert [(w.amount, w.reason) for w in offs] == [(1_000, "comisión bancaria")]
    assert await customer_credit(scope, ana, "MXN") == 10_000

    first_payment = (await get_line(scope, fee_line)).payment_id
    for line_id in (fee_line, over_line):
        view = await undo_match(scope, line_id, actor=ACTOR, reason="cliente equivocado")
        assert view.status == "review" and view.payment_id is None and view.candidates
    assert await _balance(scope, f1) == 116_000 and await _balance(scope, f2) == 50_000
    assert (await scope.get(Invoice, f1)).status == "open"
    assert await customer_credit(scope, ana, "MXN") == 0
    assert sum(w.amount for w in await scope.objects(WriteOff)) == 0
    undone = await scope.get(Payment, first_payment)
    assert undone.status == UNDONE
    assert await count_lines(scope, "review") == 2

    # Accepting again records a new payment (the line's next generation), applied once.
    view = await accept_candidate(scope, fee_line, 0, actor=ACTOR)
    assert view.payment_id != first_payment
    assert (await scope.get(Payment, view.payment_id)).idempotency_key.endswith(":1")
    assert await _balance(scope, f1) == 0
    with pytest.raises(ReconcileError):
        await accept_candidate(scope, fee_line, 0, actor=ACTOR)
    with pytest.raises(ReconcileError):
        await undo_match(scope, over_line, actor=ACTOR)  # in review: nothing to undo


async def test_concurrent_decisions_on_one_line_make_one(shop: dict) -> None:
    scope = shop["scope"]
    line_id = await _review_line(scope, shop, 230_000, [(shop["g1"], 230_000)])
    results = await asyncio.gather(
        accept_candidate(scope, line_id, 0, actor="staff:1"),
        accept_candidate(scope, line_id, 0, actor="staff:2"),
        return_exceptions=True,
    )
    assert sum(isinstance(r, ReconcileError) for r in results) == 1
    assert await scope.count(Payment) == 1 and await _balance(scope, shop["g1"]) == 0
    results = await asyncio.gather(
        undo_match(scope, line_id, actor="staff:1"),
        undo_match(scope, line_id, actor="staff:2"),
        return_exceptions=True,
    )
    assert sum(isinstance(r, ReconcileError) for r in results) == 1
    assert await _balance(scope, shop["g1"]) == 230_000
    net = sum(a.amount - a.reversed_amount for a in await scope.objects(Allocation))
    assert net == 0


async def test_the_same_file_imported_twice_at_once_applies_once(shop: dict) -> None:
    scope = shop["scope"]
    data = mt940((116_000, "F-1001"), (230_000, "PAGO G-2001"))
    results = await asyncio.gather(_import(scope, data), _import(scope, data))
    assert sorted(r.duplicate_file for r in results) == [False, True]
    assert await scope.count(BankLine) == 2 and await scope.count(Payment) == 2
    assert await _balance(scope, shop["f1"]) == 0 and await _balance(scope, shop["g1"]) == 0
    credits = await scope.objects(CreditEntry)
    assert credits == []


# --- other decisions ----------------------------------------------------------------------------


async def test_assign_ignore_and_rematch(shop: dict) -> None:
    scope = shop["scope"]
    summary = await _import(scope, mt940((80_000, "SPEI SIN REFERENCIA"), (99_900, "H-3001")))
    assert summary.matched == 0 and summary.review + summary.unmatched == 2
    lines = {line.description: line for line in await list_lines(scope)}
    lone = lines["SPEI SIN REFERENCIA"]

    with pytest.raises(ReconcileError):
        await assign_line(scope, lone.id, customer_id=shop["ana"], invoice_ids=[shop["g1"]],
                          actor=ACTOR)  # fmt: skip
    view = await assign_line(
        scope, lone.id, customer_id=shop["ana"], invoice_ids=[shop["f2"], shop["f1"]], actor=ACTOR
    )
    assert view.status == "matched" and view.rule == "manual"
    assert await _balance(scope, shop["f2"]) == 0
    assert await _balance(scope, shop["f1"]) == 116_000 - 30_000

    # H-3001 arrives after the money: the daily rematch applies the waiting line.
    await _invoice(scope, shop["beto"], "H-3001", 99_900)
    counts = await rematch_open_lines(scope, actor="system:reconciliation")
    assert counts["matched"] == 1
    assert (await get_line(scope, lines["H-3001"].id)).status == "matched"

    # Ignoring needs a reason, and only open lines can be ignored; undo reopens.
    extra = await _review_line(scope, shop, 1_000, [(shop["g1"], 1_000)])
    with pytest.raises(ReconcileError):
        await ignore_line(scope, extra, actor=ACTOR, reason=" ")
    view = await ignore_line(scope, extra, actor=ACTOR, reason="traspaso entre cuentas")
    assert view.status == "ignored" and view.note == "traspaso entre cuentas"
    assert (await undo_match(scope, extra, actor=ACTOR)).status == "review"


async def test_another_tenants_ids_are_not_found(shop: dict) -> None:
    scope = shop["scope"]
    line_id = await _review_line(scope, shop, 230_000, [(shop["g1"], 230_000)])
    other = TenantScope(int((await make_tenant("otra-" + uuid.uuid4().hex[:6])).id))
    for attempt in (
        get_line(other, line_id),
        accept_candidate(other, line_id, 0, actor=ACTOR),
        undo_match(other, line_id, actor=ACTOR),
        ignore_line(other, line_id, actor=ACTOR, reason="x"),
        assign_line(other, line_id, customer_id=shop["beto"], invoice_ids=[], actor=ACTOR),
        get_line(scope, 2**40),
    ):
        with pytest.raises(LineNotFound):
            await attempt
    stranger = await _customer(other, "Ajeno")
    with pytest.raises(ReconcileError):
        await assign_line(scope, line_id, customer_id=stranger, invoice_ids=[], actor=ACTOR)
    assert await list_lines(other) == [] and await list_statements(other) == []
    assert (await get_line(scope, line_id)).status == "review"


# --- settings and CSV profiles ------------------------------------------------------------------


async def test_settings_are_validated_and_stored(shop: dict) -> None:
    scope = shop["scope"]
    assert (await reconcile_settings(scope)).auto_threshold == 0.9
    with pytest.raises(FormErrors) as exc:
        await save_reconcile_settings(
            scope,
            {"rules": "invoice_number,nope", "auto_threshold": "0.3", "fee_tolerance": "abc",
             "date_window_days": "120"},
            actor=ACTOR,
        )  # fmt: skip
    assert set(exc.value.errors) == {"rules", "auto_threshold", "fee_tolerance", "date_window_days"}
    saved = await save_reconcile_settings(
        scope,
        {"rules": "invoice_number bank_reference", "auto_threshold": "95", "fee_tolerance": "15.50",
         "date_window_days": "7"},
        actor=ACTOR,
    )  # fmt: skip
    assert saved.rules == ("invoice_number", "bank_reference")
    assert (saved.auto_threshold, saved.fee_tolerance, saved.date_window_days) == (0.95, 1550, 7)
    assert await reconcile_settings(scope) == saved


async def test_csv_profiles_are_saved_per_tenant_and_used_to_import(shop: dict) -> None:
    scope = shop["scope"]
    profile = CsvProfile(
        name="Banco Norte",
        date_column="Fecha",
        amount_column="Importe",
        description_column="Concepto",
        currency="MXN",
    )
    with pytest.raises(FormErrors):
        await save_csv_profile(scope, CsvProfile(name="Malo", delimiter="ab"), actor=ACTOR)
    await save_csv_profile(scope, profile, actor=ACTOR)
    await save_csv_profile(scope, profile, actor=ACTOR)  # saving again replaces
    assert [p.name for p in await csv_profiles(scope)] == ["Banco Norte"]
    data = f"Fecha,Importe,Concepto\n{TODAY:%d/%m/%Y},1160.00,Pago F-1001\n".encode()
    summary = await _import(scope, data, "norte.csv", fmt="csv", csv_profile="Banco Norte")
    assert summary.matched == 1 and await _balance(scope, shop["f1"]) == 0
    await delete_csv_profile(scope, "Banco Norte", actor=ACTOR)
    assert await csv_profiles(scope) == []
    with pytest.raises(SettingNotFound):
        await delete_csv_profile(scope, "Banco Norte", actor=ACTOR)


async def test_a_large_upload_is_matched_by_the_job_its_import_enqueued(
    shop: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The back office hands a big file to ``reconcile_statement`` (enqueued with the lines, so
    it cannot be lost): the invoice is paid only once the job ran, and running it again is
    harmless."""
    from recaudo.core.reconciliation import service
    from recaudo.core.tables import OutboxJob
    from recaudo.workers.reconciliation import reconcile_statement

    monkeypatch.setattr(service, "INLINE_MATCH_LINES", 1)
    scope = shop["scope"]
    data = mt940((116_000, "PAGO FACTURA F-1001"), (230_000, "PAGO G-2001"), ref="BIG")
    summary = await _import(scope, data, background=True)
    assert (summary.new, summary.pending, summary.matched) == (2, 2, 0)
    assert await _balance(scope, shop["f1"]) == 116_000  # nothing applied in the request
    (job,) = await scope.objects(OutboxJob).where(OutboxJob.actor == "reconcile_statement")
    payload = loads(job.payload, {})
    assert payload == {"statement_id": summary.statement_id}
    for _ in range(2):
        await reconcile_statement(scope, payload)
    assert await _balance(scope, shop["f1"]) == 0 and await _balance(scope, shop["g1"]) == 0
    assert await scope.count(Payment) == 2
    statement = await scope.get(BankStatement, summary.statement_id)
    assert statement is not None
    counts = loads(statement.counts, {})
    assert (counts["matched"], counts["pending"], counts["new"]) == (2, 0, 2)
    # A small upload is still matched while the person waits.
    small = await _import(scope, mt940((50_000, "F-1002"), ref="SMALL"), background=True)
    assert (small.pending, small.matched) == (0, 1)
