"""A refund reported while Mercado Pago's API is down still reaches the ledger, exactly once.

Issue 8 item 5: the status fetch used to give up after 8 tries (10.6 minutes), leaving the event
``received``, the payment ``approved`` and the invoices paid although the provider had refunded
the money; and the sweep only looked at pending payments. Time is simulated (``drain_at``), so
days of retries run in a second.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from recaudo.core.config import Settings
from recaudo.core.tables import Invoice, OutboxJob, Payment, PaymentTransition, ProviderEvent
from recaudo.tenants.scoped import TenantScope
from recaudo.workers.scheduler import (
    DAILY_FOR,
    EVENT_GRACE,
    REFUND_WINDOW,
    sweep_payments,
    sweep_provider_events,
)
from tests.clock_support import drain_at
from tests.conftest import drain_jobs
from tests.fakes.mercadopago import FakeMercadoPago
from tests.test_webhooks import MP_SECRET, _checkout, _tenant_with_invoices


@pytest.fixture
def fake_mp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMercadoPago]:
    with FakeMercadoPago() as server:
        monkeypatch.setenv("RECAUDO_MERCADOPAGO_API_BASE", server.url)
        yield server


OLD_WINDOW = timedelta(minutes=10, seconds=40)  # 8 tries of the old policy
TOTAL = 150_000 + 99_990


async def _deliver(client: httpx.AsyncClient, fake: FakeMercadoPago, payment_id: int) -> None:
    note = fake.signed_webhook(payment_id, MP_SECRET)
    response = await client.post(
        "/hooks/mercadopago/acme", params=note.query, content=note.body, headers=note.headers
    )
    assert response.status_code == 200


async def _paid(client: httpx.AsyncClient, settings: Settings, fake: FakeMercadoPago):
    """A Mercado Pago payment of both invoices, approved and applied through its webhook."""
    tenant, scope, customer, invoices = await _tenant_with_invoices(settings, "acme")
    payment, _ = await _checkout(settings, tenant, scope, customer, invoices, "mercadopago", "k")
    paid = fake.pay_preference(fake.last_preference_id, status="approved")
    await _deliver(client, fake, paid["id"])
    await drain_jobs()
    assert (await scope.get(Payment, payment.id)).status == "approved"
    return scope, payment, invoices, int(paid["id"])


async def _invoices(scope: TenantScope, invoices) -> list[tuple[str, int]]:
    rows = [await scope.get(Invoice, i.id) for i in invoices]
    return [(r.status, int(r.amount_applied)) for r in rows]


async def _refunds_recorded(scope: TenantScope, payment_id: int) -> int:
    return await scope.count(PaymentTransition).where(
        (PaymentTransition.payment == payment_id)
        & PaymentTransition.to_status.is_in(["refunded", "partially_refunded"])
    )


@pytest.mark.parametrize("outage", [503, "reset"])
async def test_a_refund_survives_an_outage_far_longer_than_the_old_retry_window(
    client: httpx.AsyncClient, settings: Settings, fake_mp: FakeMercadoPago, outage: int | str
) -> None:
    scope, payment, invoices, provider_id = await _paid(client, settings, fake_mp)
    assert await _invoices(scope, invoices) == [("paid", 150_000), ("paid", 99_990)]

    fake_mp.set_status(provider_id, "refunded", amount_refunded="2499.90")
    fake_mp.go_down(outage)
    await _deliver(client, fake_mp, provider_id)  # stored at once: the endpoint never calls out
    event = await scope.objects(ProviderEvent).order_by(ProviderEvent.id, ascending=False).first()
    job = (
        await scope.objects(OutboxJob).where(OutboxJob.key == f"provider_event:{event.id}").first()
    )

    start = now = datetime.now(UTC)
    tries: list[datetime] = []
    while now < start + timedelta(days=4):
        if await drain_at(now):
            tries.append(now)
        row = await scope.get(OutboxJob, job.id)
        assert row.status == "pending", f"gave up after {row.attempts} tries"
        now = max(now, row.available_at) + timedelta(seconds=1)

    assert len(tries) > 8, "kept trying well past the old 8 attempts"
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    assert max(gaps) <= timedelta(hours=1, seconds=2), "backoff is capped at an hour"
    assert tries[-1] - tries[0] > 100 * OLD_WINDOW
    # Throughout the outage nothing was applied (the provider could not be asked).
    assert (await scope.get(ProviderEvent, event.id)).status == "received"
    assert (await scope.get(Payment, payment.id)).status == "approved"

    fake_mp.come_back()
    assert set(await drain_at(now + timedelta(hours=1))) == {"done"}
    assert (await scope.get(ProviderEvent, event.id)).status == "processed"
    refunded = await scope.get(Payment, payment.id)
    assert refunded.status == "refunded" and refunded.amount_refunded == TOTAL
    assert await _invoices(scope, invoices) == [("open", 0), ("open", 0)]

    # The same notification again, and weeks of sweeps afterwards, change nothing.
    await _deliver(client, fake_mp, provider_id)
    later = now + timedelta(days=1)
    for _ in range(10):
        later += timedelta(days=3)
        await sweep_payments(later)
        await sweep_provider_events(later)
        await drain_at(later)
    assert await _refunds_recorded(scope, payment.id) == 1
    assert await _invoices(scope, invoices) == [("open", 0), ("open", 0)]


async def test_the_sweep_finds_a_refund_that_came_with_no_webhook(
    client: httpx.AsyncClient, settings: Settings, fake_mp: FakeMercadoPago
) -> None:
    scope, payment, invoices, provider_id = await _paid(client, settings, fake_mp)
    now = datetime.now(UTC)
    assert await sweep_payments(now) == 0, "just approved: nothing to re-check yet"

    fake_mp.set_status(provider_id, "approved", amount_refunded="999.90")  # partial, no webhook
    day1 = now + timedelta(days=1, minutes=1)
    assert await sweep_payments(day1) == 1
    assert await sweep_payments(day1) == 0, "one check per payment at a time"
    await drain_at(day1)
    partly = await scope.get(Payment, payment.id)
    assert partly.status == "partially_refunded" and partly.amount_refunded == 99_990
    # Newest allocation first: the second invoice reopens entirely.
    assert await _invoices(scope, invoices) == [("paid", 150_000), ("open", 0)]

    fake_mp.set_status(provider_id, "refunded", amount_refunded="2499.90")
    assert await sweep_payments(day1 + timedelta(hours=12)) == 0, "checked daily, not more"
    day2 = day1 + timedelta(days=1, minutes=1)
    assert await sweep_payments(day2) == 1
    await drain_at(day2)
    assert (await scope.get(Payment, payment.id)).status == "refunded"
    assert await _invoices(scope, invoices) == [("open", 0), ("open", 0)]
    assert await _refunds_recorded(scope, payment.id) == 2  # one partial, one full: no repeats
    assert await sweep_payments(day2 + timedelta(days=2)) == 0, "a refunded payment is final"


async def test_older_payments_are_rechecked_weekly_and_a_chargeback_is_found(
    client: httpx.AsyncClient, settings: Settings, fake_mp: FakeMercadoPago
) -> None:
    scope, payment, invoices, provider_id = await _paid(client, settings, fake_mp)
    now = datetime.now(UTC)
    created = now - DAILY_FOR - timedelta(days=5)
    await scope.update(Payment, {Payment.created_at: created}).where(Payment.id == payment.id)
    assert await sweep_payments(now) == 1, "never checked: due at once"
    await drain_at(now)
    assert await sweep_payments(now + timedelta(days=2)) == 0, "weekly after the first month"
    week = now + timedelta(days=7, minutes=1)
    assert await sweep_payments(week) == 1
    await drain_at(week)
    assert (await scope.get(Payment, payment.id)).status == "approved", "nothing changed"

    fake_mp.set_status(provider_id, "charged_back")  # the cardholder disputed it; no webhook
    two_weeks = week + timedelta(days=7, minutes=1)
    assert await sweep_payments(two_weeks) == 1
    await drain_at(two_weeks)
    assert (await scope.get(Payment, payment.id)).status == "charged_back"
    assert await _invoices(scope, invoices) == [("open", 0), ("open", 0)]
    assert await sweep_payments(two_weeks + timedelta(days=8)) == 0, "a chargeback is final"


@pytest.mark.parametrize("how", ["dead", "missing"])
async def test_a_stalled_event_gets_its_job_back(
    client: httpx.AsyncClient, settings: Settings, fake_mp: FakeMercadoPago, how: str
) -> None:
    tenant, scope, customer, invoices = await _tenant_with_invoices(settings, "acme")
    payment, _ = await _checkout(settings, tenant, scope, customer, invoices, "mercadopago", "k")
    paid = fake_mp.pay_preference(fake_mp.last_preference_id, status="approved")
    await drain_jobs()  # the invoices' own events
    await _deliver(client, fake_mp, paid["id"])
    event = await scope.objects(ProviderEvent).first()
    key = OutboxJob.key == f"provider_event:{event.id}"
    if how == "dead":  # e.g. given up under the old policy
        await scope.update(OutboxJob, {OutboxJob.status: "failed"}).where(key)
    else:  # e.g. lost in a restore
        await scope.delete(OutboxJob).where(key)
    assert await drain_jobs() == []

    now = datetime.now(UTC)
    assert await sweep_provider_events(now) == 0, "the webhook's own job may still be coming"
    later = now + EVENT_GRACE + timedelta(minutes=1)
    assert await sweep_provider_events(later) == 1
    assert await sweep_provider_events(later) == 0
    await drain_at(later)
    assert (await scope.get(ProviderEvent, event.id)).status == "processed"
    assert (await scope.get(Payment, payment.id)).status == "approved"
    assert await _invoices(scope, invoices) == [("paid", 150_000), ("paid", 99_990)]
    assert await sweep_provider_events(later + timedelta(hours=1)) == 0


async def test_a_discarded_event_job_stays_discarded(
    client: httpx.AsyncClient, settings: Settings, fake_mp: FakeMercadoPago
) -> None:
    from recaudo.workers.dead_jobs import discard

    tenant, scope, customer, invoices = await _tenant_with_invoices(settings, "acme")
    await _checkout(settings, tenant, scope, customer, invoices, "mercadopago", "k")
    paid = fake_mp.pay_preference(fake_mp.last_preference_id, status="approved")
    await drain_jobs()
    await _deliver(client, fake_mp, paid["id"])
    event = await scope.objects(ProviderEvent).first()
    key = OutboxJob.key == f"provider_event:{event.id}"
    await scope.update(OutboxJob, {OutboxJob.status: "failed"}).where(key)
    assert await discard(scope, "staff:1") == 1  # staff decided this one is moot
    later = datetime.now(UTC) + EVENT_GRACE + timedelta(days=1)
    assert await sweep_provider_events(later) == 0
    assert (await scope.objects(OutboxJob).where(key).first()).status == "discarded"


async def test_no_recheck_once_the_refund_window_has_closed(
    client: httpx.AsyncClient, settings: Settings, fake_mp: FakeMercadoPago
) -> None:
    scope, payment, _, _ = await _paid(client, settings, fake_mp)
    now = datetime.now(UTC)
    old = now - REFUND_WINDOW - timedelta(days=1)
    await scope.update(Payment, {Payment.created_at: old}).where(Payment.id == payment.id)
    assert await sweep_payments(now) == 0, "past the refund and chargeback window"
