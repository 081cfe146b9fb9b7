"""The KPI dashboard over HTTP: it shows ``kpi_report``'s figures for the seeded book, filters
narrow them, bad filters answer 400 with the reason, downloads carry the same numbers, roles and
tenants are kept apart, and tenant text (a segment named ``<script>``) stays text."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import openpyxl
import pytest

from recaudo.core.access.staff import create_staff
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.common.money import Money
from recaudo.core.payments.manual import record_manual_payment
from recaudo.core.tables import Customer
from recaudo.core.workspace import kpis
from recaudo.core.workspace.values import KpiFilters, KpiReport
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.portal.common import tenant_today
from tests.conftest import make_tenant

PASSWORD = "clave-de-prueba-123"
HTML = {"accept": "text/html"}


class Book:
    def __init__(self, slug: str, tenant: Tenant, collector: int) -> None:
        self.slug, self.tenant, self.collector = slug, tenant, collector
        self.scope = TenantScope(int(tenant.id))
        self.base = f"/t/{slug}/staff/indicadores"


async def seed(slug: str, scale: int = 1) -> Book:
    """Two customers: a wholesaler worked by the collector, overdue 45 days and partly paid; and
    a ``<script>`` segment customer, not yet due."""
    tenant = await make_tenant(slug)
    scope = TenantScope(int(tenant.id))
    for role in ("owner", "viewer"):
        await create_staff(scope, f"{role}@{slug}.example", PASSWORD, role)
    carla = await create_staff(
        scope, f"collector@{slug}.example", PASSWORD, "collector", name="Carla <Cobros>"
    )
    today = tenant_today(tenant)
    wholesale = await create_customer(
        scope, NewCustomer("C-1", "Mayorista", segment="Mayoreo"), "MX"
    )
    await scope.update(Customer, {Customer.collector_id: int(carla.id)}).where(
        Customer.id == wholesale.id
    )
    other = await create_customer(scope, NewCustomer("C-2", "Otro", segment="<script>"), "MX")
    overdue = await create_invoice(
        scope,
        NewInvoice(
            int(wholesale.id),
            "F-1",
            today - timedelta(days=75),
            today - timedelta(days=45),
            "MXN",
            (NewLine("Tornillos", 10, 100_000 * scale),),
        ),
    )
    await create_invoice(
        scope,
        NewInvoice(
            int(other.id),
            "F-2",
            today - timedelta(days=5),
            today + timedelta(days=25),
            "MXN",
            (NewLine("Tuercas", 1, 33_333 * scale),),
        ),
    )
    await record_manual_payment(
        scope,
        customer_id=int(wholesale.id),
        currency="MXN",
        amount=250_000 * scale,
        method="cash",
        reference=f"R-{slug}",
        invoice_ids=[int(overdue.id)],
        actor="test",
        received_on=today - timedelta(days=10),
    )
    return Book(slug, tenant, int(carla.id))


@pytest.fixture
async def ferre(database: str) -> Book:
    return await seed("ferre")


async def login(client: httpx.AsyncClient, role: str, slug: str = "ferre") -> None:
    await client.get(f"/t/{slug}/staff/login")
    r = await client.post(
        f"/t/{slug}/staff/login",
        data={
            "_csrf_token": str(client.cookies["csrftoken"]),
            "email": f"{role}@{slug}.example",
            "password": PASSWORD,
        },
        headers=HTML,
    )
    assert r.status_code == 303, r.text


def money(amount: int) -> str:
    return Money("MXN", amount).format("es_MX")


async def report(book: Book, segment: str = "", collector_id: int | None = None) -> KpiReport:
    at = tenant_today(book.tenant)
    filters = kpis.default_filters(at, segment=segment, collector_id=collector_id)
    return await kpis.kpi_report(book.scope, filters, "MXN")


async def test_the_page_shows_the_report_figures(client: httpx.AsyncClient, ferre: Book) -> None:
    await login(client, "owner")
    r = await client.get(ferre.base, headers=HTML)
    assert r.status_code == 200, r.text
    expected = await report(ferre)
    assert expected.open_balance > expected.overdue_balance > 0
    html = r.text
    assert money(expected.open_balance) in html and money(expected.overdue_balance) in html
    assert expected.dso is not None and expected.cei is not None
    assert f"{expected.dso:.1f} días" in html
    assert f"{expected.cei * 100:.1f}%" in html
    for chart in ("chart-aging", "chart-dso", "chart-weekly"):
        assert f'id="{chart}"' in html
    assert 'href="/t/ferre/staff/indicadores/definiciones#dso"' in html
    assert 'href="/t/ferre/staff/indicadores/pronostico"' in html  # the forecast, one click away
    assert "/indicadores/datos/aging.csv?desde=" in html
    today = tenant_today(ferre.tenant)
    start = today - timedelta(days=89)
    assert f'value="{start.isoformat()}"' in html and f'value="{today.isoformat()}"' in html

    # A past period: balances as they stood at its end; without a start, the 90 days before.
    end = today - timedelta(days=60)
    r = await client.get(ferre.base, params={"hasta": end.isoformat()}, headers=HTML)
    assert r.status_code == 200
    past = await kpis.kpi_report(
        ferre.scope, KpiFilters(at=end, start=end - timedelta(days=89), end=end), "MXN"
    )
    assert past.open_balance > 0 and money(past.open_balance) in r.text
    assert f'value="{(end - timedelta(days=89)).isoformat()}"' in r.text
    for row in (*expected.recovered_by_stage, *expected.recovered_by_channel):
        assert money(row.amount) in html


async def test_segment_and_collector_narrow_the_figures(
    client: httpx.AsyncClient, ferre: Book
) -> None:
    await login(client, "owner")
    everything = await report(ferre)
    wholesale = await report(ferre, segment="Mayoreo")
    carla = await report(ferre, collector_id=ferre.collector)
    assert wholesale.open_balance == carla.open_balance < everything.open_balance
    r = await client.get(ferre.base, params={"segmento": "Mayoreo"}, headers=HTML)
    assert r.status_code == 200
    assert money(wholesale.open_balance) in r.text and money(everything.open_balance) not in r.text
    assert '<option value="Mayoreo" selected>' in r.text
    r = await client.get(ferre.base, params={"cobrador": str(ferre.collector)}, headers=HTML)
    assert r.status_code == 200
    assert money(carla.open_balance) in r.text and money(everything.open_balance) not in r.text
    assert 'id="moneda"' not in r.text  # one currency: nothing to choose

    # A second currency: offered in the form, each report in its own currency.
    customer = await ferre.scope.objects(Customer).where(Customer.number == "C-2").first()
    assert customer is not None
    today = tenant_today(ferre.tenant)
    await create_invoice(
        ferre.scope,
        NewInvoice(
            int(customer.id), "F-USD", today, today + timedelta(days=9), "USD",
            (NewLine("Importado", 1, 7_777),),
        ),
    )  # fmt: skip
    r = await client.get(ferre.base, headers=HTML)
    assert (
        '<select id="moneda" name="moneda">' in r.text and money(everything.open_balance) in r.text
    )
    r = await client.get(ferre.base, params={"moneda": "usd"}, headers=HTML)
    assert r.status_code == 200 and Money("USD", 7_777).format("es_MX") in r.text
    assert money(everything.open_balance) not in r.text
    r = await client.get(f"{ferre.base}/datos/aging.csv", params={"moneda": "USD"})
    assert "77.77,USD" in r.content.decode("utf-8-sig")


BAD_FILTERS = [
    ({"desde": "2026-13-01"}, "Escribe las fechas del periodo como AAAA-MM-DD."),
    ({"hasta": "ayer"}, "Escribe las fechas del periodo como AAAA-MM-DD."),
    ({"hasta": "0001-01-01"}, "Escribe las fechas del periodo como AAAA-MM-DD."),
    ({"desde": "2026-03-01", "hasta": "2026-02-01"}, "debe ser anterior o igual"),
    ({"desde": "2020-01-01", "hasta": "2026-01-01"}, "no puede pasar de dos años"),
    ({"hasta": "2999-01-01"}, "no puede terminar después de hoy"),
    ({"segmento": "Menudeo"}, "Ese segmento no existe"),
    ({"cobrador": "abc"}, "Ese cobrador no es parte del equipo"),
    ({"cobrador": "999999"}, "Ese cobrador no es parte del equipo"),
    ({"moneda": "EUR"}, "no tiene facturas en esa moneda"),
]


async def test_bad_filters_answer_400_with_the_reason(
    client: httpx.AsyncClient, ferre: Book
) -> None:
    await login(client, "viewer")
    for params, message in BAD_FILTERS:
        r = await client.get(ferre.base, params=params, headers=HTML)
        assert r.status_code == 400, params
        assert message in r.text and 'id="filter-error"' in r.text, params
        assert 'id="dashboard-filters"' in r.text  # the form is there to fix it
        assert 'id="chart-aging"' not in r.text
        r = await client.get(f"{ferre.base}/datos/aging.csv", params=params, headers=HTML)
        assert r.status_code == 400 and message in r.text, params
    r = await client.get(ferre.base, params={"segmento": "Menudeo", "lang": "en"}, headers=HTML)
    assert r.status_code == 400 and "That segment does not exist in this account." in r.text


async def test_downloads_carry_the_same_numbers(client: httpx.AsyncClient, ferre: Book) -> None:
    await login(client, "owner")
    expected = await report(ferre)
    r = await client.get(f"{ferre.base}/datos/aging.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    today = tenant_today(ferre.tenant)
    start = today - timedelta(days=89)
    assert r.headers["content-disposition"] == (
        f'attachment; filename="indicadores-ferre-aging-{start}_{today}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0]["Tramo"] == "Al corriente"
    total = sum(Money.parse(row["Importe"], "MXN").amount for row in rows)
    assert total == expected.open_balance
    assert {row["Moneda"] for row in rows} == {"MXN"}

    r = await client.get(f"{ferre.base}/datos/kpis.xlsx", params={"segmento": "Mayoreo"})
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    values = {row[0].value: row[2].value for row in ws.iter_rows(min_row=2)}
    narrowed = await report(ferre, segment="Mayoreo")
    assert values["open_balance"] == float(Money("MXN", narrowed.open_balance).to_decimal())

    for name in ("dso_trend", "weekly", "stages", "channels"):
        r = await client.get(f"{ferre.base}/datos/{name}.csv")
        assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf"), name
    r = await client.get(f"{ferre.base}/datos/weekly.csv")
    weekly = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(weekly) == len(expected.weekly) == 12
    collected = sum(Money.parse(w["Cobrado"], "MXN").amount for w in weekly)
    assert collected == sum(int(p.values["collected"] or 0) for p in expected.weekly)
    for bad in ("secretos.csv", "aging.pdf", "aging"):
        assert (await client.get(f"{ferre.base}/datos/{bad}", headers=HTML)).status_code == 404


async def test_another_tenant_sees_only_its_own(client: httpx.AsyncClient, ferre: Book) -> None:
    otra = await seed("otra", scale=3)
    await login(client, "owner", "otra")
    r = await client.get(ferre.base, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and "/t/ferre/staff/login" in r.headers["location"]
    r = await client.get(f"{ferre.base}/datos/aging.csv", follow_redirects=False)
    assert r.status_code == 303
    own = await client.get(otra.base, headers=HTML)
    theirs, mine = await report(ferre), await report(otra)
    assert money(mine.open_balance) in own.text and money(theirs.open_balance) not in own.text

    await login(client, "owner")
    r = await client.get(ferre.base, params={"cobrador": str(otra.collector)}, headers=HTML)
    assert r.status_code == 400 and "Ese cobrador no es parte del equipo" in r.text
    assert "Carla" in r.text and str(otra.collector) not in [
        o.split('"')[1] for o in r.text.split("<option value=")[1:] if o.startswith('"')
    ]

    # A tenant with nothing yet: zeros and "—", charts still drawn, never an error.
    empty = await make_tenant("vacia")
    await create_staff(TenantScope(int(empty.id)), "owner@vacia.example", PASSWORD, "owner")
    await login(client, "owner", "vacia")
    r = await client.get("/t/vacia/staff/indicadores", headers=HTML)
    assert r.status_code == 200 and 'id="chart-weekly"' in r.text
    assert '<span class="figure">—</span>' in r.text and money(0) in r.text


async def test_viewers_read_and_strangers_are_sent_to_log_in(
    client: httpx.AsyncClient, ferre: Book
) -> None:
    r = await client.get(ferre.base, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/t/ferre/staff/login")
    r = await client.get(f"{ferre.base}/definiciones", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    await login(client, "viewer")
    assert (await client.get(ferre.base, headers=HTML)).status_code == 200
    r = await client.get(f"{ferre.base}/definiciones", headers=HTML)
    assert r.status_code == 200 and 'id="dso"' in r.text and 'id="cei"' in r.text
    assert (await client.get(f"{ferre.base}/datos/stages.xlsx")).status_code == 200

    # In English: the page's words, the definitions and the downloads' headers.
    r = await client.get(ferre.base, params={"lang": "en"}, headers=HTML)
    assert r.status_code == 200
    assert "Collections KPIs" in r.text and "See the data" in r.text and "Current" in r.text
    assert money((await report(ferre)).open_balance) in r.text  # money keeps the tenant's format
    r = await client.get(f"{ferre.base}/datos/aging.csv")
    assert r.content.decode("utf-8-sig").startswith("Bucket,From (days past due),")


async def test_tenant_text_is_escaped(client: httpx.AsyncClient, ferre: Book) -> None:
    """Segments and collector names are the tenant's words: text, never markup."""
    await login(client, "owner")
    r = await client.get(ferre.base, params={"segmento": "<script>"}, headers=HTML)
    assert r.status_code == 200
    assert "<script>" not in r.text.replace('<script src="', "")
    assert '<option value="&lt;script&gt;" selected>&lt;script&gt;</option>' in r.text
    assert "Carla &lt;Cobros&gt;" in r.text
    link = "/indicadores/datos/aging.csv?" + urlencode(
        {"desde": str(tenant_today(ferre.tenant) - timedelta(days=89))}
    )
    assert link in r.text and "segmento=%3Cscript%3E" in r.text
