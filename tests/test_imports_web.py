"""The back-office import page over HTTP: upload → columns → dry run → import, with progress.

Jobs are run by the test (``drain_jobs``), as a worker would; SQLite always, PostgreSQL too when
RECAUDO_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po

from recaudo.core.access.staff import create_staff
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.imports import saved_mapping
from recaudo.core.tables import AuditEvent, ImportRun, Invoice, OutboxJob
from recaudo.tenants.scoped import TenantScope
from tests.conftest import drain_jobs, make_tenant

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "clave-de-prueba-123"
SLUG = "ferre"
STAFF = f"/t/{SLUG}/staff"
HTML = {"accept": "text/html"}
GOOD = (
    b"Folio;Cliente;Vencimiento;Importe;IVA;Concepto\n"
    b"W-1;C-1;2027-01-31;1,500.00;240;Renta\n"
    b"W-2;C-1;2027-02-28;99.90;;Servicio\n"
)


@pytest.fixture
async def scope(database: str) -> TenantScope:
    tenant = await make_tenant(SLUG)
    s = TenantScope(int(tenant.id))
    await create_customer(s, NewCustomer("C-1", "Ana"), "MX")
    for role in ("owner", "collector", "viewer"):
        await create_staff(s, f"{role}@ferre.example", PASSWORD, role)
    return s


async def login(client: httpx.AsyncClient, role: str) -> str:
    await client.get(f"{STAFF}/login")
    token = str(client.cookies["csrftoken"])
    response = await client.post(
        f"{STAFF}/login",
        data={"_csrf_token": token, "email": f"{role}@ferre.example", "password": PASSWORD},
        headers=HTML,
    )
    assert response.status_code == 303, response.text
    return token


async def upload(
    client: httpx.AsyncClient,
    token: str,
    content: bytes,
    name: str = "f.csv",
    kind: str = "invoices",
) -> httpx.Response:
    return await client.post(
        f"{STAFF}/importar",
        data={"_csrf_token": token, "kind": kind},
        files={"archivo": (name, content, "text/csv")},
        headers=HTML,
    )


async def test_upload_dry_run_import_and_progress(
    scope: TenantScope, client: httpx.AsyncClient
) -> None:
    token = await login(client, "collector")
    page = await client.get(f"{STAFF}/importar", headers=HTML)
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    response = await upload(client, token, GOOD)
    assert response.status_code == 303, response.text
    run_url = response.headers["location"]
    assert re.fullmatch(rf"{STAFF}/importar/\d+", run_url)
    mapping = await client.get(run_url, headers=HTML)
    # The columns come pre-filled from their Spanish names.
    for index, field in enumerate(
        ["number", "customer", "due_date", "amount", "tax", "description"]
    ):
        assert re.search(
            rf'name="col{index}".*?<option value="{field}" selected', mapping.text, re.S
        )
    form = {
        "_csrf_token": token,
        **{
            f"col{i}": f
            for i, f in enumerate(
                ["number", "customer", "due_date", "amount", "tax", "description"]
            )
        },
    }
    checked = await client.post(f"{run_url}/revisar", data=form, headers=HTML)
    assert checked.status_code == 303
    assert await saved_mapping(scope, "invoices") == {
        "folio": "number",
        "cliente": "customer",
        "vencimiento": "due_date",
        "importe": "amount",
        "iva": "tax",
        "concepto": "description",
    }
    polled = await client.get(run_url, headers={**HTML, "hx-request": "true"})
    assert 'hx-trigger="every 1s"' in polled.text and "<progress" in polled.text
    assert "<html" not in polled.text  # the fragment only
    await drain_jobs()
    ready = await client.get(run_url, headers=HTML)
    assert "2 filas revisadas, sin errores" in ready.text and 'id="import-now"' in ready.text
    assert 'hx-trigger="every 1s"' not in ready.text
    assert await scope.count(Invoice) == 0  # a dry run stores nothing
    started = await client.post(f"{run_url}/importar", data={"_csrf_token": token}, headers=HTML)
    assert started.status_code == 303
    running = await client.get(run_url, headers=HTML)
    assert 'id="import-progress"' in running.text
    await drain_jobs()
    done = await client.get(run_url, headers={**HTML, "hx-request": "true"})
    assert "Se importaron 2 filas." in done.text and "every 1s" not in done.text
    w1 = await scope.objects(Invoice).where(Invoice.number == "W-1").first()
    assert w1 is not None and (w1.subtotal, w1.tax, w1.total) == (150000, 24000, 174000)
    assert await scope.count(OutboxJob) >= 2
    run = await scope.objects(ImportRun).first()
    assert run is not None and run.status == "done" and not bytes(run.content or b"")
    actions = {r["action"] for r in await scope.select(AuditEvent, AuditEvent.action)}
    assert {"import.invoices", "import.mapping_saved", "import.import_requested"} <= actions
    again = await client.post(f"{run_url}/importar", data={"_csrf_token": token}, headers=HTML)
    assert again.status_code == 409  # once done, a run cannot import again
    assert await scope.count(Invoice) == 2


async def test_bad_rows_are_listed_and_import_is_refused(
    scope: TenantScope, client: httpx.AsyncClient
) -> None:
    token = await login(client, "owner")
    content = b"number,customer,due_date,amount\nB-1,C-1,2027-01-31,10\nB-2,NADIE,2027-01-31,x\n"
    run_url = (await upload(client, token, content)).headers["location"]
    form = {
        "_csrf_token": token,
        "col0": "number",
        "col1": "customer",
        "col2": "due_date",
        "col3": "amount",
    }
    await client.post(f"{run_url}/revisar", data=form, headers=HTML)
    await drain_jobs()
    page = await client.get(run_url, headers=HTML)
    assert 'id="import-errors"' in page.text and 'id="import-now"' not in page.text
    table = page.text[page.text.index('id="import-errors"') :]
    assert '<td data-label="Línea">3</td>' in table
    assert "«x» no es un importe" in table  # the usual problems in Spanish
    assert "«NADIE» no es un número de cliente" in table
    english = await client.get(f"{run_url}?lang=en", headers=HTML)
    assert (
        "&#34;x&#34; is not an amount" in english.text
        or "&quot;x&quot; is not an amount" in english.text
    )
    refused = await client.post(f"{run_url}/importar", data={"_csrf_token": token}, headers=HTML)
    assert refused.status_code == 409
    await drain_jobs()
    assert await scope.count(Invoice) == 0


async def test_bad_uploads_and_mappings_get_clear_4xx(
    scope: TenantScope, client: httpx.AsyncClient
) -> None:
    token = await login(client, "owner")
    empty = await upload(client, token, b"")
    assert empty.status_code == 400 and "archivo" in empty.text and "empty" in empty.text
    garbage = await upload(client, token, bytes(range(256)) * 40, "x.csv")
    assert garbage.status_code == 400 and "UTF-8" in garbage.text
    broken = await upload(client, token, b"PK\x03\x04nope", "x.xlsx")
    assert broken.status_code == 400 and "XLSX" in broken.text
    odd_name = await upload(client, token, GOOD, name="a\x00b\u202e" + "x" * 300 + ".csv")
    assert odd_name.status_code == 303
    run = await scope.objects(ImportRun).first()
    assert run is not None and len(run.filename) == 200
    assert all(ch.isprintable() for ch in run.filename) and "\u202e" not in run.filename
    no_kind = await upload(client, token, GOOD, kind="pagos")
    assert no_kind.status_code == 400 and "kind" in no_kind.text
    run_url = (await upload(client, token, GOOD)).headers["location"]
    missing = await client.post(
        f"{run_url}/revisar", data={"_csrf_token": token, "col0": "number"}, headers=HTML
    )
    assert missing.status_code == 400 and "customer" in missing.text
    wrong = await client.post(
        f"{run_url}/revisar", data={"_csrf_token": token, "col0": "inventado"}, headers=HTML
    )
    assert wrong.status_code == 400 and "inventado" in wrong.text
    assert await scope.count(ImportRun) == 2 and await saved_mapping(scope, "invoices") == {}
    assert (await client.get(f"{STAFF}/importar/999999", headers=HTML)).status_code == 404
    assert (await client.get(f"{STAFF}/importar/99999999999", headers=HTML)).status_code == 404


async def test_viewers_see_the_page_but_cannot_import(
    scope: TenantScope, client: httpx.AsyncClient
) -> None:
    owner = await login(client, "owner")
    run_url = (await upload(client, owner, GOOD)).headers["location"]
    client.cookies.clear()
    token = await login(client, "viewer")
    page = await client.get(f"{STAFF}/importar", headers=HTML)
    assert page.status_code == 200 and 'id="import-upload"' not in page.text
    assert (await upload(client, token, GOOD)).status_code == 403
    assert (await client.get(run_url, headers=HTML)).status_code == 200
    form = {
        "_csrf_token": token,
        "col0": "number",
        "col1": "customer",
        "col2": "due_date",
        "col3": "amount",
    }
    assert (await client.post(f"{run_url}/revisar", data=form, headers=HTML)).status_code == 403
    assert (
        await client.post(f"{run_url}/importar", data={"_csrf_token": token}, headers=HTML)
    ).status_code == 403
    assert await scope.count(ImportRun) == 1 and await scope.count(OutboxJob) == 0


async def test_another_tenants_run_is_not_found(
    scope: TenantScope, client: httpx.AsyncClient
) -> None:
    token = await login(client, "owner")
    run_url = (await upload(client, token, GOOD)).headers["location"]
    other = await make_tenant("otra")
    other_scope = TenantScope(int(other.id))
    await create_staff(other_scope, "owner@otra.example", PASSWORD, "owner")
    run_id = run_url.rsplit("/", 1)[1]
    client.cookies.clear()
    await client.get("/t/otra/staff/login")
    other_token = str(client.cookies["csrftoken"])
    await client.post(
        "/t/otra/staff/login",
        data={"_csrf_token": other_token, "email": "owner@otra.example", "password": PASSWORD},
        headers=HTML,
    )
    assert (await client.get(f"/t/otra/staff/importar/{run_id}", headers=HTML)).status_code == 404
    started = await client.post(
        f"/t/otra/staff/importar/{run_id}/importar", data={"_csrf_token": other_token}, headers=HTML
    )
    assert started.status_code == 404


async def test_csrf_is_required_for_uploads(scope: TenantScope, client: httpx.AsyncClient) -> None:
    await login(client, "owner")
    response = await client.post(
        f"{STAFF}/importar",
        data={"_csrf_token": "0" * 64, "kind": "invoices"},
        files={"archivo": ("f.csv", GOOD, "text/csv")},
        headers=HTML,
    )
    assert response.status_code == 403
    assert await scope.count(ImportRun) == 0


@pytest.mark.slow
async def test_a_file_over_the_cap_gets_413(scope: TenantScope, client: httpx.AsyncClient) -> None:
    token = await login(client, "owner")
    big = b"number,customer,due_date,amount\n" + b"x" * (20 * 1024 * 1024)
    response = await upload(client, token, big)
    assert response.status_code == 413 and "20 MiB" in response.text
    assert await scope.count(ImportRun) == 0


# --- every string on these pages has an English translation -------------------------------------

TEMPLATES = [
    ROOT / "web/templates/staff/imports.html",
    ROOT / "web/templates/staff/import_run.html",
    ROOT / "web/templates/staff/_import_status.html",
    ROOT / "web/templates/staff/_import_state.html",
]
CALL = re.compile(r"""(?<![\w.])_\(\s*(["'])(.+?)\1\s*\)""", re.S)
NCALL = re.compile(r"""ngettext\(\s*"(.+?)",\s*"(.+?)\"""", re.S)


def _catalog(*names: str) -> set[str]:
    ids: set[str] = set()
    for name in names:
        with (ROOT / f"core/messaging/locale/en/LC_MESSAGES/{name}").open("rb") as fh:
            for message in read_po(fh, locale="en"):
                if message.id and message.string:
                    ids |= set(message.id) if isinstance(message.id, tuple) else {message.id}
    return ids


def test_every_import_page_string_is_translated() -> None:
    from recaudo.web.backoffice import imports as page

    found: set[str] = set()
    for path in TEMPLATES:
        text = path.read_text()
        found |= {m.group(2) for m in CALL.finditer(text)}
        for m in NCALL.finditer(text):
            found |= {m.group(1), m.group(2)}
    found |= set(page.KIND_LABELS.values()) | set(page.FIELD_LABELS.values()) | {page.TOO_BIG}
    found |= {
        "kind: elige qué importar (clientes o facturas).",
        "archivo: adjunta un archivo CSV o XLSX.",
        "No existe esa importación.",
    }
    missing = sorted(found - _catalog("imports.po", "staff.po", "base.po"))
    assert not missing, "add to core/messaging/locale/en/LC_MESSAGES/imports.po:\n" + "\n".join(
        missing
    )


async def test_the_page_in_english(scope: TenantScope, client: httpx.AsyncClient) -> None:
    await login(client, "owner")
    page = await client.get(f"{STAFF}/importar?lang=en", headers=HTML)
    assert "Import customers and invoices" in page.text


def test_import_translations_keep_their_placeholders() -> None:
    from recaudo.core.messaging.i18n import translations

    en = translations("en")
    with (ROOT / "core/messaging/locale/en/LC_MESSAGES/imports.po").open("rb") as fh:
        for message in read_po(fh, locale="en"):
            for msgid in message.id if isinstance(message.id, tuple) else (message.id,):
                if not msgid:
                    continue
                names = set(re.findall(r"%\((\w+)\)", msgid))
                assert names == set(re.findall(r"%\((\w+)\)", en.gettext(msgid))), msgid


def test_usual_row_problems_read_in_spanish() -> None:
    from recaudo.web.backoffice.imports import reason_es

    assert reason_es('"F-1" repeats line 2') == "«F-1» repite la línea 2"
    assert reason_es("'a@' not an email address") == "«a@» no es un correo electrónico"
    assert reason_es('"10.5" has more than 0 decimal digits for CLP') == (
        "«10.5» tiene más de 0 decimales para CLP"
    )
    assert reason_es("before issue_date") == "anterior a la fecha de emisión"
    assert reason_es("something new") == "something new"


async def test_customers_with_the_saved_mapping_prefilled(
    scope: TenantScope, client: httpx.AsyncClient
) -> None:
    from recaudo.core.billing.imports import save_mapping
    from recaudo.core.tables import Customer

    await save_mapping(scope, "customers", {"Clave": "number", "Razon": "name", "Nota": ""}, "t")
    token = await login(client, "owner")
    content = "Clave,Razón,Nota,Correo\nK-1,Kiosco Uno,x,uno@example.com\n".encode()
    run_url = (await upload(client, token, content, kind="customers")).headers["location"]
    page = await client.get(run_url, headers=HTML)
    for index, field in ((0, "number"), (1, "name"), (3, "email")):
        assert re.search(rf'name="col{index}".*?<option value="{field}" selected', page.text, re.S)
    assert not re.search(
        r'name="col2".*?<option value="\w+" selected.*?name="col3"', page.text, re.S
    )
    form = {"_csrf_token": token, "col0": "number", "col1": "name", "col2": "", "col3": "email"}
    await client.post(f"{run_url}/revisar", data=form, headers=HTML)
    await drain_jobs()
    await client.post(f"{run_url}/importar", data={"_csrf_token": token}, headers=HTML)
    await drain_jobs()
    assert "Se importó 1 fila." in (await client.get(run_url, headers=HTML)).text
    kiosco = await scope.objects(Customer).where(Customer.number == "K-1").first()
    assert kiosco is not None and kiosco.email == "uno@example.com"
