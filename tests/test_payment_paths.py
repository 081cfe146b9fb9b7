"""Every way a customer's money reaches an invoice, end to end (issue #12), except the ones a bank
statement closes (those are in the reconciliation tests).

Each test starts in the portal as the customer does (one-time link, pick invoices, choose how to
pay), lets the provider answer the way it really does (the sandbox's hosted page, Mercado Pago's
signed notifications from the local fake server, staff confirming a proof in the back office) and
then checks what people see — the customer's statement and payment page, the staff payments list
— and the ledger: one approved payment whose allocations add up to what arrived, applied once
however many times the news arrives.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from recaudo.core.access.staff import create_staff
from recaudo.core.messaging.customer_messages import ACTOR as MESSAGE_JOB
from recaudo.core.messaging.customer_messages import message_key
from recaudo.core.payments import expiry
from recaudo.core.tables import (
    Allocation,
    CreditEntry,
    Invoice,
    NotificationLog,
    OutboxJob,
    Payment,
    PaymentProof,
    ProviderEvent,
    Ticket,
)
from recaudo.plugins.sandbox import routes as sandbox_routes
from recaudo.plugins.sandbox.tables import SandboxCharge
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope, unscoped
from tests.conftest import drain_jobs, make_tenant
from tests.fakes.mercadopago import DEFAULT_TOKEN, FakeMercadoPago
from tests.portal_support import Env, hidden, login, open_env, post_form

MP_SECRET = "whsec-test-0123456789"
STAFF_PASSWORD = "clave-de-prueba-123"
BALANCE = re.compile(r'id="balance-due">([^<]+)<')
IN_PROCESS = re.compile(r"Tienes un pago de [^<]+ en proceso")

pytestmark = pytest.mark.filterwarnings("ignore:notification_url is deprecated")


# --- set-up ---------------------------------------------------------------------------------------


@pytest.fixture
def fake_mp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMercadoPago]:
    with FakeMercadoPago() as server:
        monkeypatch.setenv("RECAUDO_MERCADOPAGO_API_BASE", server.url)
        yield server


async def shop_env(database: str, country: str = "MX", currency: str = "MXN") -> Env:
    """A test shop with the sandbox, bank transfer and Mercado Pago on; its customer signed in."""
    env = await open_env(database, country=country, currency=currency)
    await set_plugin(
        env.shop.scope,
        "mercadopago",
        enabled=True,
        settings={"access_token": DEFAULT_TOKEN, "webhook_secret": MP_SECRET},
        secret_key="x" * 40,
    )
    await login(env.client, env.shop, env.customer)
    return env


@pytest.fixture
async def env(database: str, host: object) -> AsyncIterator[Env]:
    e = await shop_env(database)
    yield e
    await e.client.aclose()


async def start_payment(env: Env, invoice_ids: list[int], method: str) -> tuple[str, Payment]:
    """Tick ``invoice_ids`` on the pay page and pay by ``method``: (where we are sent, payment)."""
    query = "&".join(f"factura={i}" for i in invoice_ids)
    page = await env.client.get(f"{env.shop.prefix}/pagar?{query}")
    assert page.status_code == 200, page.text
    assert f'value="{method}"' in page.text, f"{method} is not offered"
    form = {"clave": hidden(page.text, "clave"), "metodo": method, "factura": invoice_ids}
    response = await post_form(env.client, env.shop.prefix + "/pagar", form)
    assert response.status_code == 303, response.text
    payment = await env.shop.scope.objects(Payment).order_by(Payment.id, ascending=False).first()
    return response.headers["location"], payment


def local(url: str) -> str:
    return url.split("http://testserver", 1)[-1]


async def deliver(env: Env, note: object, slug: str = "") -> int:
    """POST a Mercado Pago notification to the tenant's webhook endpoint; the status code."""
    response = await env.client.post(
        f"/hooks/mercadopago/{slug or env.shop.slug}",
        params=note.query,  # type: ignore[attr-defined]
        content=note.body,  # type: ignore[attr-defined]
        headers=note.headers,  # type: ignore[attr-defined]
    )
    return response.status_code


async def balance_shown(env: Env) -> str:
    page = await env.client.get(env.shop.prefix + "/estado-de-cuenta")
    assert page.status_code == 200
    match = BALANCE.search(page.text)
    assert match, page.text
    return match.group(1)


async def balances(env: Env, invoice_ids: list[int]) -> list[int]:
    return [(await env.shop.scope.get(Invoice, i)).balance for i in invoice_ids]


async def approved_payments(env: Env) -> list[Payment]:
    return await env.shop.scope.objects(Payment).where(Payment.status == "approved")


async def applied_total(env: Env, payment_id: int) -> int:
    rows = await env.shop.scope.select(Allocation, Allocation.amount).where(
        Allocation.payment == payment_id
    )
    return sum(int(r["amount"]) for r in rows)


async def assert_paid_once(env: Env, invoice_ids: list[int], amount: int) -> Payment:
    """One approved payment of ``amount``, allocated exactly once to ``invoice_ids``, now paid."""
    [payment] = await approved_payments(env)
    assert int(payment.amount) == amount
    assert await applied_total(env, int(payment.id)) == amount
    assert await balances(env, invoice_ids) == [0] * len(invoice_ids)
    for invoice_id in invoice_ids:
        assert (await env.shop.scope.get(Invoice, invoice_id)).status == "paid"
    return payment


async def assert_nothing_applied(env: Env, invoice_ids: list[int], before: list[int]) -> None:
    assert await approved_payments(env) == []
    assert await env.shop.scope.count(Allocation) == 0
    assert await balances(env, invoice_ids) == before


async def receipts_queued(env: Env, payment_id: int) -> int:
    return await env.shop.scope.count(OutboxJob).where(
        OutboxJob.actor == MESSAGE_JOB,
        OutboxJob.key == message_key("payment_receipt", payment_id),
    )


async def staff_client(env: Env) -> httpx.AsyncClient:
    """A signed-in owner of the shop (through the real login form, with its CSRF token)."""
    email = f"duena@{env.shop.slug}.example"
    await create_staff(env.shop.scope, email, STAFF_PASSWORD, "owner", "Dueña")
    staff = await env.new_client()
    base = f"{env.shop.prefix}/staff"
    await staff.get(f"{base}/login")
    response = await staff.post(
        f"{base}/login",
        data={
            "email": email,
            "password": STAFF_PASSWORD,
            "_csrf_token": staff.cookies.get("csrftoken") or "",
        },
    )
    assert response.status_code == 303, response.text
    return staff


async def staff_post(staff: httpx.AsyncClient, url: str, data: dict[str, str]) -> httpx.Response:
    form = {"_csrf_token": staff.cookies.get("csrftoken") or "", **data}
    return await staff.post(url, data=form, headers={"accept": "text/html"})


async def staff_sees(env: Env, staff: httpx.AsyncClient, payment: Payment, label: str) -> None:
    """The staff payments list has the payment, for its amount, with the status ``label``."""
    page = await staff.get(f"{env.shop.prefix}/staff/pagos")
    assert page.status_code == 200, page.text
    row = re.search(rf'<tr data-payment="{payment.id}">(.*?)</tr>', page.text, re.S)
    assert row, page.text
    assert label in row.group(1)


# --- 1. card through the sandbox ------------------------------------------------------------------


class _Unreachable(httpx.AsyncBaseTransport):
    """The notification never arrives (the provider could not reach us)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("unreachable", request=request)


@pytest.mark.parametrize("first", ["notification", "return"])
async def test_card_through_the_sandbox_is_applied_once(env: Env, first: str) -> None:
    ids = env.invoice_ids()[:2]  # $1,000.00 + $500.00
    assert await balance_shown(env) == "$1,750.00"
    hosted, payment = await start_payment(env, ids, "sandbox")
    assert hosted.startswith(f"/sandbox/checkout/{env.shop.slug}/")
    page = await env.client.get(hosted)
    assert page.status_code == 200 and "$1,500.00" in page.text
    assert await balances(env, ids) == [100_000, 50_000], "nothing is paid before the provider"

    delivered = sandbox_routes.transport
    if first == "return":
        sandbox_routes.transport = _Unreachable()
    try:
        decided = await post_form(env.client, hosted, {"decision": "approve"})
    finally:
        sandbox_routes.transport = delivered
    assert decided.status_code == 303
    back = local(decided.headers["location"])
    assert back == f"{env.shop.prefix}/pagos/{payment.id}"
    if first == "notification":
        await drain_jobs()
    # The customer lands on the return page: it asks the provider itself (a lost webhook must
    # not leave them staring at "pending") and shows the receipt.
    result = await env.client.get(back)
    assert 'data-status="approved"' in result.text and "Este es tu recibo" in result.text
    # The notification arrives (again): twice more, as providers retry.
    charge = (
        await unscoped(SandboxCharge)
        .objects()
        .where(SandboxCharge.provider_id == hosted.rsplit("/", 1)[1])
        .first()
    )
    await sandbox_routes.notify(charge)
    await sandbox_routes.notify(charge)
    await drain_jobs()

    paid = await assert_paid_once(env, ids, 150_000)
    assert int(paid.id) == int(payment.id)
    assert await balance_shown(env) == "$250.00"
    assert await receipts_queued(env, int(payment.id)) == 1
    history = await env.client.get(env.shop.prefix + "/pagos")
    assert "Ver recibo" in history.text
    staff = await staff_client(env)
    try:
        await staff_sees(env, staff, paid, "Aprobado")
    finally:
        await staff.aclose()


# --- 2. card through Mercado Pago -----------------------------------------------------------------


async def test_card_through_mercadopago_signed_webhook_applies_once(
    env: Env, fake_mp: FakeMercadoPago
) -> None:
    ids = env.invoice_ids()[:1]
    where, payment = await start_payment(env, ids, "mercadopago")
    pref = fake_mp.preferences[fake_mp.last_preference_id]
    # (The fake serves plain http, which the portal never redirects to: the customer lands on the
    # payment page and its button takes them to Mercado Pago's checkout.)
    waiting = await env.client.get(local(where))
    assert f'href="{pref["init_point"]}"' in waiting.text
    assert pref["external_reference"] == str(payment.id)
    assert pref["notification_url"] == f"http://testserver/hooks/mercadopago/{env.shop.slug}"
    assert [i["unit_price"] for i in pref["items"]] == [1000]
    assert payment.status == "pending"

    # The customer pays on Mercado Pago's page; Mercado Pago notifies, signed as it documents.
    paid = fake_mp.pay_preference(fake_mp.last_preference_id, status="approved")
    forged = fake_mp.forged_webhook(paid["id"])
    assert await deliver(env, forged) == 401
    await drain_jobs()
    await assert_nothing_applied(env, ids, [100_000])

    note = fake_mp.signed_webhook(paid["id"], MP_SECRET, request_id="req-1")
    # Another business's endpoint (its own secret) refuses this shop's notification.
    other = await make_tenant("otra-" + env.shop.slug[-6:], test=True)
    await set_plugin(
        TenantScope(int(other.id)),
        "mercadopago",
        enabled=True,
        settings={"access_token": DEFAULT_TOKEN, "webhook_secret": "otro-secreto-0123456789"},
        secret_key="x" * 40,
    )
    assert await deliver(env, note, slug=str(other.slug)) == 401
    assert await env.shop.scope.count(ProviderEvent) == 0
    assert await TenantScope(int(other.id)).count(ProviderEvent) == 0

    assert await deliver(env, note) == 200
    assert await deliver(env, note) == 200  # redelivered
    later = fake_mp.signed_webhook(paid["id"], MP_SECRET, request_id="req-2")
    assert await deliver(env, later) == 200  # payment.updated, same state
    await drain_jobs()

    row = await assert_paid_once(env, ids, 100_000)
    assert row.provider_payment_id == str(paid["id"])
    assert await balance_shown(env) == "$750.00"
    assert await receipts_queued(env, int(payment.id)) == 1
    result = await env.client.get(f"{env.shop.prefix}/pagos/{payment.id}")
    assert 'data-status="approved"' in result.text


# --- 3. cash vouchers and bank redirects through Mercado Pago -------------------------------------


async def test_oxxo_voucher_is_pending_until_paid_at_the_store(
    env: Env, fake_mp: FakeMercadoPago, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = env.invoice_ids()[:1]
    where, payment = await start_payment(env, ids, "mercadopago:oxxo")
    assert where == f"{env.shop.prefix}/pagos/{payment.id}"
    voucher = await env.client.get(where)
    [mp_payment] = [p for p in fake_mp.payments.values() if p["payment_method_id"] == "oxxo"]
    assert mp_payment["payment_type_id"] == "ticket" and mp_payment["status"] == "pending"
    reference = mp_payment["transaction_details"]["payment_method_reference_id"]
    assert 'data-status="pending"' in voucher.text or 'data-status="in_process"' in voucher.text
    assert f'id="payment-reference">{reference}<' in voucher.text
    assert "Efectivo en OXXO" in voucher.text

    # Mercado Pago tells us the voucher was issued: still no money.
    assert await deliver(env, fake_mp.signed_webhook(mp_payment["id"], MP_SECRET)) == 200
    await drain_jobs()
    await assert_nothing_applied(env, ids, [100_000])
    assert await balance_shown(env) == "$1,750.00"

    # Two days later (the voucher lasts three) the customer pays at the store; the approval is
    # notified (and redelivered). The checkout's hour is long gone, yet this is not late money.
    later = datetime.now(UTC) + timedelta(days=2)
    monkeypatch.setattr(expiry, "now", lambda: later)
    assert IN_PROCESS.search((await env.client.get(env.shop.prefix + "/estado-de-cuenta")).text)
    fake_mp.set_status(mp_payment["id"], "approved", "accredited")
    note = fake_mp.signed_webhook(mp_payment["id"], MP_SECRET, request_id="paid-1")
    assert await deliver(env, note) == 200
    assert await deliver(env, note) == 200
    await drain_jobs()
    await assert_paid_once(env, ids, 100_000)
    assert await balance_shown(env) == "$750.00"
    assert await receipts_queued(env, int(payment.id)) == 1
    assert await env.shop.scope.count(Ticket) == 0 and await env.shop.scope.count(CreditEntry) == 0


@pytest.mark.parametrize("ending", [("cancelled", "expired"), ("cancelled", "by_collector")])
async def test_an_unpaid_voucher_that_ends_applies_nothing(
    env: Env, fake_mp: FakeMercadoPago, ending: tuple[str, str]
) -> None:
    ids = env.invoice_ids()[:1]
    where, payment = await start_payment(env, ids, "mercadopago:oxxo")
    [mp_payment] = list(fake_mp.payments.values())
    fake_mp.set_status(mp_payment["id"], *ending)
    assert await deliver(env, fake_mp.signed_webhook(mp_payment["id"], MP_SECRET)) == 200
    await drain_jobs()
    row = await env.shop.scope.get(Payment, payment.id)
    assert row.status == ("expired" if ending[1] == "expired" else "cancelled")
    await assert_nothing_applied(env, ids, [100_000])
    assert await balance_shown(env) == "$1,750.00"
    page = await env.client.get(where)
    assert "El pago no se completó" in page.text and "Intentar de nuevo" in page.text
    # The invoice is still open and can be paid again.
    again = await env.client.get(f"{env.shop.prefix}/pagar?factura={ids[0]}")
    assert again.status_code == 200 and 'value="mercadopago:oxxo"' in again.text


async def test_pse_in_colombia_is_pending_then_approved(
    database: str, host: object, fake_mp: FakeMercadoPago
) -> None:
    env = await shop_env(database, "CO", "COP")
    try:
        ids = env.invoice_ids()[:1]
        _, payment = await start_payment(env, ids, "mercadopago:pse")
        pref_id = fake_mp.last_preference_id
        excluded = fake_mp.preferences[pref_id]["payment_methods"]["excluded_payment_types"]
        assert {"id": "bank_transfer"} not in excluded and {"id": "credit_card"} in excluded
        # The customer authorises the debit at their bank: PSE answers pending first.
        pse = fake_mp.pay_preference(
            pref_id, status="pending", payment_method_id="pse", payment_type_id="bank_transfer"
        )
        assert await deliver(env, fake_mp.signed_webhook(pse["id"], MP_SECRET)) == 200
        await drain_jobs()
        await assert_nothing_applied(env, ids, [100_000])
        fake_mp.set_status(pse["id"], "approved", "accredited")
        note = fake_mp.signed_webhook(pse["id"], MP_SECRET, request_id="pse-ok")
        assert await deliver(env, note) == 200
        assert await deliver(env, note) == 200
        await drain_jobs()
        await assert_paid_once(env, ids, 100_000)
        assert int(payment.amount) == 100_000
        assert await receipts_queued(env, int(payment.id)) == 1
    finally:
        await env.client.aclose()


async def test_pix_in_brazil_is_pending_then_approved(
    database: str, host: object, fake_mp: FakeMercadoPago
) -> None:
    fake_mp.site_currency = "BRL"
    env = await shop_env(database, "BR", "BRL")
    try:
        ids = env.invoice_ids()[:1]
        where, payment = await start_payment(env, ids, "mercadopago:pix")
        page = await env.client.get(where)
        [pix] = list(fake_mp.payments.values())
        assert pix["payment_method_id"] == "pix" and pix["status"] == "pending"
        qr = pix["point_of_interaction"]["transaction_data"]["qr_code"]
        assert qr in page.text and 'alt="Código QR para pagar"' in page.text
        assert await deliver(env, fake_mp.signed_webhook(pix["id"], MP_SECRET)) == 200
        await drain_jobs()
        await assert_nothing_applied(env, ids, [100_000])
        fake_mp.set_status(pix["id"], "approved", "accredited")
        note = fake_mp.signed_webhook(pix["id"], MP_SECRET, request_id="pix-ok")
        assert await deliver(env, note) == 200
        assert await deliver(env, note) == 200
        await drain_jobs()
        await assert_paid_once(env, ids, 100_000)
        assert await receipts_queued(env, int(payment.id)) == 1
    finally:
        await env.client.aclose()


# --- 4. proof of payment confirmed by staff -------------------------------------------------------


PDF = b"%PDF-1.4 comprobante de transferencia"


async def transfer_and_proof(env: Env, invoice_ids: list[int], amount: str) -> PaymentProof:
    """Choose bank transfer (instructions with the reference), pay at the bank, upload proof."""
    where, transfer = await start_payment(env, invoice_ids, "banktransfer")
    instructions = await env.client.get(where)
    assert "Banco Demo" in instructions.text and 'id="payment-reference"' in instructions.text
    assert transfer.status == "pending"
    response = await env.client.post(
        env.shop.prefix + "/comprobantes",
        data={
            "monto": amount,
            "factura": [str(i) for i in invoice_ids],
            "_csrf_token": env.client.cookies.get("csrftoken") or "",
        },
        files={"archivo": ("transferencia.pdf", PDF, "application/pdf")},
    )
    assert response.status_code == 303, response.text
    [proof] = await env.shop.scope.objects(PaymentProof)
    assert proof.status == "pending" and int(proof.amount) == 150_000
    return proof


async def test_a_confirmed_proof_pays_the_invoices_once(env: Env) -> None:
    ids = env.invoice_ids()[:2]
    _, elsewhere = await start_payment(env, env.invoice_ids()[2:], "sandbox")  # another invoice
    proof = await transfer_and_proof(env, ids, "1,500.00")
    [transfer] = await env.shop.scope.objects(Payment).where(Payment.method == "banktransfer")
    listing = await env.client.get(env.shop.prefix + "/comprobantes")
    assert "En revisión" in listing.text
    await assert_nothing_applied(env, ids, [100_000, 50_000])

    staff = await staff_client(env)
    try:
        url = f"{env.shop.prefix}/staff/proofs/{proof.id}/confirm"
        no_csrf = await staff.post(url, data={})
        assert no_csrf.status_code == 403
        first = await staff_post(staff, url, {})
        second = await staff_post(staff, url, {})  # a double click, or a colleague
        assert first.status_code == second.status_code == 303
        await drain_jobs()
        paid = await assert_paid_once(env, ids, 150_000)
        await staff_sees(env, staff, paid, "Aprobado")
        told = await env.shop.scope.select(NotificationLog, NotificationLog.body_text).where(
            NotificationLog.subject.like("Confirmamos tu pago%")
        )
        assert [m["body_text"].count("$1,500.00") for m in told] == [1]
    finally:
        await staff.aclose()
    assert await balance_shown(env) == "$250.00"
    # The transfer checkout that led here is over: no "payment in process" left behind for the
    # paid invoices, while the checkout for the other invoice is untouched.
    statement = await env.client.get(env.shop.prefix + "/estado-de-cuenta")
    assert IN_PROCESS.findall(statement.text) == ["Tienes un pago de $250.00 en proceso"]
    assert (await env.shop.scope.get(Payment, transfer.id)).status == "cancelled"
    assert (await env.shop.scope.get(Payment, elsewhere.id)).status == "pending"


async def test_a_rejected_proof_applies_nothing(env: Env) -> None:
    ids = env.invoice_ids()[:2]
    proof = await transfer_and_proof(env, ids, "1,500.00")
    staff = await staff_client(env)
    try:
        base = f"{env.shop.prefix}/staff/proofs/{proof.id}"
        rejected = await staff_post(staff, base + "/reject", {"reason": "No llegó a la cuenta"})
        assert rejected.status_code == 303
        late = await staff_post(staff, base + "/confirm", {})
        assert late.status_code == 409
    finally:
        await staff.aclose()
    await drain_jobs()
    await assert_nothing_applied(env, ids, [100_000, 50_000])
    assert await balance_shown(env) == "$1,750.00"
    listing = await env.client.get(env.shop.prefix + "/comprobantes")
    assert "No llegó a la cuenta" in listing.text
