"""One invoice is never paid twice by two checkouts (issue 8, item 11).

A new checkout for the same invoices supersedes the pending one; abandoned checkouts expire (on
read at once, in the history through the scheduler's sweep); money that still arrives for an ended
checkout, or for invoices already paid, goes to its own invoices or becomes credit the customer is
told about, with a ticket for staff. End to end through the portal, the sandbox gateway and the
Mercado Pago fake; clocks are moved, never slept on.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from recaudo.core.casework.review import open_tickets
from recaudo.core.common.money import Money
from recaudo.core.payments import expiry, ledger
from recaudo.core.payments.expiry import CHECKOUT_TTL
from recaudo.core.payments.method import ProviderPayment
from recaudo.core.tables import (
    CreditEntry,
    Invoice,
    NotificationLog,
    OutboxJob,
    Payment,
    PaymentTransition,
    Ticket,
)
from recaudo.plugins.sandbox.tables import SandboxCharge
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import unscoped
from recaudo.workers.scheduler import EXPIRE_GRACE, expire_abandoned_checkouts
from tests.conftest import drain_jobs
from tests.fakes.mercadopago import DEFAULT_TOKEN, FakeMercadoPago, PreferenceExpired
from tests.portal_support import Env, hidden, login, open_env, post_form

MP_SECRET = "whsec-test-0123456789"
IN_PROCESS = re.compile(r"Tienes un pago de [^<]+ en proceso")


@pytest.fixture
def fake_mp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMercadoPago]:
    with FakeMercadoPago() as server:
        monkeypatch.setenv("RECAUDO_MERCADOPAGO_API_BASE", server.url)
        yield server


@pytest.fixture
async def env(database: str, fake_mp: FakeMercadoPago, host: object) -> AsyncIterator[Env]:
    e = await open_env(database)
    await set_plugin(
        e.shop.scope,
        "mercadopago",
        enabled=True,
        settings={"access_token": DEFAULT_TOKEN, "webhook_secret": MP_SECRET},
        secret_key="x" * 40,
    )
    await login(e.client, e.shop, e.customer)
    yield e
    await e.client.aclose()


async def checkout(env: Env, query: str, method: str = "sandbox") -> tuple[str, dict[str, str]]:
    """Open the pay page for ``query`` and submit it; ``(where it sent us, the form sent)``."""
    page = await env.client.get(env.shop.prefix + "/pagar?" + query)
    assert page.status_code == 200, page.text
    form = {"clave": hidden(page.text, "clave"), "metodo": method}
    form["factura"] = re.findall(r'name="factura" value="(\d+)"', page.text)  # type: ignore[assignment]
    response = await post_form(env.client, env.shop.prefix + "/pagar", form)
    assert response.status_code == 303, response.text
    return response.headers["location"], form


async def in_process_notes(env: Env) -> list[str]:
    page = await env.client.get(env.shop.prefix + "/estado-de-cuenta")
    return IN_PROCESS.findall(page.text)


async def applied(env: Env, invoice_id: int) -> int:
    return int((await env.shop.scope.get(Invoice, invoice_id)).amount_applied)


async def credit(env: Env) -> int:
    return await ledger.customer_credit(env.shop.scope, int(env.customer.id), "MXN")


def path_of(url: str) -> str:
    return url.split("http://testserver", 1)[-1]


# --- the reported scenario, through the portal and the sandbox ----------------------------------


async def test_a_left_checkout_cannot_pay_the_invoice_again(env: Env) -> None:
    x, y, z = env.invoice_ids()
    first, first_form = await checkout(env, f"factura={x}")
    assert len(await in_process_notes(env)) == 1
    second, _ = await checkout(env, f"factura={x}")  # the customer came back and paid again
    assert first != second
    assert len(await in_process_notes(env)) == 1, "one note per live checkout, not per attempt"
    # The old form sent again does not revive the old checkout.
    again = await post_form(env.client, env.shop.prefix + "/pagar", first_form)
    assert again.status_code == 400 and "Este pago ya no es válido" in again.text

    decided = await post_form(env.client, second, {"decision": "approve"})
    assert decided.status_code == 303
    await drain_jobs()
    assert await applied(env, x) == 100_000

    # Reopening the first checkout: no way to approve it.
    old = await env.client.get(first)
    assert old.status_code == 410 and "Este pago ya no es válido" in old.text
    assert "Aprobar pago" not in old.text
    refused = await post_form(env.client, first, {"decision": "approve"})
    assert refused.status_code == 410 and "Este pago ya no es válido" in refused.text
    charge = (
        await unscoped(SandboxCharge)
        .objects()
        .where(SandboxCharge.provider_id == first.rsplit("/", 1)[1])
        .first()
    )
    assert charge.status == "pending"
    await drain_jobs()
    assert [await applied(env, i) for i in (x, y, z)] == [100_000, 0, 0]
    assert await credit(env) == 0
    assert await in_process_notes(env) == []
    payments = await env.shop.scope.select(Payment, Payment.status).order_by(Payment.id)
    assert [p["status"] for p in payments] == ["cancelled", "approved"]
    [superseded] = await env.shop.scope.select(PaymentTransition, PaymentTransition.detail).where(
        PaymentTransition.to_status == "cancelled"
    )
    assert "superseded by payment" in superseded["detail"]


async def test_checkouts_for_other_invoices_stay_live(env: Env) -> None:
    x, y, _ = env.invoice_ids()
    first, _ = await checkout(env, f"factura={x}")
    await checkout(env, f"factura={y}")
    assert len(await in_process_notes(env)) == 2
    assert (await env.client.get(first)).status_code == 200


async def test_abandoned_checkouts_expire_on_read_and_in_the_sweep(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, y, z = env.invoice_ids()
    first, _ = await checkout(env, f"factura={x}")
    await checkout(env, f"factura={y}")
    held, _ = await checkout(env, f"factura={z}")
    await post_form(env.client, held, {"decision": "pending"})  # the provider holds this one
    await drain_jobs()
    assert len(await in_process_notes(env)) == 3  # and the statement part is now cached

    later = datetime.now(UTC) + CHECKOUT_TTL + timedelta(minutes=1)
    monkeypatch.setattr(expiry, "now", lambda: later)
    assert len(await in_process_notes(env)) == 1, "expired checkouts vanish without any write"
    old = await env.client.get(first)
    assert old.status_code == 410 and "Aprobar pago" not in old.text
    first_payment = await env.shop.scope.objects(Payment).order_by(Payment.id).first()
    result = await env.client.get(f"{env.shop.prefix}/pagos/{first_payment.id}")
    assert 'data-status="expired"' in result.text and "Continuar con el pago" not in result.text
    history = await env.client.get(env.shop.prefix + "/pagos")
    assert history.text.count("Vencido") == 2 and history.text.count("En proceso") == 1

    # The sweep waits a grace period (one more reconciliation poll), then records it in one go.
    assert await expire_abandoned_checkouts(later) == 0
    assert await expire_abandoned_checkouts(later + EXPIRE_GRACE) == 2
    assert await expire_abandoned_checkouts(later + EXPIRE_GRACE) == 0
    statuses = await env.shop.scope.select(Payment, Payment.status).order_by(Payment.id)
    assert [p["status"] for p in statuses] == ["expired", "expired", "in_process"]
    swept = await env.shop.scope.count(PaymentTransition).where(
        PaymentTransition.source == "sweep", PaymentTransition.to_status == "expired"
    )
    assert swept == 2


# --- Mercado Pago: a superseded preference paid anyway ------------------------------------------


async def test_money_for_a_superseded_mercadopago_preference_becomes_credit(
    env: Env, fake_mp: FakeMercadoPago
) -> None:
    x, y, z = env.invoice_ids()
    await checkout(env, f"factura={x}", "mercadopago")
    first_pref = fake_mp.last_preference_id
    await checkout(env, f"factura={x}", "mercadopago")
    second_pref = fake_mp.last_preference_id
    assert first_pref != second_pref

    body = fake_mp.preferences[first_pref]
    starts = datetime.fromisoformat(body["expiration_date_from"])
    ends = datetime.fromisoformat(body["expiration_date_to"])
    assert body["expires"] is True and starts.tzinfo is not None
    assert ends - starts == CHECKOUT_TTL
    assert datetime.fromisoformat(body["date_of_expiration"]) > ends  # vouchers last longer
    with pytest.raises(PreferenceExpired):
        fake_mp.pay_preference(first_pref, at=ends + timedelta(seconds=1))

    async def pay(pref: str) -> None:
        paid = fake_mp.pay_preference(pref, status="approved")
        note = fake_mp.signed_webhook(paid["id"], MP_SECRET)
        response = await env.client.post(
            f"/hooks/mercadopago/{env.shop.slug}",
            params=note.query,
            content=note.body,
            headers=note.headers,
        )
        assert response.status_code == 200
        await drain_jobs()

    await pay(second_pref)
    # The superseded preference is still open at Mercado Pago (it cannot be withdrawn), and the
    # customer pays it from the old tab: the money is real.
    await pay(first_pref)
    assert [await applied(env, i) for i in (x, y, z)] == [100_000, 0, 0]
    assert await credit(env) == 100_000
    reasons = await env.shop.scope.select(CreditEntry, CreditEntry.reason)
    assert [r["reason"] for r in reasons] == ["already_paid"]
    [ticket] = await open_tickets(env.shop.scope)  # what the staff inbox lists
    assert "vencido o reemplazado" in ticket.subject and "saldo a favor" in ticket.message
    sent = await env.shop.scope.select(
        NotificationLog, NotificationLog.subject, NotificationLog.body_text
    )
    [message] = [m for m in sent if "saldo a favor" in m["subject"]]
    assert "$1,000.00" in message["body_text"] and "/acceso/" in message["body_text"]
    statement = await env.client.get(env.shop.prefix + "/estado-de-cuenta")
    assert 'id="credit">$1,000.00<' in statement.text
    assert not IN_PROCESS.search(statement.text)


# --- the ledger's rules, directly ---------------------------------------------------------------


async def _intent(env: Env, key: str, invoices: list[int] | None, amount: int | None = None):
    return await ledger.create_payment(
        env.shop.scope,
        customer_id=int(env.customer.id),
        method="sandbox",
        currency="MXN",
        idempotency_key=key,
        invoice_ids=invoices,
        amount=amount,
    )


async def _approve(env: Env, payment: Payment, amount: int) -> Payment:
    state = ProviderPayment(
        provider_payment_id=f"prov-{payment.id}",
        status="approved",
        amount=Money("MXN", amount),
        our_payment_id=int(payment.id),
    )
    result = await ledger.apply_provider_payment(env.shop.scope, "sandbox", state, "webhook")
    assert result is not None
    return result


async def test_money_for_invoices_paid_meanwhile_is_credit_not_another_invoice(env: Env) -> None:
    x, y, z = env.invoice_ids()
    live = await _intent(env, "live-x", [x])
    # Meanwhile staff confirm a transfer for the same invoice.
    await ledger.record_staff_payment(
        env.shop.scope,
        customer_id=int(env.customer.id),
        currency="MXN",
        amount=100_000,
        method="banktransfer",
        reference="proof:1",
        invoice_ids=[x],
    )
    await _approve(env, live, 100_000)
    assert [await applied(env, i) for i in (x, y, z)] == [100_000, 0, 0]
    assert await credit(env) == 100_000
    tells = await env.shop.scope.select(OutboxJob, OutboxJob.key).where(
        OutboxJob.actor == "tell_customer"
    )
    assert [t["key"] for t in tells] == [f"tell:payment:{live.id}"]
    assert await env.shop.scope.count(Ticket) == 1


async def test_late_money_goes_to_its_still_open_invoices_only(env: Env) -> None:
    x, y, z = env.invoice_ids()
    late = await _intent(env, "late-y", [y])
    await env.shop.scope.update(
        Payment, {Payment.expires_at: datetime.now(UTC) - timedelta(minutes=1)}
    ).where(Payment.id == late.id)
    loose = await _intent(env, "late-amount", None, amount=30_000)
    await env.shop.scope.update(Payment, {Payment.status: "expired"}).where(Payment.id == loose.id)
    paid = await _approve(env, late, 50_000)
    assert paid.status == "approved"
    assert [await applied(env, i) for i in (x, y, z)] == [0, 50_000, 0]
    assert await credit(env) == 0
    # A free amount that arrives after its checkout ended does not pick invoices by itself.
    await _approve(env, await env.shop.scope.get(Payment, loose.id), 30_000)
    assert [await applied(env, i) for i in (x, y, z)] == [0, 50_000, 0]
    assert await credit(env) == 30_000
    assert await env.shop.scope.count(Ticket) == 2
    tells = await env.shop.scope.count(OutboxJob).where(OutboxJob.actor == "tell_customer")
    assert tells == 1  # only the money that became credit needs telling


async def test_a_voucher_issued_in_a_hosted_checkout_keeps_it_live(env: Env) -> None:
    x, _, _ = env.invoice_ids()
    payment = await _intent(env, "voucher-x", [x])
    until = datetime.now(UTC) + timedelta(days=3)
    state = ProviderPayment(
        provider_payment_id="prov-voucher",
        status="pending",
        amount=Money("MXN", 100_000),
        our_payment_id=int(payment.id),
        expires_at=until,
    )
    await ledger.apply_provider_payment(env.shop.scope, "sandbox", state, "webhook")
    row = await env.shop.scope.get(Payment, payment.id)
    assert expiry.is_live(row, datetime.now(UTC) + timedelta(days=2))
    assert await expire_abandoned_checkouts(datetime.now(UTC) + timedelta(days=1)) == 0


async def test_a_cash_voucher_from_a_hosted_checkout_stays_in_process_for_its_validity(
    env: Env, fake_mp: FakeMercadoPago, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, _, _ = env.invoice_ids()
    await checkout(env, f"factura={x}", "mercadopago")
    pref = fake_mp.last_preference_id
    # Inside Checkout Pro the customer chose OXXO: a voucher, pending until they pay at a store.
    voucher = fake_mp.pay_preference(
        pref, status="pending", payment_method_id="oxxo", payment_type_id="ticket"
    )
    assert voucher["date_of_expiration"] == fake_mp.preferences[pref]["date_of_expiration"]
    note = fake_mp.signed_webhook(voucher["id"], MP_SECRET)
    response = await env.client.post(
        f"/hooks/mercadopago/{env.shop.slug}",
        params=note.query,
        content=note.body,
        headers=note.headers,
    )
    assert response.status_code == 200
    await drain_jobs()
    later = datetime.now(UTC) + timedelta(hours=5)  # long after the hosted page expired
    monkeypatch.setattr(expiry, "now", lambda: later)
    assert len(await in_process_notes(env)) == 1
    assert await expire_abandoned_checkouts(later) == 0
    # Paid at the store two days later: it is simply a payment of that invoice.
    fake_mp.set_status(voucher["id"], "approved")
    note = fake_mp.signed_webhook(voucher["id"], MP_SECRET)
    await env.client.post(
        f"/hooks/mercadopago/{env.shop.slug}",
        params=note.query,
        content=note.body,
        headers=note.headers,
    )
    await drain_jobs()
    assert await applied(env, x) == 100_000
    assert await env.shop.scope.count(Ticket) == 0


async def test_the_scheduler_runs_the_expiry_sweep(env: Env) -> None:
    from recaudo.workers.scheduler import Scheduler

    x, _, _ = env.invoice_ids()
    payment = await _intent(env, "left-x", [x])
    long_ago = datetime.now(UTC) - CHECKOUT_TTL - EXPIRE_GRACE - timedelta(minutes=1)
    await env.shop.scope.update(Payment, {Payment.expires_at: long_ago}).where(
        Payment.id == payment.id
    )
    assert "sweep" in await Scheduler().tick()
    assert (await env.shop.scope.get(Payment, payment.id)).status == "expired"
