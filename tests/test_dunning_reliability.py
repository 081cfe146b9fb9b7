"""Reminders survive crashes and outages: a worker killed mid-send, a broker that is down.

The channel here is a fake provider that keeps every message it receives in a file (one JSON line
each) and, like providers that accept an idempotency key, delivers a key once. The worker is a
real process running the ``send_contact`` job; ``kill -9`` stops it at the worst moments.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from recaudo.core import config
from recaudo.core.billing.customers import NewCustomer, create_customer
from recaudo.core.billing.invoices import NewInvoice, NewLine, create_invoice
from recaudo.core.collections import reminders
from recaudo.core.config import Settings
from recaudo.core.hookspecs import hookimpl
from recaudo.core.messaging.preferences import save_consents
from recaudo.core.platform.extensions import NotificationChannel
from recaudo.core.platform.host import PluginHost
from recaudo.core.platform.values import DeliveryResult, OutgoingMessage
from recaudo.core.tables import ContactAttempt, OutboxJob
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope
from recaudo.workers.jobs import run_job
from recaudo.workers.relay import BrokerUnavailable, relay_once
from tests.conftest import make_tenant

ROOT = Path(__file__).resolve().parent.parent
BOGOTA = ZoneInfo("America/Bogota")
WEDNESDAY = datetime(2026, 12, 9, 10, tzinfo=BOGOTA)
SECRET = "test-secret-" + "s" * 40


class SinkChannel(NotificationChannel):
    """A provider that records what it receives in ``path`` (and honours idempotency keys)."""

    name = "email"
    label = "Proveedor de prueba"
    address_kind = "email"

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, ctx: Any, message: OutgoingMessage) -> DeliveryResult:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"key": message.idempotency_key, "to": message.to}) + "\n")
        return DeliveryResult(ok=True, provider_id="p-" + message.idempotency_key[-12:])


class Sink:
    def __init__(self, path: Path) -> None:
        self.path = path

    @hookimpl
    def recaudo_notification_channels(self) -> list[NotificationChannel]:
        return [SinkChannel(self.path)]


def received(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["key"] for line in path.read_text().splitlines() if line]


# The worker process: the same sink channel, but it stops (blocks) before or after the provider
# got the message, as a worker does when it is killed at that moment.
WORKER = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from pathlib import Path
    from recaudo.core import config, db
    from recaudo.core.config import Settings
    from recaudo.core.collections import reminders
    from recaudo.core.platform.extensions import NotificationChannel
    from recaudo.core.hookspecs import hookimpl
    from recaudo.core.platform.host import PluginHost, set_host
    from recaudo.core.platform.values import DeliveryResult
    from recaudo.tenants.scoped import TenantScope

    url, tenant, contact, sink, marker, when, secret, moment = sys.argv[1:9]

    class Blocking(NotificationChannel):
        name = "email"
        label = "x"
        address_kind = "email"

        async def send(self, ctx, message):
            if when == "after":
                with open(sink, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"key": message.idempotency_key, "to": message.to}) + "\\n")
            Path(marker).write_text("in send")
            time.sleep(3600)  # killed here
            return DeliveryResult(ok=True)

    class Plugin:
        @hookimpl
        def recaudo_notification_channels(self):
            return [Blocking()]

    async def main():
        host = PluginHost()
        host.load_entry_points()
        host.register(Plugin(), name="sinkmail", source="test")
        set_host(host)
        config.activate(Settings(env="development", database_url=url, secret_key=secret,
                                 base_url="http://testserver"))
        reminders.clock = lambda: __import__("datetime").datetime.fromisoformat(moment)
        db.configure(url)
        await db.start_pool()
        await reminders.send_contact(TenantScope(int(tenant)), {"contact_id": int(contact)})

    asyncio.run(main())
    """
)


@pytest.fixture
async def world(
    database: str, host: PluginHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    sink = tmp_path / "sink.jsonl"
    host.register(Sink(sink), name="sinkmail", source="test")
    config.activate(
        Settings(env="development", database_url=database, secret_key=SECRET, base_url="http://t")
    )
    tenant = await make_tenant("clinica", "CO", "COP")
    scope = TenantScope(int(tenant.id))
    await set_plugin(scope, "sinkmail", enabled=True)
    customer = await create_customer(
        scope, NewCustomer("C1", "Cliente Uno", "", "CO", "uno@example.com", ""), "CO"
    )
    await save_consents(scope, int(customer.id), ["email"], "", "")
    due = date(2026, 12, 6)
    await create_invoice(
        scope,
        NewInvoice(
            customer_id=int(customer.id),
            number="F-1",
            issue_date=due - timedelta(days=30),
            due_date=due,
            currency="COP",
            lines=(NewLine("Consulta", 1, 10_000_000),),
            tax=0,
        ),
    )
    clock = {"now": WEDNESDAY}
    monkeypatch.setattr(reminders, "clock", lambda: clock["now"])
    return {"scope": scope, "sink": sink, "clock": clock, "url": database, "tmp": tmp_path}


def _kill_mid_send(world: dict[str, Any], contact_id: int, when: str) -> None:
    marker = world["tmp"] / f"in-send-{when}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            WORKER,
            world["url"],
            str(world["scope"].tenant_id),
            str(contact_id),
            str(world["sink"]),
            str(marker),
            when,
            SECRET,
            WEDNESDAY.isoformat(),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(1200):  # wait for the worker to be inside the provider call
            if marker.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        output = proc.stdout.read() if proc.stdout and proc.poll() is not None else b""
        assert marker.exists(), output.decode()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("when", ["before", "after"])
async def test_a_worker_killed_while_sending_does_not_send_twice(
    world: dict[str, Any], when: str
) -> None:
    """Killed before the provider got it: sent once later. Killed after the provider accepted
    it but before we recorded that: the retry carries the same idempotency key, so the provider
    delivers it once (the documented at-least-once window)."""
    scope: TenantScope = world["scope"]
    [contact_id] = await reminders.run_sweep(scope, WEDNESDAY)
    _kill_mid_send(world, contact_id, when)
    contact = await scope.get(ContactAttempt, contact_id)
    assert contact is not None and contact.status == "sending", "recorded before sending"

    # The job runs again at once (the broker re-delivers): the claim is not stale, nothing goes.
    await reminders.send_contact(scope, {"contact_id": contact_id})
    assert len(received(world["sink"])) == (1 if when == "after" else 0)

    # After the claim went stale, another worker sends it.
    world["clock"]["now"] = WEDNESDAY + reminders.CLAIM_STALE + timedelta(minutes=1)
    await reminders.send_contact(scope, {"contact_id": contact_id})
    await reminders.send_contact(scope, {"contact_id": contact_id})
    keys = received(world["sink"])
    assert len(set(keys)) == 1, "one reminder reached the customer"
    assert len(keys) == (2 if when == "after" else 1)  # the provider deduplicates by key
    contact = await scope.get(ContactAttempt, contact_id)
    assert contact is not None and contact.status == "sent"


class FlakyBroker:
    def __init__(self) -> None:
        self.up = False
        self.sent: list[int] = []

    def send(self, job_id: int, _actor: str = "") -> None:
        if not self.up:
            raise ConnectionError("Connection refused")
        self.sent.append(job_id)


async def test_broker_down_loses_nothing_and_sends_later(world: dict[str, Any]) -> None:
    scope: TenantScope = world["scope"]
    [contact_id] = await reminders.run_sweep(scope, WEDNESDAY)
    broker = FlakyBroker()
    for minutes in (0, 5, 30, 120):
        with pytest.raises(BrokerUnavailable):
            await relay_once(broker.send, now=WEDNESDAY + timedelta(minutes=minutes))
    assert received(world["sink"]) == []
    job = await scope.objects(OutboxJob).where(OutboxJob.actor == "send_contact").first()
    assert job is not None and job.status == "pending"
    contact = await scope.get(ContactAttempt, contact_id)
    assert contact is not None and contact.status == "planned"

    broker.up = True
    later = WEDNESDAY + timedelta(hours=3)
    world["clock"]["now"] = later
    await relay_once(broker.send, now=later)
    for job_id in broker.sent:
        await run_job(job_id, now=later)
    assert len(received(world["sink"])) == 1
    contact = await scope.get(ContactAttempt, contact_id)
    assert contact is not None and contact.status == "sent"
    assert contact.sent_at is not None and contact.sent_at.astimezone(UTC) == later.astimezone(UTC)
