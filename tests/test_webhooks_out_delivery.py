"""Outbound webhooks end to end below the web layer: real services emit, a real HTTP receiver on
127.0.0.1 gets signed POSTs; retries on a simulated clock; rotation; SSRF rules."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from recaudo.core import config
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.collections.plans import PlanPolicy, record_promise
from recaudo.core.config import Settings
from recaudo.core.payments.ledger import record_staff_payment
from recaudo.core.tables import AuditEvent, OutboxJob, WebhookDelivery, WebhookEndpoint
from recaudo.core.webhooks import delivery as webhook_delivery
from recaudo.core.webhooks import endpoints, events
from recaudo.core.webhooks.endpoints import WebhookError, check_url
from recaudo.tenants.scoped import TenantScope
from tests.clock_support import drain_at
from tests.conftest import drain_jobs, make_tenant
from tests.webhook_receiver import Receiver, closed_port_url, receiver, verify


@pytest.fixture
def active_settings(settings: Settings) -> Iterator[Settings]:
    previous = config._active
    config.activate(settings)
    yield settings
    config._active = previous


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as box:
        yield box


async def _shop(slug: str = "tienda") -> tuple[TenantScope, int]:
    tenant = await make_tenant(slug)
    scope = TenantScope(int(tenant.id))
    customer = await create_customer(scope, NewCustomer("C-1", "Cliente Uno"), "MX")
    return scope, int(customer.id)


async def _invoice(scope: TenantScope, customer_id: int, number: str, amount: int) -> int:
    invoice = await create_invoice(
        scope,
        NewInvoice(
            customer_id,
            number,
            date.today(),
            date.today() + timedelta(days=10),
            "MXN",
            (NewLine("Servicio", 1, amount),),
        ),
    )
    return int(invoice.id)


def _events(box: Receiver) -> list[dict]:
    return [json.loads(r.body) for r in box.requests]


async def test_invoice_and_payment_reach_the_receiver_once_each_signed(
    active_settings: Settings, hook: Receiver
) -> None:
    scope, customer = await _shop()
    made = await endpoints.create_endpoint(scope, hook.url, ["*"], "ERP", "staff:1")
    invoice_id = await _invoice(scope, customer, "F-1", 10_000)
    await record_staff_payment(
        scope,
        customer_id=customer,
        currency="MXN",
        amount=10_000,
        method="banktransfer",
        reference="ref-1",
        invoice_ids=[invoice_id],
    )
    await drain_jobs()
    await drain_jobs()  # nothing left to send: a second pass sends nothing again

    received = _events(hook)
    types = sorted(e["type"] for e in received)
    assert types == ["invoice.created", "invoice.paid", "payment.approved"]
    assert len({e["id"] for e in received}) == 3
    for request, event in zip(hook.requests, received, strict=True):
        assert request.path == "/hooks/recaudo"
        assert verify(request.headers["recaudo-signature"], request.body, made.secret)
        stamp = int(request.headers["recaudo-signature"].split(",")[0].removeprefix("t="))
        assert abs(time.time() - stamp) < 60
        assert not verify(request.headers["recaudo-signature"], request.body, "whsec_other")
        assert request.headers["recaudo-event-id"] == event["id"]
        assert request.headers["recaudo-event-type"] == event["type"]
        assert request.headers["user-agent"].startswith("Recaudo-Webhooks/")
        assert request.headers["content-type"] == "application/json"
        assert event["tenant"] == "tienda"
        assert event["created"].endswith("Z")
    created = next(e for e in received if e["type"] == "invoice.created")
    assert created["data"]["number"] == "F-1"
    assert created["data"]["total"] == 10_000 and created["data"]["currency"] == "MXN"
    assert created["data"]["customer_number"] == "C-1"
    approved = next(e for e in received if e["type"] == "payment.approved")
    assert approved["data"]["amount"] == 10_000 and approved["data"]["status"] == "approved"

    rows = await scope.objects(WebhookDelivery)
    assert len(rows) == 3 and {r.status for r in rows} == {"delivered"}
    assert all(r.attempts == 1 and r.last_status_code == 200 for r in rows)
    assert all(r.response_excerpt == '{"ok":true}' for r in rows)

    # A re-run of a delivered job (a crash after the send, a duplicate message) sends nothing.
    assert await webhook_delivery.deliver(scope, int(rows[0].id)) == "skipped"
    assert len(hook.requests) == 3


async def test_endpoint_gets_only_the_events_it_chose(
    active_settings: Settings, hook: Receiver
) -> None:
    scope, customer = await _shop()
    await endpoints.create_endpoint(scope, hook.url, ["payment.approved"], "", "staff:1")
    invoice_id = await _invoice(scope, customer, "F-1", 5_000)
    await record_staff_payment(
        scope,
        customer_id=customer,
        currency="MXN",
        amount=2_000,
        method="banktransfer",
        reference="ref-1",
        invoice_ids=[invoice_id],
    )
    await drain_jobs()
    assert [e["type"] for e in _events(hook)] == ["payment.approved"]


async def test_no_endpoint_no_jobs(active_settings: Settings) -> None:
    scope, customer = await _shop()
    await _invoice(scope, customer, "F-1", 5_000)
    await drain_jobs()
    assert await scope.count(WebhookDelivery) == 0


async def test_disabled_endpoint_gets_nothing(active_settings: Settings, hook: Receiver) -> None:
    scope, customer = await _shop()
    made = await endpoints.create_endpoint(scope, hook.url, ["*"], "", "staff:1")
    await endpoints.set_active(scope, made.endpoint, False, "staff:1")
    await _invoice(scope, customer, "F-1", 5_000)
    await drain_jobs()
    assert hook.requests == []


async def test_promise_and_plan_events(active_settings: Settings, hook: Receiver) -> None:
    scope, customer = await _shop()
    await endpoints.create_endpoint(scope, hook.url, ["promise.created"], "", "staff:1")
    invoice_id = await _invoice(scope, customer, "F-1", 5_000)  # a promise is about money owed
    today = date.today()
    row = await record_promise(
        scope,
        customer,
        today,
        PlanPolicy(),
        reason="lost_income",
        promise_date=today + timedelta(days=3),
    )
    await drain_jobs()
    (event,) = _events(hook)
    assert event["type"] == "promise.created"
    assert event["data"]["id"] == int(row.id)
    assert event["data"]["promise_date"] == (today + timedelta(days=3)).isoformat()
    assert event["data"]["invoice_ids"] == [invoice_id] and event["data"]["amount"] == 5_000
    assert event["data"]["reason"] == "lost_income" and event["data"]["status"] == "pending"


async def test_receiver_down_retries_with_growing_waits_then_dead_after_three_days(
    active_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope, customer = await _shop()
    await endpoints.create_endpoint(scope, closed_port_url(), ["invoice.created"], "", "staff:1")
    clock = [datetime.now(UTC) + timedelta(seconds=5)]
    monkeypatch.setattr(endpoints, "now", lambda: clock[0])
    start = clock[0]
    await _invoice(scope, customer, "F-1", 5_000)
    await drain_at(clock[0])  # fan out + first attempt

    (row,) = await scope.objects(WebhookDelivery)
    assert row.status == "failed" and row.attempts == 1
    assert "ConnectError" in row.last_error or "refused" in row.last_error.lower()
    waits = []
    for _ in range(100):
        (row,) = await scope.objects(WebhookDelivery)
        if row.status == "dead":
            break
        job = await scope.objects(OutboxJob).where(OutboxJob.actor == "webhook_deliver").first()
        due = job.available_at if job.available_at.tzinfo else job.available_at.replace(tzinfo=UTC)
        waits.append(due - clock[0])
        clock[0] = due
        await drain_at(clock[0])
    assert row.status == "dead" and row.next_attempt_at is None
    assert row.attempts == webhook_delivery.MAX_ATTEMPTS
    assert waits[0] == timedelta(seconds=30) and waits[1] == timedelta(seconds=60)
    assert all(b >= a for a, b in itertools.pairwise(waits))
    assert max(waits) == timedelta(hours=6)
    assert timedelta(days=3) <= clock[0] - start < timedelta(days=3, hours=7)
    # Dead is final for the job: running the queue later sends nothing.
    assert await drain_at(clock[0] + timedelta(days=1)) == []


async def test_resend_sends_the_same_event_again(active_settings: Settings, hook: Receiver) -> None:
    scope, customer = await _shop()
    await endpoints.create_endpoint(scope, hook.url, ["invoice.created"], "", "staff:1")
    await _invoice(scope, customer, "F-1", 5_000)
    await drain_jobs()
    (first,) = await scope.objects(WebhookDelivery)
    again = await events.resend(scope, first, "staff:7")
    await drain_jobs()
    assert len(hook.requests) == 2
    assert hook.requests[0].body == hook.requests[1].body  # same id: the receiver can dedupe
    assert (await scope.get(WebhookDelivery, again.id)).status == "delivered"  # type: ignore[union-attr]
    audit = await scope.objects(AuditEvent).where(AuditEvent.action == "webhook.resent")
    assert len(audit) == 1 and audit[0].actor == "staff:7"


async def test_rotation_signs_with_both_secrets_for_a_day(
    active_settings: Settings, hook: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope, _customer = await _shop()
    made = await endpoints.create_endpoint(scope, hook.url, ["*"], "", "staff:1")
    endpoint = await scope.get(WebhookEndpoint, made.endpoint.id)
    assert endpoint is not None
    assert made.secret not in str(endpoint.secret)  # encrypted at rest
    new_secret = await endpoints.rotate_secret(scope, endpoint, "staff:1")
    assert new_secret != made.secret

    await events.ping(scope, endpoint, "staff:1")
    await drain_jobs()
    request = hook.requests[-1]
    header = request.headers["recaudo-signature"]
    assert header.count("v1=") == 2
    assert verify(header, request.body, new_secret) and verify(header, request.body, made.secret)

    later = datetime.now(UTC) + timedelta(hours=25)
    monkeypatch.setattr(endpoints, "now", lambda: later)
    endpoint = await scope.get(WebhookEndpoint, made.endpoint.id)
    assert endpoint is not None
    await events.ping(scope, endpoint, "staff:1")
    await drain_at(later)
    request = hook.requests[-1]
    header = request.headers["recaudo-signature"]
    assert header.count("v1=") == 1
    assert header.startswith(f"t={int(later.timestamp())},")
    # The simulated clock is a day ahead: allow for it in the freshness check.
    assert verify(header, request.body, new_secret, tolerance=10**6)
    assert not verify(header, request.body, made.secret, tolerance=10**6)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost/hook",
        "https://intranet/hook",
        "https://user:pw@example.com/hook",
        "ftp://example.com/hook",
        "",
    ],
)
def test_production_refuses_unsafe_urls(url: str) -> None:
    with pytest.raises(WebhookError, match=r"^url: "):
        check_url(url, development=False)


def test_production_accepts_public_https_and_development_allows_local() -> None:
    assert check_url(" https://erp.example.com/hooks ", development=False) == (
        "https://erp.example.com/hooks"
    )
    assert check_url("http://127.0.0.1:8080/x", development=True) == "http://127.0.0.1:8080/x"


async def test_production_delivery_refuses_a_host_resolving_inside(
    active_settings: Settings, hook: Receiver
) -> None:
    """A URL stored earlier (or a name whose DNS now points inside) is checked at every send."""
    scope, customer = await _shop()
    await endpoints.create_endpoint(scope, hook.url, ["invoice.created"], "", "staff:1")
    config.activate(Settings(env="production", secret_key=active_settings.secret_key))
    await _invoice(scope, customer, "F-1", 5_000)
    await drain_jobs()
    (row,) = await scope.objects(WebhookDelivery)
    assert row.status == "failed" and row.last_error.startswith("refused")
    assert hook.requests == []
    with pytest.raises(webhook_delivery.AddressRefused):
        await webhook_delivery.resolve("localhost", 443, development=False)


async def test_promises_broken_and_kept_are_announced_once_each(
    active_settings: Settings, hook: Receiver
) -> None:
    from recaudo.workers.promises import promises_check

    scope, customer = await _shop()
    await endpoints.create_endpoint(
        scope, hook.url, ["promise.kept", "promise.broken"], "", "staff:1"
    )
    invoice_id = await _invoice(scope, customer, "F-1", 5_000)
    today = date.today()
    first = await record_promise(
        scope,
        customer,
        today,
        PlanPolicy(),
        reason="lost_income",
        promise_date=today + timedelta(days=2),
    )
    await promises_check(None, {"now": datetime.now(UTC).isoformat()})  # not due yet
    await drain_jobs()
    assert hook.requests == []

    later = (datetime.now(UTC) + timedelta(days=4)).isoformat()
    await promises_check(None, {"now": later})
    await promises_check(None, {"now": later})  # hourly runs: still one event
    await drain_jobs()
    assert [e["type"] for e in _events(hook)] == ["promise.broken"]
    assert _events(hook)[0]["data"]["id"] == int(first.id)

    # A new promise, paid before its date: kept, announced once; the broken one stays broken.
    second = await record_promise(
        scope,
        customer,
        today,
        PlanPolicy(),
        reason="lost_income",
        promise_date=today + timedelta(days=5),
    )
    await record_staff_payment(
        scope,
        customer_id=customer,
        currency="MXN",
        amount=5_000,
        method="banktransfer",
        reference="late",
        invoice_ids=[invoice_id],
    )
    await promises_check(None, {"now": later})
    await promises_check(None, {"now": later})
    await drain_jobs()
    kinds = [e["type"] for e in _events(hook)]
    assert kinds == ["promise.broken", "promise.kept"]
    kept = _events(hook)[-1]
    assert kept["data"]["id"] == int(second.id) and kept["data"]["status"] == "kept"


async def test_old_finished_deliveries_are_pruned_hourly(
    active_settings: Settings, hook: Receiver
) -> None:
    from recaudo.workers.webhooks import KEEP_DELIVERIES, webhooks_hourly

    scope, customer = await _shop()
    await endpoints.create_endpoint(scope, hook.url, ["invoice.created"], "", "staff:1")
    await _invoice(scope, customer, "F-1", 5_000)
    await drain_jobs()
    assert await scope.count(WebhookDelivery) == 1
    await webhooks_hourly(None, {"now": datetime.now(UTC).isoformat()})
    assert await scope.count(WebhookDelivery) == 1  # recent: kept
    later = datetime.now(UTC) + KEEP_DELIVERIES + timedelta(days=1)
    await webhooks_hourly(None, {"now": later.isoformat()})
    assert await scope.count(WebhookDelivery) == 0


async def test_slow_redirecting_or_chatty_receivers(
    active_settings: Settings, hook: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A redirect is a failure (never followed), a slow answer times out, and only the first
    KiB of a response is kept."""
    scope, _customer = await _shop()
    made = await endpoints.create_endpoint(scope, hook.url, ["*"], "", "staff:1")

    async def attempt() -> WebhookDelivery:
        delivery = await events.ping(scope, made.endpoint, "staff:1")
        with pytest.raises(webhook_delivery.DeliveryFailed):
            await webhook_delivery.deliver(scope, int(delivery.id))
        row = await scope.get(WebhookDelivery, delivery.id)
        assert row is not None and row.status == "failed"
        return row

    hook.status, hook.headers = 302, {"location": "http://169.254.169.254/latest/meta-data"}
    redirected = await attempt()
    assert redirected.last_status_code == 302 and redirected.last_error == "HTTP 302"
    assert len(hook.requests) == 1  # the Location was not visited

    hook.status, hook.headers, hook.reply = 500, {}, b"x" * 5000
    chatty = await attempt()
    assert len(chatty.response_excerpt) == 1024 and chatty.last_status_code == 500

    monkeypatch.setattr(webhook_delivery, "TIMEOUT", 0.3)
    hook.status, hook.delay = 200, 1.0
    slow = await attempt()
    assert slow.last_status_code is None and slow.last_error.startswith("timeout")


async def test_plan_decisions_are_announced(active_settings: Settings, hook: Receiver) -> None:
    from recaudo.core.access.staff import create_staff
    from recaudo.core.casework.review.hardship import review_plan
    from recaudo.core.tables import PaymentPlan

    scope, customer = await _shop()
    await endpoints.create_endpoint(scope, hook.url, ["plan.created", "plan.cancelled"], "", "x")
    user = await create_staff(scope, "owner@tienda.example", "clave-de-prueba-123", "owner")
    plans = []
    for _ in range(2):
        plan = PaymentPlan(
            customer=customer,
            status="review",
            currency="MXN",
            total=50_000,
            down_payment=0,
            installments_count=3,
            invoice_ids=[],
            reason="lost_income",
        )
        await scope.add(plan)
        plans.append(int(plan.id))
    await review_plan(scope, user, plans[0], "approve", "")
    await review_plan(scope, user, plans[1], "decline", "")
    await review_plan(scope, user, plans[1], "decline", "")  # the same decision again: no event
    await drain_jobs()
    got = sorted((e["type"], e["data"]["id"], e["data"]["status"]) for e in _events(hook))
    assert got == [("plan.cancelled", plans[1], "cancelled"), ("plan.created", plans[0], "active")]


async def test_a_voided_invoice_is_announced(active_settings: Settings, hook: Receiver) -> None:
    from recaudo.core.billing.invoice_changes import void_invoice

    scope, customer = await _shop()
    await endpoints.create_endpoint(scope, hook.url, ["invoice.voided"], "", "staff:1")
    invoice_id = await _invoice(scope, customer, "F-1", 5_000)
    await void_invoice(scope, invoice_id, "Emitida por error", "staff:1")
    await drain_jobs()
    (event,) = _events(hook)
    assert event["type"] == "invoice.voided"
    assert event["data"]["id"] == invoice_id and event["data"]["status"] == "void"
