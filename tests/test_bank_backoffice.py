"""The reconciliation pages over HTTP: upload a statement, review, apply, undo, ignore, settings.

SQLite always, PostgreSQL too when RECAUDO_TEST_DATABASE_URL is set. Statements are written here
(MT940) paying the tenant's own invoices, so the real parser, engine and ledger run end to end.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po

from recaudo.core.access.staff import create_staff
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.tables import BankLine, BankStatement, Invoice, Payment
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "clave-de-prueba-123"
SLUG = "ferre"
STAFF = f"/t/{SLUG}/staff"
HTML = {"accept": "text/html"}
BANK = f"{STAFF}/conciliacion"


def mt940(*lines: tuple[str, int, str], account: str = "012180001234567891") -> bytes:
    """An MT940 statement with one :61:/:86: pair per ``(yymmdd, minor units, text)``."""
    total = sum(amount for _d, amount, _t in lines)
    body = [":20:RECAUDO-TEST", f":25:{account}", ":28C:1/1", ":60F:C261101MXN0,00"]
    for when, amount, text in lines:
        mark = "C" if amount >= 0 else "D"
        value = f"{abs(amount) // 100},{abs(amount) % 100:02d}"
        body += [f":61:{when}{when[2:]}{mark}{value}NTRFNONREF//{when}{abs(amount)}", f":86:{text}"]
    close = f"{total // 100},{total % 100:02d}"
    body.append(f":62F:C{lines[-1][0]}MXN{close}")
    return ("\r\n".join(body) + "\r\n").encode()


class World:
    def __init__(self, scope: TenantScope, ana: int, bruno: int, f100: int, f200: int) -> None:
        self.scope, self.ana, self.bruno, self.f100, self.f200 = scope, ana, bruno, f100, f200


async def _invoice(scope: TenantScope, customer: int, number: str, amount: int) -> int:
    invoice = await create_invoice(
        scope,
        NewInvoice(
            customer,
            number,
            date(2026, 10, 1),
            date(2026, 10, 31),
            "MXN",
            (NewLine("Servicio", 1, amount),),
        ),
    )
    return int(invoice.id)


@pytest.fixture
async def world(database: str) -> World:
    tenant = await make_tenant(SLUG)
    scope = TenantScope(int(tenant.id))
    ana = await create_customer(scope, NewCustomer("C-1", "Ana López Ruiz"), "MX")
    bruno = await create_customer(scope, NewCustomer("C-2", "Bruno Díaz Peña"), "MX")
    f100 = await _invoice(scope, int(ana.id), "F-100", 150_000)
    f200 = await _invoice(scope, int(bruno.id), "F-200", 80_000)
    for role in ("owner", "collector", "viewer"):
        await create_staff(scope, f"{role}@ferre.example", PASSWORD, role)
    return World(scope, int(ana.id), int(bruno.id), f100, f200)


async def login(client: httpx.AsyncClient, role: str, slug: str = SLUG) -> str:
    await client.get(f"/t/{slug}/staff/login")
    token = str(client.cookies["csrftoken"])
    response = await client.post(
        f"/t/{slug}/staff/login",
        data={"_csrf_token": token, "email": f"{role}@{slug}.example", "password": PASSWORD},
        headers=HTML,
    )
    assert response.status_code == 303, response.text
    return token


async def upload(
    client: httpx.AsyncClient, token: str, content: bytes, name: str = "estado.sta", fmt: str = ""
) -> httpx.Response:
    return await client.post(
        BANK,
        data={"_csrf_token": token, "formato": fmt, "perfil": ""},
        files={"archivo": (name, content, "application/octet-stream")},
        headers=HTML,
    )


async def balance(scope: TenantScope, invoice_id: int) -> int:
    invoice = await scope.get(Invoice, invoice_id)
    assert invoice is not None
    return int(invoice.total - invoice.amount_applied)


async def line_id(scope: TenantScope, amount: int) -> int:
    row = await scope.objects(BankLine).where(BankLine.amount == amount).first()
    assert row is not None
    return int(row.id)


# --- upload -------------------------------------------------------------------------------------


async def test_upload_shows_counts_and_pays_the_invoice_named_in_the_text(
    world: World, client: httpx.AsyncClient
) -> None:
    token = await login(client, "collector")
    page = await client.get(BANK, headers=HTML)
    assert page.status_code == 200 and 'id="bank-upload"' in page.text
    assert 'href="/t/ferre/staff/conciliacion"' in page.text  # the menu entry
    statement = mt940(("261102", 150_000, "PAGO FACTURA F-100 ANA LOPEZ"))
    response = await upload(client, token, statement)
    assert response.status_code == 303, response.text
    shown = await client.get(response.headers["location"], headers=HTML)
    summary = shown.text.split('id="import-summary"', 1)[1].split("</section>", 1)[0]
    assert "Movimientos en el archivo: 1" in summary and "Conciliados: 1" in summary
    assert "$1,500.00" in summary  # applied, in the tenant's money format
    assert await balance(world.scope, world.f100) == 0
    assert 'data-statement="' in shown.text and "estado.sta" in shown.text
    again = await upload(client, token, statement)
    repeated = await client.get(again.headers["location"], headers=HTML)
    assert "ya se había importado" in repeated.text
    assert await world.scope.count(BankStatement) == 1
    assert await world.scope.count(Payment) == 1


async def test_a_large_upload_says_it_is_reconciled_in_the_background(
    world: World, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More credits than the request matches: the page says so instead of hanging, and the
    ``reconcile_statement`` job is recorded with the lines."""
    from recaudo.core.reconciliation import service
    from recaudo.core.tables import OutboxJob

    monkeypatch.setattr(service, "INLINE_MATCH_LINES", 0)
    token = await login(client, "collector")
    response = await upload(client, token, mt940(("261102", 150_000, "PAGO FACTURA F-100")))
    assert response.status_code == 303, response.text
    shown = await client.get(response.headers["location"], headers=HTML)
    assert "1 movimientos se están conciliando en segundo plano" in shown.text
    assert await world.scope.exists(OutboxJob).where(OutboxJob.actor == "reconcile_statement")


async def test_a_bad_file_is_a_400_naming_the_problem_and_stores_nothing(
    world: World, client: httpx.AsyncClient
) -> None:
    token = await login(client, "owner")
    garbage = await upload(client, token, b"esto no es un estado de cuenta\n" * 3, "x.txt")
    assert garbage.status_code == 400 and 'id="bank-error"' in garbage.text
    broken = mt940(("261102", 150_000, "F-100")).replace(b":61:2611021102C1500,00", b":61:XX")
    bad = await upload(client, token, broken, "roto.sta", "mt940")
    assert bad.status_code == 400 and re.search(r"l[íi]nea \d+", bad.text), bad.text
    no_file = await client.post(BANK, data={"_csrf_token": token, "formato": ""}, headers=HTML)
    assert no_file.status_code == 400 and "adjunta el estado de cuenta" in no_file.text
    odd = await upload(client, token, mt940(("261102", 100, "x")), fmt="pdf")
    assert odd.status_code == 400
    assert await world.scope.count(BankStatement) == 0
    assert await world.scope.count(BankLine) == 0
    assert await balance(world.scope, world.f100) == 150_000


@pytest.mark.slow
async def test_a_file_over_the_cap_gets_413_and_the_form(
    world: World, client: httpx.AsyncClient
) -> None:
    token = await login(client, "owner")
    big = mt940(("261102", 150_000, "F-100")) + b"x" * (20 * 1024 * 1024)
    response = await upload(client, token, big)
    assert response.status_code == 413 and "20 MiB" in response.text
    assert 'id="bank-upload"' in response.text
    assert await world.scope.count(BankStatement) == 0


async def test_viewers_see_but_cannot_upload_or_decide_and_csrf_is_required(
    world: World, client: httpx.AsyncClient
) -> None:
    owner = await login(client, "owner")
    await upload(client, owner, mt940(("261103", 12_345, "DEPOSITO SIN DATOS")))
    line = await line_id(world.scope, 12_345)
    client.cookies.clear()
    token = await login(client, "viewer")
    page = await client.get(BANK, headers=HTML)
    assert page.status_code == 200 and 'id="bank-upload"' not in page.text
    assert (await upload(client, token, mt940(("261104", 500, "x")))).status_code == 403
    detail = await client.get(f"{BANK}/movimientos/{line}", headers=HTML)
    assert detail.status_code == 200 and 'id="ignore-form"' not in detail.text
    ignored = await client.post(
        f"{BANK}/movimientos/{line}/ignorar",
        data={"_csrf_token": token, "motivo": "traspaso"},
        headers=HTML,
    )
    assert ignored.status_code == 403
    assert (await client.get(f"{BANK}/ajustes", headers=HTML)).status_code == 403
    client.cookies.clear()
    await login(client, "owner")
    forged = await client.post(  # a form without this session's CSRF token changes nothing
        BANK,
        data={"_csrf_token": "0" * 64, "formato": ""},
        files={"archivo": ("e.sta", mt940(("261104", 150_000, "F-100")), "text/plain")},
        headers=HTML,
    )
    assert forged.status_code == 403
    assert await world.scope.count(BankStatement) == 1


# --- the review queue ---------------------------------------------------------------------------


async def test_ignore_needs_a_reason_and_texts_are_escaped(
    world: World, client: httpx.AsyncClient
) -> None:
    token = await login(client, "collector")
    text = "<script>alert(1)</script> DEPOSITO"
    await upload(client, token, mt940(("261103", 12_345, text)))
    line = await line_id(world.scope, 12_345)
    for url in (f"{BANK}/movimientos?estado=unmatched", f"{BANK}/movimientos/{line}"):
        page = await client.get(url, headers=HTML)  # the bank's texts are untrusted
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text
    unmatched = await client.get(f"{BANK}/movimientos?estado=unmatched", headers=HTML)
    assert f'data-line="{line}"' in unmatched.text
    url = f"{BANK}/movimientos/{line}/ignorar"
    empty = await client.post(url, data={"_csrf_token": token, "motivo": "  "}, headers=HTML)
    assert empty.status_code == 400 and "Escribe por qué" in empty.text
    done = await client.post(
        url, data={"_csrf_token": token, "motivo": "Traspaso entre cuentas"}, headers=HTML
    )
    assert done.status_code == 303
    row = await world.scope.get(BankLine, line)
    assert row is not None and row.status == "ignored" and "Traspaso" in row.note
    ignored = await client.get(f"{BANK}/movimientos?estado=ignored", headers=HTML)
    assert f'data-line="{line}"' in ignored.text
    detail = await client.get(f"{BANK}/movimientos/{line}", headers=HTML)
    assert 'id="reopen-form"' in detail.text and 'id="ignore-form"' not in detail.text
    reopened = await client.post(
        f"{BANK}/movimientos/{line}/deshacer",
        data={"_csrf_token": token, "confirmar": "1"},
        headers=HTML,
    )
    assert reopened.headers["location"].endswith("aviso=reabierto")
    row = await world.scope.get(BankLine, line)
    assert row is not None and row.status == "unmatched"


async def test_review_apply_then_undo_moves_the_balance_and_back(
    world: World, client: httpx.AsyncClient
) -> None:
    token = await login(client, "collector")
    # The invoice number is written but the amount is more than it owes: a person decides.
    response = await upload(client, token, mt940(("261103", 90_000, "PAGO FACTURA F-200")))
    shown = await client.get(response.headers["location"], headers=HTML)
    assert "por revisar: 1" in shown.text
    line = await line_id(world.scope, 90_000)
    inbox = await client.get(f"{STAFF}/", headers=HTML)
    assert 'data-count="bank">1<' in inbox.text and "/conciliacion/movimientos?estado=revision" in (
        inbox.text
    )
    queue = await client.get(f"{BANK}/movimientos?estado=revision", headers=HTML)
    assert f'data-line="{line}"' in queue.text and "$900.00" in queue.text
    detail = await client.get(f"{BANK}/movimientos/{line}", headers=HTML)
    assert "Bruno Díaz Peña" in detail.text and "F-200" in detail.text
    assert 'id="apply-0"' in detail.text and 'id="undo-form"' not in detail.text
    url = f"{BANK}/movimientos/{line}"
    bad = await client.post(f"{url}/aplicar", data={"_csrf_token": token, "candidato": "x"})
    assert bad.status_code == 400
    missing = await client.post(
        f"{url}/aplicar", data={"_csrf_token": token, "candidato": "7"}, headers=HTML
    )
    assert missing.status_code == 409 and "Esa propuesta no existe" in missing.text
    assert await balance(world.scope, world.f200) == 80_000
    applied = await client.post(
        f"{url}/aplicar", data={"_csrf_token": token, "candidato": "0"}, headers=HTML
    )
    assert applied.status_code == 303 and applied.headers["location"].endswith("aviso=aplicado")
    assert await balance(world.scope, world.f200) == 0
    matched = await client.get(applied.headers["location"], headers=HTML)
    assert 'id="line-notice"' in matched.text and 'id="undo-form"' in matched.text
    assert 'id="line-payment"' in matched.text
    timeline = await client.get(f"{STAFF}/clientes/{world.bruno}", headers=HTML)
    assert f'data-bank-line="{line}"' in timeline.text
    assert "Pago identificado en el estado de cuenta" in timeline.text
    twice = await client.post(
        f"{url}/aplicar", data={"_csrf_token": token, "candidato": "0"}, headers=HTML
    )
    assert twice.status_code == 409 and await world.scope.count(Payment) == 1
    unconfirmed = await client.post(
        f"{url}/deshacer", data={"_csrf_token": token, "motivo": "error"}, headers=HTML
    )
    assert unconfirmed.status_code == 400 and "Marca la casilla" in unconfirmed.text
    assert await balance(world.scope, world.f200) == 0
    undone = await client.post(
        f"{url}/deshacer",
        data={"_csrf_token": token, "motivo": "Era de otro cliente", "confirmar": "1"},
        headers=HTML,
    )
    assert undone.status_code == 303 and undone.headers["location"].endswith("aviso=deshecho")
    assert await balance(world.scope, world.f200) == 80_000
    row = await world.scope.get(BankLine, line)
    assert row is not None and row.status == "review" and row.payment is None


async def test_manual_assignment_finds_the_customer_and_pays_the_ticked_invoice(
    world: World, client: httpx.AsyncClient
) -> None:
    token = await login(client, "collector")
    await upload(client, token, mt940(("261103", 12_345, "DEPOSITO EN EFECTIVO")))
    line = await line_id(world.scope, 12_345)
    url = f"{BANK}/movimientos/{line}"
    found = await client.get(f"{url}?buscar=ana", headers=HTML)
    assert f"cliente={world.ana}" in found.text and "Bruno" not in found.text.split("asignar")[-1]
    part = await client.get(
        f"{url}?parte=asignar&cliente={world.ana}", headers={**HTML, "hx-request": "true"}
    )
    assert "<html" not in part.text and f'value="{world.f100}"' in part.text
    assert f'value="{world.f200}"' not in part.text  # only the chosen customer's invoices
    wrong = await client.post(
        f"{url}/asignar",
        data={"_csrf_token": token, "cliente": str(world.ana), "facturas": str(world.f200)},
        headers=HTML,
    )
    assert wrong.status_code == 400 and "no encontrada" in wrong.text
    nobody = await client.post(f"{url}/asignar", data={"_csrf_token": token}, headers=HTML)
    assert nobody.status_code == 400 and "Busca y elige" in nobody.text
    assert await world.scope.count(Payment) == 0
    done = await client.post(
        f"{url}/asignar",
        data={"_csrf_token": token, "cliente": str(world.ana), "facturas": str(world.f100)},
        headers=HTML,
    )
    assert done.status_code == 303
    assert await balance(world.scope, world.f100) == 150_000 - 12_345
    assert await balance(world.scope, world.f200) == 80_000


async def test_another_tenants_line_is_not_found_on_every_route(
    world: World, client: httpx.AsyncClient
) -> None:
    token = await login(client, "collector")
    await upload(client, token, mt940(("261103", 90_000, "PAGO FACTURA F-200")))
    line = await line_id(world.scope, 90_000)
    other = await make_tenant("otra")
    other_scope = TenantScope(int(other.id))
    await create_staff(other_scope, "owner@otra.example", PASSWORD, "owner")
    client.cookies.clear()
    other_token = await login(client, "owner", "otra")
    base = f"/t/otra/staff/conciliacion/movimientos/{line}"
    assert (await client.get(base, headers=HTML)).status_code == 404
    assert (await client.get(f"{base}?cliente={world.bruno}", headers=HTML)).status_code == 404
    posts = {
        "aplicar": {"candidato": "0"},
        "asignar": {"cliente": str(world.bruno), "facturas": str(world.f200)},
        "ignorar": {"motivo": "no"},
        "deshacer": {"confirmar": "1"},
    }
    for action, data in posts.items():
        response = await client.post(
            f"{base}/{action}", data={"_csrf_token": other_token, **data}, headers=HTML
        )
        assert response.status_code == 404, action
    listed = await client.get("/t/otra/staff/conciliacion/movimientos?estado=revision")
    assert f'data-line="{line}"' not in listed.text
    assert "Bruno" not in listed.text
    row = await world.scope.get(BankLine, line)
    assert row is not None and row.status == "review"
    assert await balance(world.scope, world.f200) == 80_000
    assert (await client.get("/t/otra/staff/conciliacion/movimientos/99999999999")).status_code == (
        404
    )


# --- settings and CSV profiles ------------------------------------------------------------------


async def test_settings_are_saved_or_refused_by_field(
    world: World, client: httpx.AsyncClient
) -> None:
    from recaudo.core.reconciliation.settings import reconcile_settings

    token = await login(client, "owner")
    page = await client.get(f"{BANK}/ajustes", headers=HTML)
    assert page.status_code == 200 and 'name="rule_invoice_number"' in page.text
    english = await client.get(f"{BANK}/ajustes?lang=en", headers=HTML)
    assert "Reconciliation settings" in english.text
    assert "Invoice number in the description" in english.text
    home = await client.get(f"{BANK}?lang=es", headers=HTML)
    assert "Conciliación bancaria" in home.text
    bad = await client.post(
        f"{BANK}/ajustes",
        data={
            "_csrf_token": token,
            "rule_invoice_number": "1",
            "auto_threshold": "20",
            "fee_tolerance": "diez",
            "date_window_days": "15",
        },
        headers=HTML,
    )
    assert bad.status_code == 400
    assert 'id="auto_threshold-error"' in bad.text and 'id="fee_tolerance-error"' in bad.text
    assert 'value="diez"' in bad.text  # what was typed comes back
    assert (await reconcile_settings(world.scope)).auto_threshold == 0.9
    good = await client.post(
        f"{BANK}/ajustes",
        data={
            "_csrf_token": token,
            "rule_payer_name": "1",
            "position_payer_name": "1",
            "rule_invoice_number": "1",
            "position_invoice_number": "2",
            "auto_threshold": "95",
            "fee_tolerance": "15.00",
            "date_window_days": "10",
        },
        headers=HTML,
    )
    assert good.status_code == 303
    saved = await reconcile_settings(world.scope)
    assert saved.rules == ("payer_name", "invoice_number")
    assert (saved.auto_threshold, saved.fee_tolerance, saved.date_window_days) == (0.95, 1500, 10)
    shown = await client.get(good.headers["location"], headers=HTML)
    assert 'id="saved"' in shown.text and 'value="15.00"' in shown.text
    client.cookies.clear()
    collector = await login(client, "collector")
    assert (await client.get(f"{BANK}/ajustes", headers=HTML)).status_code == 403
    denied = await client.post(
        f"{BANK}/ajustes", data={"_csrf_token": collector, "auto_threshold": "50"}, headers=HTML
    )
    assert denied.status_code == 403


CSV_SAMPLE = (
    b"Fecha;Concepto;Referencia;Abono;Cargo\n"
    b"03/11/2026;PAGO FACTURA F-100;REF-1;1.500,00;\n"
    b"04/11/2026;COMISION;;;15,00\n"
)


async def test_a_csv_profile_is_guessed_saved_used_and_deleted(
    world: World, client: httpx.AsyncClient
) -> None:
    from recaudo.core.reconciliation.csv_profiles import csv_profiles

    token = await login(client, "owner")
    guessed = await client.post(
        f"{BANK}/ajustes/perfiles",
        data={"_csrf_token": token, "name": "Banco Uno", "adivinar": "1"},
        files={"muestra": ("banco.csv", CSV_SAMPLE, "text/csv")},
        headers=HTML,
    )
    assert guessed.status_code == 200 and await csv_profiles(world.scope) == []
    assert 'id="p-credit_column" name="credit_column" maxlength="80" value="Abono"' in guessed.text
    form = {
        "_csrf_token": token,
        "name": "Banco Uno",
        "delimiter": ";",
        "encoding": "utf-8",
        "skip_rows": "0",
        "date_column": "Fecha",
        "date_format": "%d/%m/%Y",
        "credit_column": "Abono",
        "debit_column": "Cargo",
        "decimal_separator": ",",
        "thousands_separator": ".",
        "reference_column": "Referencia",
        "description_column": "Concepto",
    }
    broken = await client.post(
        f"{BANK}/ajustes/perfiles", data={**form, "date_column": ""}, headers=HTML
    )
    assert broken.status_code == 400 and "Indica la columna de la fecha." in broken.text
    saved = await client.post(f"{BANK}/ajustes/perfiles", data=form, headers=HTML)
    assert saved.status_code == 303
    assert [p.name for p in await csv_profiles(world.scope)] == ["Banco Uno"]
    home = await client.get(BANK, headers=HTML)
    assert '<option value="Banco Uno">' in home.text
    used = await client.post(
        BANK,
        data={"_csrf_token": token, "formato": "csv", "perfil": "Banco Uno"},
        files={"archivo": ("banco.csv", CSV_SAMPLE, "text/csv")},
        headers=HTML,
    )
    assert used.status_code == 303, used.text
    assert await balance(world.scope, world.f100) == 0
    unknown = await client.post(
        f"{BANK}/ajustes/perfiles/eliminar", data={"_csrf_token": token, "name": "Otro"}
    )
    assert unknown.status_code == 404
    deleted = await client.post(
        f"{BANK}/ajustes/perfiles/eliminar",
        data={"_csrf_token": token, "name": "Banco Uno"},
        headers=HTML,
    )
    assert deleted.status_code == 303 and await csv_profiles(world.scope) == []


# --- translations -------------------------------------------------------------------------------

TEMPLATES = sorted((ROOT / "web/templates/staff/bank").glob("*.html"))
CALL = re.compile(r"""(?<![\w.])_\(\s*(["'])(.+?)\1\s*\)""", re.S)
NCALL = re.compile(r"""ngettext\(\s*"(.+?)",\s*"(.+?)\"""", re.S)


def _catalog() -> set[str]:
    ids: set[str] = set()
    for po in (ROOT / "core/messaging/locale/en/LC_MESSAGES").glob("*.po"):
        with po.open("rb") as fh:
            for message in read_po(fh, locale="en"):
                if message.id and message.string:
                    ids |= set(message.id) if isinstance(message.id, tuple) else {message.id}
    return ids


def test_every_string_of_the_pages_has_an_english_translation() -> None:
    from recaudo.web.backoffice import bank, bank_settings

    found: set[str] = set()
    for path in TEMPLATES:
        text = path.read_text()
        found |= {m.group(2) for m in CALL.finditer(text)}
        found |= {s for m in NCALL.finditer(text) for s in m.groups()}
    found |= set(bank.FORMAT_LABELS.values()) | set(bank.STATUS_LABELS.values())
    found |= {label for _n, label, _h in bank_settings.PROFILE_FIELDS}
    found |= {hint for _n, _l, hint in bank_settings.PROFILE_FIELDS if hint}
    found |= {bank.TOO_BIG, bank.NO_FILE, bank.BAD_FORMAT, bank.LINE_NOT_FOUND}
    found |= {bank_settings.PROFILE_NOT_FOUND, bank_settings.SAMPLE_TOO_BIG}
    found -= {"MT940", "CAMT.053", "OFX", "CSV"}
    missing = sorted(found - _catalog())
    assert not missing, "add to core/messaging/locale/en/LC_MESSAGES/bank.po:\n" + "\n".join(
        missing
    )
    assert len(found) > 100  # the scan found the pages' strings


def test_translations_keep_their_placeholders() -> None:
    from recaudo.core.messaging.i18n import translations

    en = translations("en")
    with (ROOT / "core/messaging/locale/en/LC_MESSAGES/bank.po").open("rb") as fh:
        for message in read_po(fh, locale="en"):
            for msgid in message.id if isinstance(message.id, tuple) else (message.id,):
                if msgid:
                    names = set(re.findall(r"%\((\w+)\)", msgid))
                    assert names == set(re.findall(r"%\((\w+)\)", en.gettext(msgid))), msgid
