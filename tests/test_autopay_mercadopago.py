"""Autopay through Mercado Pago saved cards (Customers & Cards API) against the fake server, and
a worker killed with SIGKILL while it applies a charge: the charge is applied once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from recaudo.core.common.money import Money
from recaudo.core.payments.autopay import (
    CLAIM_LEASE,
    begin_enrollment,
    complete_enrollment,
    plan_tenant,
    run_charge,
    setup_checkout,
)
from recaudo.core.payments.method import Checkout, SavedInstrument
from recaudo.core.payments.registry import all_methods
from recaudo.core.platform.context import context_for
from recaudo.core.tables import Allocation, AutopayCharge, Invoice, OutboxJob, Payment
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.service import tenant_info
from tests.fakes.mercadopago import DEFAULT_TOKEN, FakeMercadoPago
from tests.portal_support import Env, open_env

SETTINGS = {"access_token": DEFAULT_TOKEN, "webhook_secret": "whsec-test-0123456789"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.filterwarnings("ignore:notification_url is deprecated")


@pytest.fixture
def fake() -> Iterator[FakeMercadoPago]:
    with FakeMercadoPago() as server:
        yield server


@pytest.fixture
async def env(
    database: str, host: object, fake: FakeMercadoPago, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Env]:
    monkeypatch.setenv("RECAUDO_MERCADOPAGO_API_BASE", fake.url)
    fake.payment_delay = 0.0
    e = await open_env(database)
    await set_plugin(
        e.shop.scope, "mercadopago", enabled=True, settings=SETTINGS, secret_key="x" * 40
    )
    yield e
    await e.client.aclose()


async def enroll_mp(env: Env, fake: FakeMercadoPago, *, decline: bool = False) -> SavedInstrument:
    method = all_methods()["mercadopago"][1]
    row = await begin_enrollment(
        env.shop.scope,
        int(env.customer.id),
        plugin="mercadopago",
        method=method,
        what="invoices",
        days_before=3,
    )
    ctx = await context_for(tenant_info(env.shop.tenant), "mercadopago")
    token = fake.card_form_token("4242" if not decline else "0002", decline=decline)
    instrument = await method.save_instrument(
        ctx, setup_checkout(row, env.customer, "MXN", ""), token
    )
    await complete_enrollment(env.shop.scope, row, instrument, actor="test")
    return instrument


async def test_saved_card_is_charged_with_the_idempotency_key(
    env: Env, fake: FakeMercadoPago
) -> None:
    instrument = await enroll_mp(env, fake)
    assert instrument.label == "Visa •••• 4242" and instrument.expires == "12/30"
    customer_id, card_id = instrument.provider_instrument_id.split(":")
    assert fake.customers[customer_id]["email"] == env.customer.email
    assert card_id in fake.cards

    # Directly: the same checkout twice is one Mercado Pago payment.
    method = all_methods()["mercadopago"][1]
    ctx = await context_for(tenant_info(env.shop.tenant), "mercadopago")
    checkout = Checkout(
        payment_id=987654,
        idempotency_key="direct-charge-test",
        amount=Money("MXN", 12_345),
        description="Pago automático",
        customer_name="Ana",
        customer_email="ana@example.com",
        return_url="",
        notification_url="",
    )
    first = await method.charge_instrument(ctx, checkout, instrument)
    second = await method.charge_instrument(ctx, checkout, instrument)
    assert first.provider_payment_id == second.provider_payment_id
    assert first.status == "approved" and first.amount == Money("MXN", 12_345)
    posts = fake.requests_to("POST", "/v1/payments")
    assert {r.headers["x-idempotency-key"] for r in posts[-2:]} == {checkout.idempotency_key}
    assert posts[-1].json["payer"] == {"type": "customer", "id": customer_id}
    assert "card_number" not in str(posts[-1].json)

    # Through autopay: the due invoices are paid through the ledger.
    now = datetime.now(UTC)
    created = await plan_tenant(env.shop.scope, now)
    for charge_id in created:
        got = await run_charge(env.shop.scope, charge_id)
        pays = await env.shop.scope.objects(Payment)
        assert got == "approved", [
            (p.status, p.provider_payment_id, p.amount, p.method) for p in pays
        ]
    for invoice_id in env.invoice_ids()[:2]:
        assert (await env.shop.scope.get(Invoice, invoice_id)).status == "paid"


async def test_declined_saved_card_plans_a_retry(env: Env, fake: FakeMercadoPago) -> None:
    await enroll_mp(env, fake, decline=True)
    created = await plan_tenant(env.shop.scope, datetime.now(UTC))
    assert [await run_charge(env.shop.scope, c) for c in created] == ["rejected", "rejected"]
    retries = await env.shop.scope.objects(AutopayCharge).where(AutopayCharge.attempt == 2)
    assert len(retries) == 2 and {r.status for r in retries} == {"planned"}
    assert await env.shop.scope.count(Allocation) == 0


WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from recaudo.core import db
    from recaudo.core.config import Settings, activate
    from recaudo.core.platform.host import get_host
    from recaudo.workers.jobs import run_job

    url, job_id = sys.argv[1], int(sys.argv[2])
    settings = Settings(
        env="development", database_url=url, secret_key="x" * 40, base_url="http://testserver"
    )
    activate(settings)
    db.configure(url)
    get_host().results("recaudo_startup", settings=settings)

    async def main():
        await db.start_pool()
        print("running", flush=True)
        print(await run_job(job_id), flush=True)

    asyncio.run(main())
    """
)


@pytest.mark.slow
async def test_sigkill_while_charging_applies_the_charge_once(
    env: Env, fake: FakeMercadoPago, database: str
) -> None:
    await enroll_mp(env, fake)
    scope = env.shop.scope
    invoice_id = env.invoice_ids()[0]
    # Only the oldest invoice is due: the others are paid by hand first.
    [charge_id, other] = await plan_tenant(scope, datetime.now(UTC))
    await scope.update(AutopayCharge, {AutopayCharge.status: "cancelled"}).where(
        AutopayCharge.id == other
    )
    job = (
        await scope.objects(OutboxJob).where(OutboxJob.key == f"autopay_charge:{charge_id}").first()
    )
    charge = await scope.get(AutopayCharge, charge_id)
    assert charge.target_id == invoice_id

    fake.payment_delay = 30.0  # the provider acts, then answers late
    posts_before = len(fake.requests_to("POST", "/v1/payments"))
    env_vars = {**os.environ, "RECAUDO_MERCADOPAGO_API_BASE": fake.url, "PYTHONPATH": ROOT}
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, database, str(job.id)],
        env=env_vars,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # Wait until the provider has the payment (the worker is now waiting for its answer).
        for _ in range(600):
            if len(fake.requests_to("POST", "/v1/payments")) > posts_before:
                break
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the worker never called the provider")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    fake.payment_delay = 0.0

    # What the killed worker left: the charge claimed, the payment intent, nothing applied.
    charge = await scope.get(AutopayCharge, charge_id)
    assert charge.status == "charging" and charge.payment is not None
    assert await scope.count(Allocation) == 0
    assert len(fake.payments) >= 1

    # A prompt second run leaves a live claim alone …
    assert await run_charge(scope, charge_id) == "charging"
    # … the re-delivered job (after the claim's lease) finishes it with the same key.
    later = datetime.now(UTC) + CLAIM_LEASE + timedelta(seconds=1)
    assert await run_charge(scope, charge_id, now=later) == "approved"
    assert await run_charge(scope, charge_id, now=later) == "approved"

    payments = await scope.objects(Payment)
    assert len(payments) == 1 and payments[0].status == "approved"
    assert await scope.count(Allocation) == 1
    assert (await scope.get(Invoice, invoice_id)).status == "paid"
    posts = fake.requests_to("POST", "/v1/payments")[posts_before:]
    keys: set[Any] = {r.headers.get("x-idempotency-key") for r in posts}
    assert len(posts) == 2 and len(keys) == 1, "the retry sent the same idempotency key"
    made = [p for p in fake.payments.values() if p["external_reference"] == str(payments[0].id)]
    assert len(made) == 1, "Mercado Pago made one payment"
