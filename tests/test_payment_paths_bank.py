"""Money by bank transfer, from the portal to an applied payment, closed by a statement line.

* the customer starts a transfer checkout in the portal; the bank statement line carrying their
  reference settles that very checkout (no second payment) and the invoice is paid;
* a proof of payment the customer uploaded and staff confirmed, then the bank line for the same
  money: applied once, the line is only linked;
* the other way round: the line applied the money first, staff then confirm the proof: linked, not
  applied again, and the proof's note says so.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from recaudo.core.casework.review.proofs import confirm_proof
from recaudo.core.reconciliation.review import get_line, list_lines, undo_match
from recaudo.core.reconciliation.service import import_statement
from recaudo.core.tables import Invoice, Payment, PaymentProof, StaffUser
from tests.portal_support import Env, csrf, hidden, login, open_env, post_form
from tests.test_reconciliation_service import mt940

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def env(database: str, host: object) -> Env:
    e = await open_env(database)
    await login(e.client, e.shop, e.customer)
    yield e
    await e.client.aclose()


async def _staff(env: Env) -> StaffUser:
    user = StaffUser(
        email="caja@example.com",
        name="Caja",
        password_hash="x",
        role="owner",
        created_at=datetime.now(UTC),
    )
    await env.shop.scope.add(user)
    return user


async def _balance(env: Env, invoice_id: int) -> int:
    row = await env.shop.scope.get(Invoice, invoice_id)
    assert row is not None
    return row.balance


async def _transfer_checkout(env: Env, invoice_id: int) -> str:
    """Start a bank-transfer checkout for one invoice in the portal; the reference shown."""
    page = await env.client.get(env.shop.prefix + f"/pagar?factura={invoice_id}")
    form = {"clave": hidden(page.text, "clave"), "factura": str(invoice_id)}
    started = await post_form(
        env.client, env.shop.prefix + "/pagar", {**form, "metodo": "banktransfer"}
    )
    assert started.status_code == 303, started.text
    shown = await env.client.get(started.headers["location"])
    found = re.search(r'id="payment-reference"[^>]*>\s*([\d\s-]+?)\s*<', shown.text)
    assert found, shown.text
    return found.group(1).replace(" ", "").replace("-", "")


async def _import(env: Env, data: bytes) -> object:
    return await import_statement(env.shop.scope, data, filename="banco.sta", actor="staff:1")


async def test_a_statement_line_with_the_reference_closes_the_portal_checkout(env: Env) -> None:
    scope = env.shop.scope
    invoice = env.invoice_ids()[0]  # 1,000.00
    reference = await _transfer_checkout(env, invoice)
    checkout = await scope.objects(Payment).first()
    assert checkout.status == "pending" and checkout.method == "banktransfer"

    summary = await _import(env, mt940((100_000, f"SPEI REF {reference} PAGO")))
    assert summary.matched == 1 and summary.applied == 100_000
    assert await scope.count(Payment) == 1, "the checkout itself was settled, not a new payment"
    settled = await scope.get(Payment, checkout.id)
    assert settled.status == "approved" and settled.amount == 100_000
    assert await _balance(env, invoice) == 0
    line = (await list_lines(scope))[0]
    assert line.payment_id == checkout.id and line.status == "matched"
    # The customer sees the invoice paid.
    statement = await env.client.get(env.shop.prefix + "/estado-de-cuenta")
    assert statement.status_code == 200

    again = await _import(env, mt940((100_000, f"SPEI REF {reference} PAGO"), ref="S2"))
    assert again.already_imported == 1 and again.applied == 0
    assert await scope.count(Payment) == 1 and await _balance(env, invoice) == 0

    # Undoing the line takes the money back from the settled checkout too.
    await undo_match(scope, line.id, actor="staff:1", reason="era de otro cliente")
    assert (await scope.get(Payment, checkout.id)).status == "cancelled"
    assert await _balance(env, invoice) == 100_000
    assert (await get_line(scope, line.id)).status == "review"


async def _upload_proof(env: Env, invoice_id: int, amount: str) -> PaymentProof:
    response = await env.client.post(
        env.shop.prefix + "/comprobantes",
        data={
            "monto": amount,
            "moneda": "MXN",
            "factura": [str(invoice_id)],
            "_csrf_token": csrf(env.client),
        },
        files={"archivo": ("transferencia.png", PNG, "image/png")},
    )
    assert response.status_code in (200, 303), response.text
    proof = await env.shop.scope.objects(PaymentProof).first()
    assert proof is not None
    return proof


async def test_a_confirmed_proof_then_its_bank_line_is_applied_once(env: Env) -> None:
    scope = env.shop.scope
    invoice = env.invoice_ids()[1]  # 500.00
    proof = await _upload_proof(env, invoice, "500.00")
    await confirm_proof(scope, await _staff(env), int(proof.id))
    assert await _balance(env, invoice) == 0 and await scope.count(Payment) == 1

    reference = await _customer_reference(env)
    summary = await _import(env, mt940((50_000, f"TRANSFERENCIA REF {reference}")))
    assert summary.applied == 0, "the money was already recorded from the proof"
    line = (await list_lines(scope))[0]
    assert line.status == "matched" and "ya estaba registrado" in line.note
    confirmed = await scope.get(PaymentProof, proof.id)
    assert line.payment_id == confirmed.payment
    assert await scope.count(Payment) == 1
    others = env.invoice_ids()
    assert [await _balance(env, i) for i in others] == [100_000, 0, 25_000]


async def test_a_bank_line_then_its_proof_confirmed_is_linked_not_applied_again(
    env: Env,
) -> None:
    scope = env.shop.scope
    invoice = env.invoice_ids()[1]  # 500.00
    proof = await _upload_proof(env, invoice, "500.00")
    reference = await _customer_reference(env)
    summary = await _import(env, mt940((50_000, f"TRANSFERENCIA REF {reference}")))
    assert summary.matched == 1 and summary.applied == 50_000
    applied = sum([await _balance(env, i) for i in env.invoice_ids()])
    line = (await list_lines(scope))[0]

    confirmed = await confirm_proof(scope, await _staff(env), int(proof.id))
    assert confirmed.status == "confirmed" and confirmed.payment == line.payment_id
    assert "estado de cuenta" in confirmed.decision_reason
    assert await scope.count(Payment) == 1
    assert sum([await _balance(env, i) for i in env.invoice_ids()]) == applied
    assert (await get_line(scope, line.id)).status == "matched"


async def _customer_reference(env: Env) -> str:
    """The customer's transfer reference as the portal shows it (starting a checkout shows it;
    the checkout is then replaced by the proof or the line)."""
    from recaudo.core.platform.context import context_for
    from recaudo.plugins.banktransfer.references import payment_reference
    from recaudo.tenants.service import tenant_info

    ctx = await context_for(tenant_info(env.shop.tenant), "banktransfer")
    return payment_reference(ctx.settings, int(env.customer.id))
