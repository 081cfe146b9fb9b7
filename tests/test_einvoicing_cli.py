"""``recaudo einvoice issue|list|cancel|status``, run in-process on a SQLite file, against the
fake backend: JSON shapes, files written, one-line errors, another tenant's numbers and ids."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from recaudo.core.platform.host import PluginHost
from tests.einvoicing_fake import PLUGIN, FakeBackend, FakePlugin
from tests.test_api_keys import recaudo


@pytest.fixture
def fake(host: PluginHost) -> Iterator[FakeBackend]:
    backend = FakeBackend()
    host.register(FakePlugin(backend), name=PLUGIN, source="test")
    yield backend


def _seed(tmp: Path, slug: str, number: str, tax_id: str = "EKU9003173C9") -> None:
    """Tenant ``slug`` with the fake backend and one customer owing invoice ``number``."""
    from recaudo.core import db
    from recaudo.core.billing.customers import NewCustomer, create_customer
    from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
    from recaudo.core.tables import Customer
    from recaudo.tenants.plugin_config import set_plugin
    from recaudo.tenants.resolve import tenant_by_slug
    from recaudo.tenants.scoped import TenantScope

    async def go() -> None:
        db.configure(f"sqlite:///{tmp}/cli.sqlite3")
        tenant = await tenant_by_slug(slug)
        assert tenant is not None
        scope = TenantScope(int(tenant.id))
        await set_plugin(
            scope, PLUGIN, enabled=True, settings={"certificate": "csd", "auto_issue": False}
        )
        customer = await create_customer(scope, NewCustomer("C-1", "Ana Torres"), "MX")
        await scope.update(Customer, {Customer.tax_id: tax_id}).where(Customer.id == customer.id)
        today = date.today()
        await create_invoice(
            scope,
            NewInvoice(
                int(customer.id),
                number,
                today,
                today + timedelta(days=30),
                "MXN",
                (NewLine("Tornillos", 1, 123_450),),
            ),
        )

    asyncio.run(go())


@pytest.fixture
def shops(tmp_path: Path, fake: FakeBackend) -> Path:
    assert recaudo(tmp_path, "migrate").returncode == 0
    for slug in ("acme", "otra"):
        made = recaudo(
            tmp_path, "tenants", "create", slug, "--name", slug.title(), "--country", "MX",
            "--currency", "MXN",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
    _seed(tmp_path, "acme", "F-77")
    _seed(tmp_path, "otra", "OT-1", tax_id="")
    return tmp_path


def test_issue_writes_files_lists_and_cancels(shops: Path, fake: FakeBackend) -> None:
    xml, pdf = shops / "f77.xml", shops / "f77.pdf"
    out = recaudo(
        shops, "einvoice", "issue", "acme", "F-77", "--out", str(xml), "--pdf", str(pdf), "--json"
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["kind"], doc["type"], doc["status"]) == ("invoice", "I", "issued")
    assert (doc["invoice_number"], doc["total"], doc["currency"]) == ("F-77", "1234.50", "MXN")
    assert doc["payment_terms"] == "PPD" and len(doc["uuid"]) == 36
    assert xml.read_bytes() == b"<cfdi/>" and pdf.read_bytes().startswith(b"%PDF")

    again = recaudo(shops, "einvoice", "issue", "acme", "F-77", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["id"] == doc["id"]
    assert len(fake.requests) == 1, "the document it has, not a second one"

    listed = recaudo(shops, "einvoice", "list", "acme", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["documents"]
    assert [(r["id"], r["uuid"], r["invoice_number"]) for r in rows] == [
        (doc["id"], doc["uuid"], "F-77")
    ]
    assert json.loads(recaudo(shops, "einvoice", "list", "acme", "--json", "--kind", "payment")
                      .stdout) == {"documents": []}  # fmt: skip
    by_invoice = recaudo(shops, "einvoice", "list", "acme", "--invoice", "F-77")
    assert by_invoice.returncode == 0 and doc["uuid"] in by_invoice.stdout

    status = recaudo(shops, "einvoice", "status", "acme", str(doc["id"]), "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["status"] == "issued"

    needs = recaudo(shops, "einvoice", "cancel", "acme", str(doc["id"]), "--reason", "01")
    assert needs.returncode == 1 and "--replacement" in needs.stderr
    cancelled = recaudo(
        shops, "einvoice", "cancel", "acme", str(doc["id"]), "--reason", "02", "--json"
    )
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["status"] == "cancelled"
    listed = json.loads(recaudo(shops, "einvoice", "list", "acme", "--json").stdout)
    assert [r["status"] for r in listed["documents"]] == ["cancelled"]


def test_errors_are_one_line_and_other_tenants_ids_name_nothing(
    shops: Path, fake: FakeBackend
) -> None:
    refused = recaudo(shops, "einvoice", "issue", "otra", "OT-1")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "El RFC del cliente es obligatorio"

    fake.refuse = "CFDI40102: El resultado de la digestión debe ser igual al resultado..."
    pac = recaudo(shops, "einvoice", "issue", "acme", "F-77")
    assert pac.returncode == 1 and "CFDI40102" in pac.stderr and "Traceback" not in pac.stderr

    fake.outage = 1
    down = recaudo(shops, "einvoice", "issue", "acme", "F-77")
    assert down.returncode == 1 and "pac.example is down" in down.stderr
    assert len(down.stderr.strip().splitlines()) == 1

    ok = recaudo(shops, "einvoice", "issue", "acme", "F-77", "--json")
    assert ok.returncode == 0, ok.stderr
    doc_id = json.loads(ok.stdout)["id"]

    # Another tenant's invoice number and document id name nothing.
    foreign = recaudo(shops, "einvoice", "issue", "otra", "F-77")
    assert foreign.returncode == 1 and "not found" in foreign.stderr
    for args in (
        ("status", "otra", str(doc_id)),
        ("cancel", "otra", str(doc_id), "--reason", "02"),
    ):
        got = recaudo(shops, "einvoice", *args)
        assert got.returncode == 1 and "no encontrado" in got.stderr, args
    assert json.loads(recaudo(shops, "einvoice", "list", "otra", "--json").stdout) == {
        "documents": []
    }
    nobody = recaudo(shops, "einvoice", "list", "nadie", "--json")
    assert nobody.returncode == 1 and "nadie" in nobody.stderr
    unknown = recaudo(shops, "einvoice", "issue", "acme", "F-404")
    assert unknown.returncode == 1 and "F-404" in unknown.stderr
    bad_reason = recaudo(shops, "einvoice", "cancel", "acme", str(doc_id), "--reason", "09")
    assert bad_reason.returncode != 0
    status = json.loads(recaudo(shops, "einvoice", "status", "acme", str(doc_id), "--json").stdout)
    assert status["status"] == "issued", "nothing changed on errors"
