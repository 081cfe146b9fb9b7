"""``GET /api/v1/kpis`` and ``recaudo kpis``: the same document; the aging adds up to the open
balance the invoices API reports (after payments, a write-off and a credit note through the real
services); each key sees its own tenant only; bad input is a 400 / exit 1 with the reason."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from recaudo.core.access.apikeys import create_api_key
from recaudo.core.access.staff import create_staff
from recaudo.core.billing.credit_notes import issue_credit_note
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.payments.ledger import record_staff_payment
from recaudo.core.payments.manual import write_off
from recaudo.core.tables import Customer
from recaudo.tenants.scoped import TenantScope
from tests import api_support
from tests.api_support import ApiWorld, Side
from tests.conftest import make_tenant
from tests.test_cli import recaudo
from tests.test_kpis import seed, today

api_world = api_support.api_world
api = api_support.api


async def _all_invoices(api: httpx.AsyncClient, side: Side) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    url = "/api/v1/invoices?limit=500"
    while url:
        r = await api.get(url, headers=side.r)
        assert r.status_code == 200
        items += r.json()["data"]
        nxt = r.json().get("next")
        url = f"/api/v1/invoices?limit=500&cursor={nxt}" if nxt else ""
    return items


async def _movements(side: Side) -> None:
    """A payment, a write-off and a credit note through core's services on the seeded invoices."""
    scope = side.scope
    first, second = side.invoices[0], side.invoices[1]
    await record_staff_payment(
        scope,
        customer_id=side.customer,
        currency=side.currency,
        amount=12_345,
        method="banktransfer",
        reference="kpi-1",
        invoice_ids=[first],
    )
    await write_off(scope, first, 1_000, "incobrable", "test")
    await issue_credit_note(scope, second, 2_500, "descuento", "test")


async def test_api_aging_adds_up_to_the_invoices_api_and_keys_see_their_own(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a, b = api_world.a, api_world.b
    await _movements(a)
    r = await api.get("/api/v1/kpis", headers=a.r)
    assert r.status_code == 200, r.text
    doc = r.json()
    balance = sum(i["balance"] for i in await _all_invoices(api, a) if i["status"] != "void")
    assert doc["tenant"] == a.slug and doc["currency"] == "MXN"
    assert sum(x["amount"] for x in doc["aging"]["buckets"]) == doc["open_balance"] == balance
    assert [x["key"] for x in doc["aging"]["buckets"]] == [
        "current",
        "1_30",
        "31_60",
        "61_90",
        "90_plus",
    ]
    # the other tenant's key: its own invoices, in its currency, none of a's movements
    theirs = (await api.get("/api/v1/kpis", headers=b.r)).json()
    their_balance = sum(i["balance"] for i in await _all_invoices(api, b) if i["status"] != "void")
    assert theirs["tenant"] == b.slug and theirs["currency"] == "COP"
    assert theirs["open_balance"] == their_balance != doc["open_balance"]
    assert theirs["other_currencies"] == []
    # the write key reads too; no key is a 401
    assert (await api.get("/api/v1/kpis", headers=a.w)).json()["open_balance"] == balance
    assert (await api.get("/api/v1/kpis")).status_code == 401


async def test_api_filters_and_the_hand_computed_figures(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a, b = api_world.a, api_world.b
    # the hand-computed ledger of test_kpis, in a tenant of its own with its own read key
    tenant = await make_tenant("kpi-" + uuid.uuid4().hex[:6])
    scope = TenantScope(int(tenant.id))
    await seed(scope)
    key = (await create_api_key(scope, key_scope="read", actor="test")).plaintext
    h = {"authorization": f"Bearer {key}"}
    doc = (await api.get("/api/v1/kpis", headers=h)).json()
    assert (doc["dso"], doc["cei"], doc["average_days_delinquent"]) == ("88.4", "0.3750", "40.2")
    assert doc["promise_kept_rate"] == "0.6667" and doc["open_balance"] == 550_000
    seg = (await api.get("/api/v1/kpis", params={"segment": "Mayoreo"}, headers=h)).json()
    assert seg["open_balance"] == 220_000 and seg["filters"]["segment"] == "Mayoreo"
    # the collector by staff e-mail and by id
    staff = await create_staff(scope, "cobra@kpi.example", "una-clave-larga-2026", "collector")
    await scope.update(Customer, {Customer.collector_id: int(staff.id)}).where(
        Customer.segment == "menudeo"
    )
    for who in ("Cobra@kpi.example", str(staff.id)):
        mine = (await api.get("/api/v1/kpis", params={"collector": who}, headers=h)).json()
        assert mine["open_balance"] == 330_000 and mine["filters"]["collector_id"] == int(staff.id)
    past = await api.get(
        "/api/v1/kpis", params={"at": (today().replace(day=1)).isoformat()}, headers=h
    )
    assert past.status_code == 200 and past.json()["at"] == today().replace(day=1).isoformat()
    usd = (await api.get("/api/v1/kpis", params={"currency": "usd"}, headers=h)).json()
    assert usd["currency"] == "USD" and usd["open_balance"] == 0
    # another tenant's staff is nobody here; other tenants' keys never see this ledger
    other_staff = await create_staff(b.scope, "otra@kpi.example", "una-clave-larga-2026")
    bad = await api.get("/api/v1/kpis", params={"collector": str(other_staff.id)}, headers=h)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "collector"
    for side in (a, b):
        assert (await api.get("/api/v1/kpis", headers=side.r)).json()["open_balance"] != 550_000


async def test_api_bad_input_is_a_400_naming_the_field(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    h = api_world.a.r
    for params, field in (
        ({"at": "2026-13-01"}, "at"),
        ({"start": "ayer"}, "start"),
        ({"start": "2026-05-01", "end": "2026-04-01"}, "period"),
        ({"at": "1850-01-01"}, "at"),
        ({"collector": "nadie@example.com"}, "collector"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "MXNN"}, "currency"),
    ):
        r = await api.get("/api/v1/kpis", params=params, headers=h)
        assert r.status_code == 400, (params, r.text)
        body = r.json()
        assert body["errors"] and body["detail"], body
        if field in ("period", "collector", "currency"):
            assert body["errors"][0]["field"] == field, body
        else:
            assert field in body["detail"], body


async def test_cli_prints_the_api_document_and_refuses_bad_input(
    database: str, tmp_path: Path
) -> None:
    tenant = await make_tenant("kpi-" + uuid.uuid4().hex[:6])
    scope = TenantScope(int(tenant.id))
    await seed(scope)
    customer = await create_customer(scope, NewCustomer("D-1", "Dólares"), "MX")
    await create_invoice(
        scope,
        NewInvoice(int(customer.id), "USD-1", today(), today(), "USD", (NewLine("x", 1, 7_000),)),
    )
    env = {"RECAUDO_DATABASE_URL": database}
    out = recaudo(tmp_path, "kpis", "--tenant", str(tenant.slug), "--json", **env)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["tenant"] == tenant.slug and doc["currency"] == "MXN"
    assert (doc["dso"], doc["cei"], doc["average_days_delinquent"]) == ("88.4", "0.3750", "40.2")
    assert sum(b["amount"] for b in doc["aging"]["buckets"]) == doc["open_balance"] == 550_000
    assert [o["currency"] for o in doc["other_currencies"]] == ["USD"]
    assert doc["other_currencies"][0]["open_balance"] == 7_000
    seg = recaudo(
        tmp_path, "kpis", "--tenant", str(tenant.slug), "--segment", "mayoreo", "--json", **env
    )
    assert json.loads(seg.stdout)["open_balance"] == 220_000
    human = recaudo(tmp_path, "kpis", "--tenant", str(tenant.slug), **env)
    assert human.returncode == 0, human.stderr
    assert "DSO" in human.stdout and "88.4 días" in human.stdout and "$5,500.00" in human.stdout
    assert "Más de 90 días" in human.stdout and "USD" in human.stdout
    for args, words in (
        (("--tenant", "no-existe"), "not found"),
        (("--tenant", str(tenant.slug), "--at", "2026-02-30"), "no es una fecha"),
        (("--tenant", str(tenant.slug), "--collector", "x@y.z"), "collector"),
        (("--tenant", str(tenant.slug), "--currency", "ZZZ"), "ISO 4217"),
    ):
        bad = recaudo(tmp_path, "kpis", *args, **env)
        assert bad.returncode == 1 and words in bad.stderr, (args, bad.stderr)
        assert bad.stdout == ""
