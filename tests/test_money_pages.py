"""Back-office payments over HTTP: the list with filters, a payment's page, recording a manual
payment, refunding through the (sandbox) provider and writing off an invoice; roles and tenants.
"""

from __future__ import annotations

from recaudo.core.payments import ledger
from recaudo.core.payments.manual import record_manual_payment
from recaudo.core.tables import AuditEvent, Invoice, Payment, WriteOff
from recaudo.tenants.plugin_config import set_plugin
from tests import test_staff_http
from tests.test_staff_http import World, post, signed_in

world = test_staff_http.world  # two tenants, three roles each, a customer with two invoices


async def _manual(side: test_staff_http.Side, amount: int, reference: str, invoices=None) -> int:
    payment = await record_manual_payment(
        side.scope,
        customer_id=side.customer,
        currency=side.currency,
        amount=amount,
        method="cash",
        reference=reference,
        invoice_ids=invoices,
        actor="staff:test",
    )
    return int(payment.id)


async def test_staff_record_a_manual_payment_once(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "collector") as c:
        start = await c.get(f"{a.staff}/pagos/nuevo?cliente=C-1")
        assert start.status_code == 200
        assert 'name="facturas"' in start.text and "F-1" in start.text
        assert "Cliente &lt;b&gt;Uno&lt;/b&gt;" in start.text  # customer text is escaped
        form = {
            "cliente": "C-1",
            "monto": "600.00",
            "moneda": "MXN",
            "medio": "cheque",
            "referencia": "CH-0042",
            "facturas": str(a.invoices[1]),
        }
        bad = await post(c, a, f"{a.staff}/pagos/nuevo", {**form, "monto": "6,00,0"})
        assert bad.status_code == 400 and 'aria-invalid="true"' in bad.text
        assert "monto-error" in bad.text
        no_ref = await post(c, a, f"{a.staff}/pagos/nuevo", {**form, "referencia": ""})
        assert no_ref.status_code == 400 and "referencia-error" in no_ref.text
        bad_method = await post(c, a, f"{a.staff}/pagos/nuevo", {**form, "medio": "bitcoin"})
        assert bad_method.status_code == 400 and "medio-error" in bad_method.text
        future = await post(c, a, f"{a.staff}/pagos/nuevo", {**form, "fecha": "2999-01-01"})
        assert future.status_code == 400 and "fecha-error" in future.text
        assert await a.scope.count(Payment) == 0
        done = await post(c, a, f"{a.staff}/pagos/nuevo", form)
        assert done.status_code == 303
        again = await post(c, a, f"{a.staff}/pagos/nuevo", form)
        assert again.status_code == 303 and again.headers["location"] == done.headers["location"]
        other = await post(c, a, f"{a.staff}/pagos/nuevo", {**form, "monto": "1.00"})
        assert other.status_code == 400 and "referencia" in other.text
        page = await c.get(done.headers["location"])
    (payment,) = await a.scope.objects(Payment)
    assert payment.method == "cheque" and int(payment.amount) == 60_000
    assert await a.balance(a.invoices[1]) == 0
    assert await a.balance(a.invoices[0]) == 100_000 + 10_000 - 10_000  # untouched
    assert page.status_code == 200 and "CH-0042" in page.text and "F-2" in page.text
    assert "Cheque" in page.text and "$600.00" in page.text


async def test_the_list_filters_and_paginates(world: World) -> None:
    a, b = world.a, world.b
    for n in range(3):
        await _manual(a, 1_000 + n, f"R-{n}")
    await _manual(b, 5_000, "B-1")  # another tenant's: never listed
    async with signed_in(world, a, "viewer") as c:
        everything = await c.get(f"{a.staff}/pagos")
        cash = await c.get(f"{a.staff}/pagos?medio=cash&estado=approved&cliente=Uno")
        nobody = await c.get(f"{a.staff}/pagos?cliente=Nadie")
        bad = await c.get(f"{a.staff}/pagos?estado=inventado")
        bad_date = await c.get(f"{a.staff}/pagos?desde=ayer")
        dates = await c.get(f"{a.staff}/pagos?desde=2026-02-01&hasta=2026-01-01")
        page2 = await c.get(f"{a.staff}/pagos?pagina=2")
    assert everything.status_code == 200
    assert everything.text.count("data-payment=") == 3
    assert cash.text.count("data-payment=") == 3
    assert nobody.text.count("data-payment=") == 0 and "No hay pagos" in nobody.text
    assert bad.status_code == 400 and "estado-error" in bad.text
    assert bad_date.status_code == 400 and "desde-error" in bad_date.text
    assert dates.status_code == 400 and "hasta-error" in dates.text
    assert page2.status_code == 200  # past the end: the last page
    assert "$50.00" not in everything.text  # b's payment (COP 5,000 minor units)


async def test_refund_through_the_sandbox_from_the_payment_page(world: World) -> None:
    a = world.a
    scope = a.scope
    from recaudo.core.payments.method import ProviderPayment
    from recaudo.plugins.sandbox.tables import SandboxCharge

    await set_plugin(scope, "sandbox", enabled=True, secret_key="x" * 40)
    payment = await ledger.create_payment(
        scope,
        customer_id=a.customer,
        method="sandbox",
        currency="MXN",
        idempotency_key="k-refund",
        invoice_ids=[a.invoices[1]],
    )
    await scope.add(
        SandboxCharge(
            provider_id="sbx_test1",
            our_payment_id=payment.id,
            currency="MXN",
            amount=50_000,
            status="approved",
            notification_url="",
            return_url="",
            description="x",
        )
    )
    from recaudo.core.common.money import Money

    await ledger.apply_provider_payment(
        scope,
        "sandbox",
        ProviderPayment(
            provider_payment_id="sbx_test1",
            status="approved",
            amount=Money("MXN", 50_000),
            our_payment_id=int(payment.id),
        ),
        "webhook",
    )
    assert await a.balance(a.invoices[1]) == 0
    url = f"{a.staff}/pagos/{payment.id}"
    async with signed_in(world, a, "viewer") as c:
        denied = await post(c, a, f"{url}/reembolso", {"monto": "100.00", "motivo": "x"})
        assert denied.status_code == 403
    async with signed_in(world, a, "collector") as c:
        page = await c.get(url)
        assert 'id="refund"' in page.text and "sbx_test1" in page.text
        key = page.text.split('name="clave" value="', 1)[1].split('"', 1)[0]
        too_much = await post(c, a, f"{url}/reembolso", {"monto": "900.00", "motivo": "x"})
        assert too_much.status_code == 400 and "monto-error" in too_much.text
        no_reason = await post(c, a, f"{url}/reembolso", {"monto": "100.00", "motivo": " "})
        assert no_reason.status_code == 400 and "motivo-error" in no_reason.text
        form = {"monto": "200.00", "motivo": "Cobro duplicado", "clave": key}
        done = await post(c, a, f"{url}/reembolso", form)
        assert done.status_code == 303
        twice = await post(c, a, f"{url}/reembolso", form)  # a double click: one refund
        assert twice.status_code == 303
        after = await c.get(url)
    row = await scope.get(Payment, payment.id)
    assert row is not None and row.status == "partially_refunded"
    assert int(row.amount_refunded) == 20_000
    assert await a.balance(a.invoices[1]) == 20_000
    assert "Cobro duplicado" in after.text and 'id="refunded"' in after.text
    (event,) = await scope.objects(AuditEvent).where(AuditEvent.action == "payment.refund")
    assert "Cobro duplicado" in str(event.data)


async def test_a_manual_payment_cannot_be_refunded_through_a_provider(world: World) -> None:
    a = world.a
    pid = await _manual(a, 1_000, "R-1")
    async with signed_in(world, a, "owner") as c:
        page = await c.get(f"{a.staff}/pagos/{pid}")
        refused = await post(
            c, a, f"{a.staff}/pagos/{pid}/reembolso", {"monto": "1.00", "motivo": "x"}
        )
    assert 'id="refund"' not in page.text and "no pasó por un proveedor" in page.text
    assert refused.status_code == 400
    assert int((await a.scope.get(Payment, pid)).amount_refunded) == 0


async def test_write_off_from_the_invoice_and_the_portal_sees_it(world: World) -> None:
    a = world.a
    inv = a.invoices[1]
    url = f"{a.staff}/facturas/{inv}/castigo"
    async with signed_in(world, a, "collector") as c:
        page = await c.get(url)
        assert page.status_code == 200 and 'id="write-off"' in page.text
        no_reason = await post(c, a, url, {"monto": "100.00", "motivo": ""})
        assert no_reason.status_code == 400 and "motivo-error" in no_reason.text
        too_much = await post(c, a, url, {"monto": "9,999.00", "motivo": "x"})
        assert too_much.status_code == 400 and "monto-error" in too_much.text
        assert await a.scope.count(WriteOff) == 0
        part = await post(c, a, url, {"monto": "100.00", "motivo": "Acuerdo comercial"})
        assert part.status_code == 303
        assert await a.balance(inv) == 40_000
        rest = await post(c, a, url, {"motivo": "Cliente ilocalizable"})
        assert rest.status_code == 303
        after = await c.get(url)
    invoice = await a.scope.get(Invoice, inv)
    assert invoice is not None and invoice.status == "written_off" and invoice.balance == 0
    assert "Castigada" in after.text and "Cliente ilocalizable" in after.text
    assert 'id="write-off"' not in after.text  # nothing left to write off
    events = await a.scope.objects(AuditEvent).where(AuditEvent.action == "invoice.write_off")
    assert len(events) == 2


async def test_viewers_change_nothing_and_other_tenants_ids_are_404(world: World) -> None:
    a, b = world.a, world.b
    from datetime import date

    from recaudo.core.billing.recurring import NewRecurring, create_recurring

    theirs = await _manual(b, 1_000, "B-1")
    mine = await _manual(a, 1_000, "A-1")
    rec = await create_recurring(
        a.scope,
        NewRecurring(a.customer, "Renta", "MXN", 1_000, date(2027, 1, 1)),
        "staff:test",
    )
    posts = [
        (f"{a.staff}/mensualidades/{rec.id}/estado", {"accion": "pausar"}),
        (f"{a.staff}/facturas/{a.invoices[0]}/adjuntos", {}),
        (f"{a.staff}/pagos/nuevo", {"cliente": "C-1", "monto": "1.00", "medio": "cash",
                                     "referencia": "V-1"}),
        (f"{a.staff}/pagos/{mine}/reembolso", {"monto": "1.00", "motivo": "x"}),
        (f"{a.staff}/facturas/{a.invoices[0]}/castigo", {"motivo": "x"}),
    ]  # fmt: skip
    async with signed_in(world, a, "viewer") as c:
        for url, data in posts:
            response = await post(c, a, url, data)
            assert response.status_code == 403, url
        for url in (f"{a.staff}/pagos", f"{a.staff}/pagos/{mine}", f"{a.staff}/pagos/nuevo",
                    f"{a.staff}/facturas/{a.invoices[0]}/castigo"):  # fmt: skip
            page = await c.get(url)
            assert page.status_code == 200, url
            assert 'id="write-off"' not in page.text and 'id="record-payment"' not in page.text
    assert await a.scope.count(WriteOff) == 0 and await a.scope.count(Payment) == 1
    async with signed_in(world, a, "owner") as c:
        for url in (f"{a.staff}/pagos/{theirs}", f"{a.staff}/facturas/{b.invoices[0]}/castigo"):
            assert (await c.get(url, headers={"accept": "text/html"})).status_code == 404
        gone = await post(c, a, f"{a.staff}/facturas/{b.invoices[0]}/castigo", {"motivo": "x"})
        assert gone.status_code == 404
        refund = await post(c, a, f"{a.staff}/pagos/{theirs}/reembolso", {"monto": "1.00"})
        assert refund.status_code == 404
        stranger = await post(
            c,
            a,
            f"{a.staff}/pagos/nuevo",
            {"cliente": "C-1", "monto": "1.00", "medio": "cash", "referencia": "X",
             "facturas": str(b.invoices[0])},
        )  # fmt: skip
        assert stranger.status_code == 400 and "facturas-error" in stranger.text
        no_csrf = await c.post(
            f"{a.staff}/facturas/{a.invoices[0]}/castigo",
            data={"motivo": "x"},
            headers={"accept": "text/html"},
        )
        assert no_csrf.status_code == 403
    assert await a.scope.count(WriteOff) == 0
    assert await b.scope.count(WriteOff) == 0
    assert await b.balance(b.invoices[0]) == 100_000


async def test_recurring_pages_create_pause_resume_end(world: World) -> None:
    from recaudo.core.tables import RecurringInvoice

    a, b = world.a, world.b
    form = {
        "cliente": "C-1",
        "descripcion": "Renta <local>",
        "monto": "1,200.00",
        "impuesto": "192.00",
        "moneda": "MXN",
        "periodo": "monthly",
        "inicio": "2027-01-31",
        "dia": "31",
        "plazo": "5",
        "prefijo": "RENTA",
    }
    async with signed_in(world, a, "viewer") as c:
        denied = await post(c, a, f"{a.staff}/mensualidades/nueva", form)
        assert denied.status_code == 403
    async with signed_in(world, a, "collector") as c:
        blank = await c.get(f"{a.staff}/mensualidades/nueva")
        assert blank.status_code == 200 and 'id="create-recurring"' in blank.text
        for field, value in (("cliente", "NADIE"), ("monto", "12,00,0"), ("dia", "40"),
                             ("inicio", "ayer"), ("prefijo", "a b")):  # fmt: skip
            bad = await post(c, a, f"{a.staff}/mensualidades/nueva", {**form, field: value})
            assert bad.status_code == 400 and f"{field}-error" in bad.text, field
        assert await a.scope.count(RecurringInvoice) == 0
        done = await post(c, a, f"{a.staff}/mensualidades/nueva", form)
        assert done.status_code == 303
        detail_url = done.headers["location"]
        listed = await c.get(f"{a.staff}/mensualidades")
        assert "Renta &lt;local&gt;" in listed.text and "$1,392.00" in listed.text
        rid = detail_url.rsplit("/", 1)[1]
        paused = await post(c, a, f"{detail_url}/estado", {"accion": "pausar"})
        assert paused.status_code == 303
        page = await c.get(detail_url)
        assert 'id="resume"' in page.text
        assert (await post(c, a, f"{detail_url}/estado", {"accion": "x"})).status_code == 400
        await post(c, a, f"{detail_url}/estado", {"accion": "reanudar"})
        await post(c, a, f"{detail_url}/estado", {"accion": "terminar"})
        again = await post(c, a, f"{detail_url}/estado", {"accion": "reanudar"})
        assert again.status_code == 400
    row = await a.scope.get(RecurringInvoice, int(rid))
    assert row is not None and row.status == "ended" and row.amount == 120_000 and row.tax == 19_200
    async with signed_in(world, b, "owner") as c:
        other = f"{b.staff}/mensualidades/{rid}"
        assert (await c.get(other, headers={"accept": "text/html"})).status_code == 404
        assert (await post(c, b, f"{other}/estado", {"accion": "pausar"})).status_code == 404
