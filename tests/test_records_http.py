"""Back-office customers and invoices over HTTP: navigation, search and filters, the timeline,
create/edit validation, void and credit notes (and what the customer's portal shows after them),
roles and tenant isolation.

Built on ``tests/test_staff_http.py``'s two-tenant world (a MX tenant "a" and a CO tenant "b",
each with a customer C-1, two overdue invoices, a chat, a dispute, a proof, a plan in review and a
"No puedo pagar" request).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.billing.timeline import KINDS
from recaudo.core.config import Settings
from recaudo.core.payments.ledger import record_staff_payment
from recaudo.core.platform.host import PluginHost
from recaudo.core.tables import (
    AuditEvent,
    ContactAttempt,
    CreditNote,
    Customer,
    CustomerNote,
    HardshipRequest,
    Invoice,
    NotificationLog,
)
from recaudo.tenants.plugin_config import set_plugin
from tests.conftest import drain_jobs
from tests.portal_support import latest_link
from tests.test_staff_http import BASE, Side, World, client, post, seed, signed_in

TODAY = date.today()


@pytest.fixture
async def world(database: str, host: PluginHost, monkeypatch: pytest.MonkeyPatch) -> World:
    """Two tenants seeded as ``tests/test_staff_http.py`` does (MX "a", CO "b").

    Staff passwords use the cheapest argon2 parameters here: these tests are about records, and
    six full-strength hashes plus a login per test would be most of their time.
    """
    from argon2 import PasswordHasher

    from recaudo.core.access import staff as staff_accounts
    from tests.apps import asgi_app

    monkeypatch.setattr(
        staff_accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )

    settings = Settings(
        env="development", database_url=database, secret_key="x" * 40, base_url=BASE
    )
    app = asgi_app(settings)
    suffix = uuid.uuid4().hex[:6]
    return World(
        app, await seed(f"alfa-{suffix}", "MX", "MXN"), await seed(f"beta-{suffix}", "CO", "COP")
    )


def ids_in(html: str, attribute: str) -> list[int]:
    return [int(x) for x in re.findall(rf'data-{attribute}="(\d+)"', html)]


async def customer(side: Side, number: str, name: str, **extra: object) -> int:
    row = await create_customer(side.scope, NewCustomer(number, name, **extra), "MX")  # type: ignore[arg-type]
    return int(row.id)


async def invoice(side: Side, customer_id: int, number: str, amount: int, due_in: int) -> int:
    row = await create_invoice(
        side.scope,
        NewInvoice(
            customer_id=customer_id,
            number=number,
            issue_date=TODAY - timedelta(days=30),
            due_date=TODAY + timedelta(days=due_in),
            currency=side.currency,
            lines=(NewLine("Servicio", 1, amount),),
        ),
    )
    return int(row.id)


def reading_routes(side: Side, invoice_id: int) -> list[str]:
    s = side.staff
    return [
        f"{s}/clientes/{side.customer}",
        f"{s}/clientes/{side.customer}/editar",
        f"{s}/facturas/{invoice_id}",
        f"{s}/facturas/{invoice_id}/editar",
        f"{s}/facturas?cliente={side.customer}",
    ]


def acting_routes(side: Side, invoice_id: int) -> list[tuple[str, dict[str, str]]]:
    s = side.staff
    return [
        (f"{s}/clientes/{side.customer}/editar", {"name": "Cambiado"}),
        (f"{s}/clientes/{side.customer}/notas", {"body": "Llamó"}),
        (f"{s}/facturas/{invoice_id}/editar", {"numero": "X-9"}),
        (f"{s}/facturas/{invoice_id}/anular", {"reason": "error"}),
        (f"{s}/facturas/{invoice_id}/nota-de-credito", {"amount": "1", "reason": "x"}),
    ]


# --- navigation ---------------------------------------------------------------------------------


async def test_staff_navigation_links_every_area(world: World) -> None:
    async with signed_in(world, world.a, "viewer") as c:
        page = await c.get(f"{world.a.staff}/clientes")
    assert page.status_code == 200
    nav = page.text.split('id="staff-nav"', 1)[1].split("</ul>", 1)[0]
    paths = ("/", "/clientes", "/facturas", "/mensualidades", "/pagos", "/importar", "/equipo")
    for path in (*paths, "/ajustes"):
        assert f'href="{world.a.staff}{path}"' in nav, path
    assert f'href="{world.a.staff}/clientes" aria-current="page"' in nav
    for label in ("Bandeja", "Clientes", "Facturas", "Pagos", "Importar", "Equipo", "Ajustes"):
        assert f">{label}<" in nav
    async with signed_in(world, world.a, "viewer") as c:
        english = await c.get(f"{world.a.staff}/facturas?lang=en")
    assert ">Customers<" in english.text and ">Invoices<" in english.text


async def test_pages_are_usable_at_360_px(world: World) -> None:
    """No fixed widths: tables collapse (class responsive), forms are grids of fluid columns."""
    async with signed_in(world, world.a) as c:
        pages = [
            await c.get(f"{world.a.staff}/clientes"),
            await c.get(f"{world.a.staff}/clientes/{world.a.customer}"),
            await c.get(f"{world.a.staff}/clientes/nuevo"),
            await c.get(f"{world.a.staff}/facturas"),
            await c.get(f"{world.a.staff}/facturas/{world.a.invoices[0]}"),
            await c.get(f"{world.a.staff}/facturas/nueva"),
        ]
    for page in pages:
        assert page.status_code == 200, page.url
        assert 'name="viewport" content="width=device-width' in page.text
        assert not re.search(r'style="[^"]*width', page.text), page.url
        assert not re.search(r'\bwidth="\d+"', page.text), page.url
        for table in re.findall(r"<table[^>]*>", page.text):
            assert 'class="responsive"' in table, (page.url, table)
    css = (
        __import__("pathlib").Path(__file__).resolve().parent.parent / "web/static/css/app.css"
    ).read_text()
    records_css = css.split("/* Staff navigation (records)", 1)[1]
    assert not re.search(r"(?<!min-)width:\s*\d{3,}px", records_css)


# --- customers: list, search, filters -------------------------------------------------------------


async def test_customer_search_is_case_insensitive_on_every_field(world: World) -> None:
    a = world.a
    ana = await customer(a, "N-100", "Ana Núñez", email="ANA@Example.com", tax_id="GODE561231GR8")
    beto = await customer(a, "N-200", "Beto Pérez", email="beto@example.com")
    await customer(world.b, "N-100", "Ana de otro negocio")
    async with signed_in(world, a, "viewer") as c:

        async def found(q: str) -> list[int]:
            response = await c.get(f"{a.staff}/clientes", params={"q": q})
            assert response.status_code == 200
            return ids_in(response.text, "customer")

        assert await found("ana") == [ana]
        assert await found("ANA NÚ") == [ana]
        assert await found("n-200") == [beto]
        assert await found("ana@example") == [ana]
        assert await found("gode-561231") == [ana]  # tax id typed with a dash
        assert await found("%") == []  # wildcards match themselves
        assert await found("zzz") == []
        page = await c.get(f"{a.staff}/clientes", params={"q": "<script>"})
    assert page.status_code == 200 and "<script>" not in page.text.split("<main", 1)[1]


async def test_customer_filters_balance_overdue_segment_tag(world: World) -> None:
    a = world.a
    owes = await customer(a, "F-1", "Debe al día", segment="Mayoreo", tags=("vip", "norte"))
    late = await customer(a, "F-2", "Debe vencido", segment="mayoreo", tags=("norte",))
    clear = await customer(a, "F-3", "Sin saldo", segment="Menudeo", tags=("vip",))
    await invoice(a, owes, "FF-1", 10_000, due_in=10)
    await invoice(a, late, "FF-2", 20_000, due_in=-5)
    async with signed_in(world, a, "viewer") as c:

        async def found(**params: str) -> set[int]:
            response = await c.get(f"{a.staff}/clientes", params=params)
            assert response.status_code == 200
            return set(ids_in(response.text, "customer"))

        with_balance = await found(saldo="1")
        assert {owes, late} <= with_balance and clear not in with_balance
        assert a.customer in with_balance  # the seeded customer owes too
        overdue = await found(vencido="1")
        assert late in overdue and owes not in overdue and clear not in overdue
        assert await found(segmento="MAYOREO") == {owes, late}
        assert await found(etiqueta="vip") == {owes, clear}
        assert await found(etiqueta="VIP", saldo="1") == {owes}
        assert await found(etiqueta="nor") == set()  # whole tags only
        page = await c.get(f"{a.staff}/clientes", params={"q": "Debe vencido"})
    row = page.text.split(f'data-customer="{late}"', 1)[1].split("</tr>", 1)[0]
    assert "200.00" in row  # the open balance, summed in the same query


async def test_customer_list_is_paginated(world: World) -> None:
    a = world.a
    rows = [Customer(number=f"P-{i:03d}", name=f"Pag {i:03d}", consents={}) for i in range(55)]
    await a.scope.add(*rows)
    async with signed_in(world, a, "viewer") as c:
        first = await c.get(f"{a.staff}/clientes", params={"q": "Pag "})
        assert len(ids_in(first.text, "customer")) == 50
        link = re.search(r'href="(\?[^"]*pagina=2[^"]*)"', first.text)
        assert link, first.text
        second = await c.get(f"{a.staff}/clientes" + link.group(1).replace("&amp;", "&"))
    assert len(ids_in(second.text, "customer")) == 5
    assert not set(ids_in(first.text, "customer")) & set(ids_in(second.text, "customer"))
    assert 'rel="next"' not in second.text


# --- customers: detail and timeline -------------------------------------------------------------


async def test_timeline_has_every_kind(world: World) -> None:
    a = world.a
    await record_staff_payment(
        a.scope,
        customer_id=a.customer,
        currency=a.currency,
        amount=1_000,
        method="cash",
        reference="R-1",
        invoice_ids=[a.invoices[1]],
    )
    await a.scope.add(
        NotificationLog(
            channel="email", recipient=f"cliente@{a.slug}.example", subject="Recordatorio"
        )
    )
    await a.scope.add(
        HardshipRequest(
            customer=a.customer, reason="lost_income", outcome="promise", promise_date=TODAY
        ),
    )
    now = datetime.now(UTC)
    await a.scope.add(  # a reminder the engine deferred (issue #11)
        ContactAttempt(
            customer=a.customer,
            key="r-1",
            channel="whatsapp",
            status="deferred",
            rule="quiet_hours",
            scheduled_for=now,
            created_at=now,
            updated_at=now,
        )
    )
    async with signed_in(world, a) as c:
        note = await post(c, a, f"{a.staff}/clientes/{a.customer}/notas", {"body": "Llamó <hoy>"})
        assert note.status_code == 303
        credit = await post(
            c,
            a,
            f"{a.staff}/facturas/{a.invoices[1]}/nota-de-credito",
            {"amount": "100.00", "reason": "Descuento"},
        )
        assert credit.status_code == 303, credit.text
        page = await c.get(f"{a.staff}/clientes/{a.customer}")
    assert page.status_code == 200
    kinds = set(re.findall(r'<li data-kind="(\w+)"', page.text))
    assert kinds == set(KINDS), set(KINDS) - kinds
    assert "Llamó &lt;hoy&gt;" in page.text
    times = re.findall(r'<li data-kind="\w+">\s*<span class="meta">([^·]+)·', page.text)
    assert times  # each entry shows its time (newest first: tests/test_records_core.py)
    assert await a.scope.count(CustomerNote) == 1
    assert await a.scope.count(AuditEvent).where(AuditEvent.action == "customer.note_added") == 1


async def test_customer_detail_shows_data_balance_and_consents(world: World) -> None:
    a = world.a
    await a.scope.update(
        Customer,
        {Customer.consents: {"channels": ["email", "sms"], "quiet_hours": ["21:00", "08:00"]}},
    ).where(Customer.id == a.customer)
    async with signed_in(world, a, "viewer") as c:
        page = await c.get(f"{a.staff}/clientes/{a.customer}")
    assert "Cliente &lt;b&gt;Uno&lt;/b&gt;" in page.text
    assert "1,500.00" in page.text  # 1,000 + 500 open
    consents = page.text.split('id="consents"', 1)[1].split("</dd>", 1)[0]
    assert "email, sms" in consents and "21:00" in consents
    assert 'action="' + f"{a.staff}/clientes/{a.customer}/notas" not in page.text  # viewer


# --- customers: create and edit -----------------------------------------------------------------


async def test_create_customer_validates_the_tax_id_per_country(world: World) -> None:
    a = world.a
    form = {
        "number": "N-1",
        "name": "Nueva SA",
        "tax_country": "MX",
        "tax_id": "GODE561331GR8",  # month 13
        "email": "nueva@example.com",
        "phone": "+52 55 1234 5678",
        "preferred_channel": "email",
        "locale": "es",
        "segment": "Mayoreo",
        "tags": "VIP, norte",
    }
    async with signed_in(world, a, "collector") as c:
        bad = await post(c, a, f"{a.staff}/clientes/nuevo", form)
        assert bad.status_code == 400
        assert "Identificación fiscal" in bad.text and "[tax_id]" in bad.text
        assert 'id="f-tax_id"' in bad.text and 'aria-invalid="true"' in bad.text
        assert 'value="Nueva SA"' in bad.text  # what was typed is kept
        assert await a.scope.count(Customer).where(Customer.number == "N-1") == 0
        bad_email = await post(
            c, a, f"{a.staff}/clientes/nuevo", {**form, "tax_id": "", "email": "x"}
        )
        assert bad_email.status_code == 400 and "[email]" in bad_email.text
        ok = await post(c, a, f"{a.staff}/clientes/nuevo", {**form, "tax_id": "GODE561231GR8"})
        assert ok.status_code == 303, ok.text
        again = await post(c, a, f"{a.staff}/clientes/nuevo", {**form, "tax_id": ""})
        assert again.status_code == 400 and "[number]" in again.text
    row = await a.scope.objects(Customer).where(Customer.number == "N-1").first()
    assert row is not None and ok.headers["location"] == f"{a.staff}/clientes/{row.id}"
    assert (row.segment, row.tags, row.phone, row.locale) == (
        "Mayoreo",
        ",vip,norte,",
        "+525512345678",
        "es",
    )
    assert await a.scope.count(AuditEvent).where(AuditEvent.action == "customer.created") == 1


async def test_edit_customer_colombian_nit(world: World) -> None:
    b = world.b
    url = f"{b.staff}/clientes/{b.customer}/editar"
    async with signed_in(world, b) as c:
        form = await c.get(url)
        assert form.status_code == 200 and 'id="consents"' in form.text
        assert 'name="consents' not in form.text  # consents are shown, never edited
        bad = await post(c, b, url, {"tax_country": "CO", "tax_id": "800.197.268-3", "name": "X"})
        assert bad.status_code == 400 and "NIT" in bad.text
        stored = await b.scope.get(Customer, b.customer)
        assert stored is not None and stored.name == "Cliente <b>Uno</b>"
        ok = await post(
            c,
            b,
            url,
            {"tax_country": "CO", "tax_id": "800.197.268-4", "segment": "Salud", "tags": "eps"},
        )
        assert ok.status_code == 303
    stored = await b.scope.get(Customer, b.customer)
    assert stored is not None and (stored.tax_id, stored.segment, stored.tags) == (
        "8001972684",
        "Salud",
        ",eps,",
    )
    assert stored.name == "Cliente <b>Uno</b>"  # fields not sent are left alone
    assert await b.scope.count(AuditEvent).where(AuditEvent.action == "customer.updated") == 1


# --- invoices: list -----------------------------------------------------------------------------


async def test_invoice_filters(world: World) -> None:
    a = world.a
    other = await customer(a, "I-2", "Otra")
    future = await invoice(a, other, "FX-100", 5_000, due_in=20)
    paid = await invoice(a, other, "FX-200", 5_000, due_in=5)
    await record_staff_payment(
        a.scope,
        customer_id=other,
        currency=a.currency,
        amount=5_000,
        method="cash",
        reference="R-9",
        invoice_ids=[paid],
    )
    async with signed_in(world, a, "viewer") as c:

        async def found(**params: str) -> set[int]:
            response = await c.get(f"{a.staff}/facturas", params=params)
            assert response.status_code == 200, response.text
            return set(ids_in(response.text, "invoice"))

        assert await found() == {*a.invoices, future, paid}
        assert await found(estado="overdue") == set(a.invoices)
        assert await found(estado="paid") == {paid}
        assert await found(cliente=str(other)) == {future, paid}
        assert await found(numero_cliente="I-2") == {future, paid}
        assert await found(numero_cliente="NADIE") == set()
        assert await found(q="fx-1") == {future}
        start, end = TODAY + timedelta(days=1), TODAY + timedelta(days=30)
        assert await found(desde=start.isoformat(), hasta=end.isoformat()) == {future, paid}
        bad = await c.get(f"{a.staff}/facturas", params={"desde": "ayer"})
        assert bad.status_code == 400 and "Vence desde" in bad.text
        bad = await c.get(f"{a.staff}/facturas", params={"estado": "raro"})
        assert bad.status_code == 400


# --- invoices: create, edit -------------------------------------------------------------------


def invoice_form(**extra: str) -> dict[str, str]:
    return {
        "cliente": "C-1",
        "numero": "A-1",
        "emision": TODAY.isoformat(),
        "plazo": "30",
        "vence": "",
        "moneda": "MXN",
        "descripcion": "Pedido 15",
        "lineas": "3",
        "linea-0-descripcion": "Cemento",
        "linea-0-cantidad": "2",
        "linea-0-precio": "1,500.00",
        "linea-0-tasa": "",
        "linea-1-descripcion": "Flete",
        "linea-1-cantidad": "1",
        "linea-1-precio": "250.50",
        "linea-1-tasa": "0",
        "tasa": "16",
        "impuesto": "",
        **extra,
    }


async def test_create_invoice_with_lines_rates_and_terms(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "collector") as c:
        more = await post(c, a, f"{a.staff}/facturas/nueva", invoice_form(accion="agregar"))
        assert more.status_code == 200 and 'name="linea-3-descripcion"' in more.text
        assert 'value="Cemento"' in more.text
        ok = await post(c, a, f"{a.staff}/facturas/nueva", invoice_form())
        assert ok.status_code == 303, ok.text
    row = await a.scope.objects(Invoice).where(Invoice.number == "A-1").first()
    assert row is not None
    # 2 × 1,500.00 at 16 % = 480.00 tax; the freight line has a 0 % rate of its own
    assert (row.subtotal, row.tax, row.total) == (325_050, 48_000, 373_050)
    assert row.due_date == TODAY + timedelta(days=30) and row.customer == a.customer
    assert await a.scope.count(AuditEvent).where(AuditEvent.action == "invoice.created") == 1


async def test_create_invoice_refuses_bad_input_naming_the_field(world: World) -> None:
    a = world.a
    cases = [
        ({"cliente": "NOPE"}, "cliente"),
        ({"linea-0-precio": "1,5"}, "Escribe el monto así: 1,500.00"),
        ({"linea-1-cantidad": "0"}, "[line]"),
        ({"linea-0-descripcion": ""}, "[line]"),
        ({"tasa": "abc"}, "tax_rate"),
        ({"vence": (TODAY - timedelta(days=1)).isoformat()}, "[due_date]"),
        ({"moneda": "XYZ"}, "currency"),
        ({"numero": "F-1"}, "[number]"),  # already used
        ({"emision": "mañana"}, "issue_date"),
    ]
    async with signed_in(world, a) as c:
        for change, expected in cases:
            response = await post(c, a, f"{a.staff}/facturas/nueva", invoice_form(**change))
            assert response.status_code == 400, change
            assert expected in response.text, (change, response.text[-3000:])
            assert 'id="form-error"' in response.text
    assert await a.scope.count(Invoice) == 2  # only the seeded ones


async def test_edit_invoice_while_unpaid_then_refused(world: World) -> None:
    a = world.a
    target = a.invoices[1]  # F-2, 500.00, no dispute
    url = f"{a.staff}/facturas/{target}/editar"
    async with signed_in(world, a) as c:
        form = await c.get(url)
        assert form.status_code == 200 and 'value="Servicio"' in form.text
        changed = invoice_form(numero="F-2", tasa="", impuesto="10.00")
        ok = await post(c, a, url, changed)
        assert ok.status_code == 303, ok.text
        row = await a.scope.get(Invoice, target)
        assert row is not None and (row.subtotal, row.tax, row.total) == (325_050, 1_000, 326_050)
        await record_staff_payment(
            a.scope,
            customer_id=a.customer,
            currency=a.currency,
            amount=100,
            method="cash",
            reference="R-2",
            invoice_ids=[target],
        )
        refused = await post(c, a, url, invoice_form(numero="F-2", descripcion="otra"))
        assert refused.status_code == 409 and "payments were applied" in refused.text
        page = await c.get(url)
        assert page.status_code == 409
        detail = await c.get(f"{a.staff}/facturas/{target}")
        assert 'id="edit-invoice"' not in detail.text
    row = await a.scope.get(Invoice, target)
    assert row is not None and row.description == "Pedido 15"
    assert await a.scope.count(AuditEvent).where(AuditEvent.action == "invoice.updated") == 1


# --- void and credit notes, and the portal ------------------------------------------------------


async def portal_client(world: World, side: Side):  # type: ignore[no-untyped-def]
    await set_plugin(side.scope, "email", enabled=True, settings=None, secret_key="x" * 40)
    c = client(world)
    http = await c.__aenter__()
    prefix = f"/t/{side.slug}"
    await http.get(prefix + "/")
    token = http.cookies.get("csrftoken") or ""
    email = f"cliente@{side.slug}.example"
    sent = await http.post(prefix + "/acceso", data={"contact": email, "_csrf_token": token})
    assert sent.status_code == 200, sent.text
    await drain_jobs()
    link = (await latest_link(side.scope, email)).split("http://testserver", 1)[1]
    done = await http.post(link, data={"_csrf_token": http.cookies.get("csrftoken") or ""})
    assert done.status_code == 303, done.text
    return c, http


async def test_void_and_credit_note_change_balance_and_portal_statement(world: World) -> None:
    a = world.a
    first, second = a.invoices  # 1,000.00 and 500.00, both overdue
    async with signed_in(world, a, "collector") as c:
        no_reason = await post(c, a, f"{a.staff}/facturas/{second}/anular", {"reason": " "})
        assert no_reason.status_code == 400 and "Motivo" in no_reason.text
        voided = await post(c, a, f"{a.staff}/facturas/{second}/anular", {"reason": "Duplicada"})
        assert voided.status_code == 303
        again = await post(c, a, f"{a.staff}/facturas/{second}/anular", {"reason": "otra"})
        assert again.status_code == 409
        too_much = await post(
            c,
            a,
            f"{a.staff}/facturas/{first}/nota-de-credito",
            {"amount": "1,000.01", "reason": "Descuento"},
        )
        assert too_much.status_code == 400 and "Monto" in too_much.text
        bad = await post(
            c,
            a,
            f"{a.staff}/facturas/{first}/nota-de-credito",
            {"amount": "diez", "reason": "Descuento"},
        )
        assert bad.status_code == 400 and "1,500.00" in bad.text
        credited = await post(
            c,
            a,
            f"{a.staff}/facturas/{first}/nota-de-credito",
            {"amount": "250.00", "reason": "Descuento <por> volumen"},
        )
        assert credited.status_code == 303
        on_void = await post(
            c,
            a,
            f"{a.staff}/facturas/{second}/nota-de-credito",
            {"amount": "1.00", "reason": "x"},
        )
        assert on_void.status_code == 409
        detail = await c.get(f"{a.staff}/facturas/{first}")
        assert "NC-F-1-1" in detail.text and "Descuento &lt;por&gt; volumen" in detail.text
        assert "750.00" in detail.text.split('id="invoice-balance"', 1)[1][:80]
        history = detail.text.split('id="status-history"', 1)[1]
        assert "invoice.credited" in history
        void_page = await c.get(f"{a.staff}/facturas/{second}")
        assert "invoice.voided" in void_page.text and "Duplicada" in void_page.text
        listed = await c.get(f"{a.staff}/clientes", params={"q": "C-1"})
        row = listed.text.split(f'data-customer="{a.customer}"', 1)[1].split("</tr>", 1)[0]
        assert "750.00" in row
    assert await a.scope.count(CreditNote) == 1
    row = await a.scope.get(Invoice, first)
    assert row is not None and (row.total, row.balance, row.status) == (75_000, 75_000, "open")

    holder, portal = await portal_client(world, a)
    try:
        statement = await portal.get(f"/t/{a.slug}/estado-de-cuenta")
        invoice_page = await portal.get(f"/t/{a.slug}/facturas/{first}")
    finally:
        await holder.__aexit__(None, None, None)
    assert statement.status_code == 200
    assert "750.00" in statement.text and "F-2" not in statement.text.split('id="credit-notes"')[0]
    assert "NC-F-1-1" in statement.text.split('id="credit-notes"', 1)[1]
    assert "NC-F-1-1" in invoice_page.text and "−$250.00" in invoice_page.text


# --- roles and tenants --------------------------------------------------------------------------


async def test_viewer_reads_but_every_change_is_403(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "viewer") as c:
        for url in (f"{a.staff}/clientes", f"{a.staff}/facturas", f"{a.staff}/facturas/1"):
            assert (await c.get(url)).status_code == 200, url
        for url in (
            f"{a.staff}/clientes/nuevo",
            f"{a.staff}/facturas/nueva",
            f"{a.staff}/clientes/{a.customer}/editar",
            f"{a.staff}/facturas/{a.invoices[1]}/editar",
        ):
            assert (await c.get(url)).status_code == 403, url
        posts = [
            (f"{a.staff}/clientes/nuevo", {"number": "V-1", "name": "Viewer"}),
            (f"{a.staff}/facturas/nueva", invoice_form(numero="V-1")),
            *acting_routes(a, a.invoices[1]),
        ]
        for url, data in posts:
            response = await post(c, a, url, data)
            assert response.status_code == 403, url
            assert "solo lectura" in response.text
    assert await a.scope.count(Customer).where(Customer.number == "V-1") == 0
    assert await a.scope.count(CustomerNote) == 0 and await a.scope.count(CreditNote) == 0
    row = await a.scope.get(Invoice, a.invoices[1])
    assert row is not None and row.status == "open" and row.number == "F-2"


async def test_another_tenants_ids_are_404_everywhere(world: World) -> None:
    a, b = world.a, world.b
    probe = Side(a.slug, a.scope, a.currency, b.customer, b.invoices)
    async with signed_in(world, a) as c:
        for url in reading_routes(probe, b.invoices[1]):
            response = await c.get(url, headers={"accept": "text/html"})
            assert response.status_code == 404, url
        for url, data in acting_routes(probe, b.invoices[1]):
            response = await post(c, a, url, data)
            assert response.status_code == 404, url
        nonsense = await c.get(f"{a.staff}/facturas/99999999999")
        assert nonsense.status_code == 404
    row = await b.scope.get(Invoice, b.invoices[1])
    assert row is not None and row.status == "open" and row.number == "F-2"
    assert await b.scope.count(CustomerNote) == 0 and await b.scope.count(CreditNote) == 0
