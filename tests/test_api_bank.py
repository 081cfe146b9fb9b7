"""Bank statements through the API: an ERP pushes an MT940 that pays an invoice by its number (the
invoice's balance drops), the same file again adds nothing, a retry with an Idempotency-Key is
replayed, bad files are a 4xx naming the field and store nothing, a read key cannot push, lines
are filtered and paged, and another tenant's statements are not found."""

from __future__ import annotations

import base64
import random
from typing import Any

import httpx
import pytest

from recaudo.core.reconciliation import service
from recaudo.core.tables import AuditEvent, BankLine, BankStatement, Payment
from recaudo.tenants.scoped import TenantScope
from recaudo.web.api import bank
from recaudo.web.api.bank import MAX_STATEMENT_BODY
from tests import api_support
from tests.api_support import ApiWorld
from tests.test_reconciliation_service import mt940

api_world = api_support.api_world
api = api_support.api

URL = "/api/v1/bank-statements"


def push(data: bytes, filename: str = "extracto.sta", **extra: Any) -> dict[str, Any]:
    return {"filename": filename, "content_base64": base64.b64encode(data).decode(), **extra}


async def _stored(scope: TenantScope) -> tuple[int, int, int]:
    return (
        await scope.count(BankStatement),
        await scope.count(BankLine),
        await scope.count(Payment),
    )


async def test_push_pays_an_invoice_and_the_same_file_adds_nothing(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    invoice = f"/api/v1/invoices/{a.invoices[0]}"
    assert (await api.get(invoice, headers=a.r)).json()["balance"] == 100_000
    payments = await a.scope.count(Payment)
    data = mt940((60_000, "PAGO FACTURA F-1 CLIENTE UNO"), (-1_500, "COMISION"), ref="API1")

    r = await api.post(URL, json=push(data), headers=a.w)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["duplicate_file"] is False
    assert (out["format"], out["currency"], out["applied"]) == ("mt940", "MXN", 60_000)
    assert out["account"] == "012180001234567895"
    assert out["counts"] == {
        "lines": 2,
        "new": 2,
        "already_imported": 0,
        "matched": 1,
        "review": 0,
        "unmatched": 0,
        "debits": 1,
        "pending": 0,
    }
    statement = out["statement_id"]
    assert out["statement_url"] == f"{URL}/{statement}"
    assert (await api.get(invoice, headers=a.r)).json()["balance"] == 40_000
    assert await a.scope.count(Payment) == payments + 1

    # What became of each movement, as the ERP reads it back.
    lines = (await api.get(f"/api/v1/bank-lines?statement_id={statement}", headers=a.r)).json()
    assert lines["next"] is None
    by_status = {line["status"]: line for line in lines["data"]}
    assert set(by_status) == {"matched", "debit"}
    paid = by_status["matched"]
    assert (paid["amount"], paid["currency"], paid["customer_id"]) == (60_000, "MXN", a.customer)
    assert paid["payment_id"] and paid["rule"] and paid["confidence"] > 0
    assert paid["statement_id"] == statement and "F-1" in paid["description"]
    assert by_status["debit"]["amount"] == -1_500 and by_status["debit"]["payment_id"] is None

    got = (await api.get(f"{URL}/{statement}", headers=a.r)).json()
    assert (got["id"], got["source"], got["reference"], got["applied"]) == (
        statement,
        "api",
        "API1",
        60_000,
    )
    assert got["counts"] == out["counts"]
    assert got["lines_url"] == f"/api/v1/bank-lines?statement_id={statement}"

    # Audited by the service with the key as actor.
    events = await a.scope.objects(AuditEvent).where(AuditEvent.action == "bank_statement.imported")
    assert len(events) == 1 and events[0].actor.startswith("apikey:")

    # The same file again: 200, marked duplicate, nothing added.
    before = await _stored(a.scope)
    again = await api.post(URL, json=push(data, "otra-vez.sta"), headers=a.w)
    assert again.status_code == 200, again.text
    assert again.json()["duplicate_file"] is True
    assert again.json()["statement_id"] == statement
    assert again.json()["counts"]["new"] == 0 and again.json()["applied"] == 0
    assert await _stored(a.scope) == before
    assert (await api.get(invoice, headers=a.r)).json()["balance"] == 40_000


async def test_idempotency_key_replays_the_first_answer(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a = api_world.a
    body = push(mt940((5_000, "SIN REFERENCIA"), ref="IDEM"))
    headers = {**a.w, "Idempotency-Key": "erp-stmt-IDEM"}
    first = await api.post(URL, json=body, headers=headers)
    assert first.status_code == 201, first.text
    before = await _stored(a.scope)
    retry = await api.post(URL, json=body, headers=headers)
    assert retry.status_code == 201  # the stored answer, not "duplicate"
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert await _stored(a.scope) == before
    other = push(mt940((5_001, "OTRO"), ref="IDEM2"))
    reused = await api.post(URL, json=other, headers=headers)
    assert reused.status_code == 422 and reused.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_bad_files_are_refused_naming_the_field_and_store_nothing(
    api_world: ApiWorld, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = api_world.a
    before = await _stored(a.scope)
    broken = mt940((5_000, "PAGO F-1")).replace(b"C50,00N", b"Cxx,00N")
    noise = random.Random(12).randbytes(4_000)
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"filename": "x.sta", "content_base64": "%%% not base64 %%%"}, 400, "content_base64", ""),
        (push(b""), 400, "content_base64", ""),
        (push(noise), 400, "content_base64", "formato"),
        (push(broken, format="mt940"), 400, "content_base64", "línea 5: el campo :61:"),
        (push(b"fecha,importe\n2025-01-01,10\n", "x.csv", format="csv"), 400, "csv_profile", ""),
        (push(b"fecha,importe\n", "x.csv", csv_profile="Banco X"), 400, "csv_profile", ""),
        (push(b"x", format="pdf"), 400, "format", ""),
        (push(b"x", extra=1), 400, "body", ""),
        (push(b"x", filename=""), 400, "filename", ""),
        (push(b"x", "a\x00b"), 400, "filename", ""),
    ]
    for body, status, field, says in cases:
        r = await api.post(URL, json=body, headers=a.w)
        assert r.status_code == status, (body, r.text)
        errors = r.json()["errors"]
        assert field in [e["field"] for e in errors], (body, errors)
        assert says in r.json()["detail"], r.json()["detail"]

    # Over the file limit (checked on the base64, before decoding): 413 naming the field.
    monkeypatch.setattr(bank, "MAX_STATEMENT_BYTES", 1_000)
    r = await api.post(URL, json=push(mt940((5_000, "X" * 1_000))), headers=a.w)
    assert r.status_code == 413 and r.json()["errors"][0]["field"] == "content_base64"
    # A body over the route's own cap: 413 for the body before any JSON is read.
    huge = b'{"filename": "x.sta", "content_base64": "' + b"A" * MAX_STATEMENT_BODY + b'"}'
    r = await api.post(URL, content=huge, headers={**a.w, "content-type": "application/json"})
    assert r.status_code == 413
    assert await _stored(a.scope) == before


async def test_read_key_cannot_push(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    before = await _stored(a.scope)
    r = await api.post(URL, json=push(mt940((5_000, "PAGO F-1"))), headers=a.r)
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "Authorization"
    assert (await api.post(URL, json=push(mt940((5_000, "PAGO F-1"))))).status_code == 401
    assert await _stored(a.scope) == before


async def test_lines_filter_page_and_other_tenants_ids(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    a, b = api_world.a, api_world.b
    credits = [(1_000 + i, f"DEPOSITO {i}") for i in range(3)]
    r = await api.post(URL, json=push(mt940(*credits, (-200, "CARGO"), ref="PAGE")), headers=a.w)
    assert r.status_code == 201, r.text
    statement = r.json()["statement_id"]

    lines = "/api/v1/bank-lines"
    seen: list[int] = []
    cursor = ""
    for _ in range(5):
        page = await api.get(
            lines, params={"statement_id": statement, "limit": 3, "cursor": cursor}, headers=a.r
        )
        assert page.status_code == 200, page.text
        seen += [line["id"] for line in page.json()["data"]]
        cursor = page.json()["next"]
        if cursor is None:
            break
    assert len(seen) == 4 and seen == sorted(seen, reverse=True)  # newest first, none twice
    debits = (await api.get(lines, params={"status": "debit"}, headers=a.r)).json()["data"]
    assert [line["amount"] for line in debits] == [-200]
    unmatched = (await api.get(lines, params={"status": "unmatched"}, headers=a.r)).json()
    assert {line["statement_id"] for line in unmatched["data"]} == {statement, a.statement}
    bad = await api.get(lines, params={"status": "pagado"}, headers=a.r)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "status"
    assert (await api.get(lines, params={"cursor": "nope"}, headers=a.r)).status_code == 400

    # Statements: newest first; another tenant's ids are not found, its lines never listed.
    listed = (await api.get(URL, headers=a.r)).json()
    assert [s["id"] for s in listed["data"]] == [statement, a.statement]
    assert (await api.get(f"{URL}/{b.statement}", headers=a.r)).status_code == 404
    assert (await api.get(f"{URL}/{statement}", headers=b.r)).status_code == 404
    theirs = await api.get(lines, params={"statement_id": b.statement}, headers=a.r)
    assert theirs.status_code == 200 and theirs.json()["data"] == []
    mine = (await api.get(lines, headers=b.r)).json()["data"]
    assert {line["statement_id"] for line in mine} == {b.statement}


async def test_a_large_upload_is_pending_until_the_job_ran(
    api_world: ApiWorld, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = api_world.a
    monkeypatch.setattr(service, "INLINE_MATCH_LINES", 1)  # "large" = more than one credit
    data = mt940((30_000, "PAGO FACTURA F-1"), (2_000, "DEPOSITO"), ref="BIG")
    r = await api.post(URL, json=push(data), headers=a.w)
    assert r.status_code == 201, r.text
    statement = r.json()["statement_id"]
    assert r.json()["counts"]["pending"] == 2 and r.json()["applied"] == 0
    assert (await api.get(f"{URL}/{statement}", headers=a.r)).json()["counts"]["pending"] == 2

    await service.match_statement(a.scope, statement, actor="test")  # the reconcile_statement job
    got = (await api.get(f"{URL}/{statement}", headers=a.r)).json()
    assert got["counts"]["pending"] == 0
    assert (got["counts"]["matched"], got["applied"]) == (1, 30_000)
    invoice = (await api.get(f"/api/v1/invoices/{a.invoices[0]}", headers=a.r)).json()
    assert invoice["balance"] == 70_000
