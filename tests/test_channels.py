"""WhatsApp and SMS channels against fake providers on loopback, end to end through the app.

A reminder goes out as a WhatsApp template or an SMS with its link whole; the provider's signed
delivery-status callbacks move the message and its contact forward (never back); forged ones are
refused and change nothing; a permanent failure marks the contact failed and queues the dunning
engine's ``contact_failed`` once; a transient one is retried by the job with backoff and sent once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from recaudo.api import Attachment, Job, OutgoingMessage
from recaudo.core.config import Settings
from recaudo.core.messaging.delivery import record_delivery
from recaudo.core.messaging.notify import (
    TransientDeliveryError,
    seal,
    send_to_customer,
    unseal,
)
from recaudo.core.platform.switches import PluginSwitchError, enable_plugin, plugin_statuses
from recaudo.core.tables import ContactAttempt, Customer, NotificationLog, OutboxJob
from recaudo.plugins import sms as sms_plugin
from recaudo.plugins import whatsapp as wa_plugin
from recaudo.tenants.models import PluginSetting, Tenant
from recaudo.tenants.plugin_config import plugin_settings, set_plugin
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info
from recaudo.workers import jobs
from tests.clock_support import drain_at
from tests.conftest import make_tenant
from tests.fakes.sms import FakeSms
from tests.fakes.whatsapp import FakeWhatsApp

LINK = "http://testserver/t/acme/entrar/tok-123456"


@pytest.fixture
def wa() -> Iterator[FakeWhatsApp]:
    with FakeWhatsApp() as fake:
        yield fake


@pytest.fixture
def twilio() -> Iterator[FakeSms]:
    with FakeSms() as fake:
        yield fake


@dataclass
class World:
    scope: TenantScope
    tenant: Tenant
    customer: Customer
    settings: Settings
    client: httpx.AsyncClient

    async def send(self, channel: str, contact: int | None = None, **kwargs: Any) -> Any:
        message = OutgoingMessage(
            to="",
            subject="Recordatorio de pago",
            text=f"Hola Ana:\nTu factura F-1 por $1,000.00 vence hoy.\nPaga aquí: {LINK}\nGracias.",
            kind="reminder",
            language="es",
            template="reminder",
            params=("Ana", "$1,000.00", "F-1", LINK),
            link=LINK,
            idempotency_key=f"contact:{contact}" if contact else "",
        )
        return await send_to_customer(
            self.scope,
            tenant_info(self.tenant),
            self.customer,
            message,
            secret_key=self.settings.secret_key,
            only=(channel,),
            contact_id=contact,
            **kwargs,
        )

    async def contact(self, channel: str) -> int:
        now = datetime.now(UTC)
        (row,) = await self.scope.add(
            ContactAttempt(
                customer=self.customer.id,
                key=f"stage:{uuid.uuid4().hex}",
                channel=channel,
                status="sending",
                scheduled_for=now,
                created_at=now,
                updated_at=now,
            )
        )
        return int(row.id)

    async def mark_sent(self, contact: int, entry: NotificationLog) -> None:
        """What the dunning engine does after the channel accepted the message."""
        await self.scope.update(
            ContactAttempt,
            {
                ContactAttempt.status: "sent",
                ContactAttempt.notification: entry.id,
                ContactAttempt.provider_id: entry.provider_id,
            },
        ).where(ContactAttempt.id == contact)

    async def attempt(self, contact: int) -> ContactAttempt:
        row = await self.scope.get(ContactAttempt, contact)
        assert row is not None
        return row

    async def log(self, entry_id: int) -> NotificationLog:
        row = await self.scope.get(NotificationLog, entry_id)
        assert row is not None
        return row

    async def failed_jobs(self) -> list[OutboxJob]:
        return await self.scope.objects(OutboxJob).where(OutboxJob.actor == "contact_failed")


async def _world(
    settings: Settings,
    client: httpx.AsyncClient,
    wa: FakeWhatsApp,
    twilio: FakeSms,
    country: str = "MX",
) -> World:
    tenant = await make_tenant(f"acme-{uuid.uuid4().hex[:6]}", country)
    scope = TenantScope(int(tenant.id))
    await set_plugin(
        scope,
        "whatsapp",
        enabled=True,
        secret_key=settings.secret_key,
        settings={
            "phone_number_id": wa.phone_number_id,
            "access_token": wa.access_token,
            "app_secret": wa.app_secret,
            "verify_token": "verifica-esto",
            "api_base": wa.url,
        },
    )
    await set_plugin(
        scope,
        "sms",
        enabled=True,
        secret_key=settings.secret_key,
        settings={
            "account_sid": twilio.account_sid,
            "auth_token": twilio.auth_token,
            "from_number": "+15005550006",
            "api_base": twilio.url,
        },
    )
    await set_plugin(scope, "email", enabled=True)
    (customer,) = await scope.add(
        Customer(
            number="C-1",
            name="Ana",
            email="ana@example.com",
            phone="55 1234 5678",
            preferred_channel="whatsapp",
            created_at=datetime.now(UTC),
        )
    )
    return World(scope, tenant, customer, settings, client)


@pytest.fixture
async def world(
    settings: Settings, client: httpx.AsyncClient, wa: FakeWhatsApp, twilio: FakeSms
) -> World:
    return await _world(settings, client, wa, twilio)


def wa_url(world: World) -> str:
    return f"/hooks/whatsapp/{world.tenant.slug}/status"


# --- WhatsApp ---------------------------------------------------------------------------------


async def test_a_reminder_goes_out_as_the_tenants_template(world: World, wa: FakeWhatsApp) -> None:
    contact = await world.contact("whatsapp")
    entry = await world.send("whatsapp", contact)
    assert entry is not None and entry.status == "sent" and entry.channel == "whatsapp"
    (request,) = wa.requests
    assert request.path == f"/v21.0/{wa.phone_number_id}/messages"
    assert request.headers["authorization"] == f"Bearer {wa.access_token}"
    body = request.json()
    assert body["to"] == "525512345678"  # national number, tenant's country code, digits only
    assert body["template"]["name"] == "recordatorio_pago"
    assert body["template"]["language"] == {"code": "es_MX"}
    params = [p["text"] for p in body["template"]["components"][0]["parameters"]]
    assert params == ["Ana", "$1,000.00", "F-1", LINK]
    assert body["biz_opaque_callback_data"] == f"contact:{contact}"  # echoed in its webhooks
    assert entry.provider_id == wa.sent[0]["id"]


async def test_the_tenant_names_its_own_templates(world: World, wa: FakeWhatsApp) -> None:
    await set_plugin(
        world.scope,
        "whatsapp",
        enabled=True,
        secret_key=world.settings.secret_key,
        settings={
            **await plugin_settings(world.scope, "whatsapp", world.settings.secret_key),
            "template_reminder": "cobro_amable_v2",
        },
    )
    await world.send("whatsapp")
    assert wa.requests[-1].json()["template"]["name"] == "cobro_amable_v2"
    # The dunning engine names a template per stage; the tenant renames the ones it made.
    stored = await plugin_settings(world.scope, "whatsapp", world.settings.secret_key)
    await set_plugin(
        world.scope,
        "whatsapp",
        enabled=True,
        secret_key=world.settings.secret_key,
        settings={**stored, "template_names": "recordatorio_3 = cobro_3\nmalo sin igual"},
    )
    for template, expected in (
        ("recordatorio_3", "cobro_3"),
        ("recordatorio_10", "recordatorio_10"),
    ):
        message = OutgoingMessage(to="", subject="s", text="t", kind="reminder", template=template)
        await send_to_customer(
            world.scope,
            tenant_info(world.tenant),
            world.customer,
            message,
            secret_key=world.settings.secret_key,
            only=("whatsapp",),
        )
        assert wa.requests[-1].json()["template"]["name"] == expected


async def test_a_wrong_token_is_refused_by_the_provider_and_not_retried(
    world: World, wa: FakeWhatsApp
) -> None:
    wa.access_token = "another-token"
    entry = await world.send("whatsapp", raise_transient=True)
    assert entry is not None and entry.status == "failed"
    assert "190" in entry.error and wa.sent == []


async def test_delivery_statuses_move_forward_only(world: World, wa: FakeWhatsApp) -> None:
    contact = await world.contact("whatsapp")
    entry = await world.send("whatsapp", contact)
    await world.mark_sent(contact, entry)
    wamid = entry.provider_id
    for status in ("sent", "read", "delivered", "failed", "delivered"):
        response = await wa.send_status(world.client, wa_url(world), wamid, status)
        assert response.status_code == 200, response.text
    # Late or repeated statuses (delivered after read) never move the message back.
    assert (await world.log(entry.id)).delivery_status == "read"
    assert (await world.attempt(contact)).status == "delivered"
    assert await world.failed_jobs() == []


async def test_forged_or_unsigned_callbacks_are_refused_and_change_nothing(
    world: World, wa: FakeWhatsApp
) -> None:
    entry = await world.send("whatsapp")
    forged = await wa.send_status(
        world.client, wa_url(world), entry.provider_id, "failed", error_code=131026, secret="x"
    )
    assert forged.status_code == 401
    body, _ = wa.status_webhook(entry.provider_id, "failed", error_code=131026)
    unsigned = await world.client.post(
        wa_url(world), content=body, headers={"content-type": "application/json"}
    )
    assert unsigned.status_code == 401
    # A genuine signature over a different body does not carry over to a tampered one.
    _, headers = wa.status_webhook(entry.provider_id, "delivered")
    tampered = await world.client.post(wa_url(world), content=body, headers=headers)
    assert tampered.status_code == 401
    assert (await world.log(entry.id)).delivery_status == ""
    malformed = b"{not json"
    _, signed_headers = wa.status_webhook("x", "sent")
    signed_headers["x-hub-signature-256"] = (
        "sha256=" + hmac.new(wa.app_secret.encode(), malformed, hashlib.sha256).hexdigest()
    )
    bad = await world.client.post(wa_url(world), content=malformed, headers=signed_headers)
    assert bad.status_code == 400
    # Signed but of an odd shape: acknowledged, nothing recorded, never a 500.
    for odd in (
        b'{"entry": [1, {"changes": "x"}, {"changes": [{"value": {"statuses": [7]}}]}]}',
        b'{"entry": [{"changes": [{"value": {"statuses": [{"id": 5, "status": "failed",'
        b' "errors": 5}]}}]}]}',
        b"[[[[]]]]",
        b"[" * 5000 + b"]" * 5000,
    ):
        signed_headers["x-hub-signature-256"] = (
            "sha256=" + hmac.new(wa.app_secret.encode(), odd, hashlib.sha256).hexdigest()
        )
        answer = await world.client.post(wa_url(world), content=odd, headers=signed_headers)
        assert answer.status_code in (200, 400), (odd[:40], answer.text)
    assert (await world.log(entry.id)).delivery_status == ""


async def test_a_permanent_failure_fails_the_contact_and_queues_the_fallback_once(
    world: World, wa: FakeWhatsApp
) -> None:
    contact = await world.contact("whatsapp")
    entry = await world.send("whatsapp", contact)
    await world.mark_sent(contact, entry)
    for _ in range(2):  # Meta repeats webhooks
        response = await wa.send_status(
            world.client, wa_url(world), entry.provider_id, "failed", error_code=131026
        )
        assert response.status_code == 200
    log = await world.log(entry.id)
    assert log.delivery_status == "failed" and "131026" in log.error
    attempt = await world.attempt(contact)
    assert attempt.status == "failed" and "131026" in attempt.error
    (job,) = await world.failed_jobs()
    payload = job.payload if isinstance(job.payload, dict) else json.loads(job.payload)
    assert payload["contact_id"] == contact and payload["permanent"] is True
    assert job.key == f"contact_failed:{contact}"


async def test_meta_subscription_check_needs_the_verify_token(world: World) -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    ok = await world.client.get(
        wa_url(world), params={**query, "hub.verify_token": "verifica-esto"}
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = await world.client.get(wa_url(world), params={**query, "hub.verify_token": "otro"})
    assert wrong.status_code == 403 and "1158201444" not in wrong.text


async def test_callbacks_reach_only_their_own_tenant(
    world: World, wa: FakeWhatsApp, twilio: FakeSms
) -> None:
    entry = await world.send("whatsapp")
    other = await _world(world.settings, world.client, wa, twilio, "CO")
    # Same app secret, another tenant's URL: its scope has no such message.
    response = await wa.send_status(
        other.client, wa_url(other), entry.provider_id, "failed", error_code=131026
    )
    assert response.status_code == 200 and response.json()["changed"] == 0
    assert (await world.log(entry.id)).delivery_status == ""
    sms = await world.send("sms")
    other_url = f"http://testserver/hooks/sms/{other.tenant.slug}/status"
    crossed = await twilio.send_status(
        other.client, sms.provider_id, "undelivered", error_code=21610, url=other_url
    )
    assert crossed.status_code == 200 and crossed.json()["changed"] == 0
    assert (await world.log(sms.id)).delivery_status == ""
    await set_plugin(other.scope, "whatsapp", enabled=False)
    gone = await wa.send_status(other.client, wa_url(other), entry.provider_id, "delivered")
    assert gone.status_code == 404


# --- SMS ----------------------------------------------------------------------------------------


async def test_an_sms_is_short_plain_text_with_its_link_whole(
    world: World, twilio: FakeSms
) -> None:
    long_text = "Hola Ana, " + "tu cuenta tiene facturas pendientes. " * 20 + LINK
    message = OutgoingMessage(to="", subject="Aviso", text=long_text, kind="notice")
    entry = await send_to_customer(
        world.scope,
        tenant_info(world.tenant),
        world.customer,
        message,
        secret_key=world.settings.secret_key,
        only=("sms",),
    )
    assert entry is not None and entry.status == "sent"
    (request,) = twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
    form = request.form()
    assert form["To"] == "+525512345678" and form["From"] == "+15005550006"
    assert len(form["Body"]) <= sms_plugin.MAX_BODY and form["Body"].endswith(" " + LINK)
    assert "\n" not in form["Body"]
    assert form["StatusCallback"] == f"http://testserver/hooks/sms/{world.tenant.slug}/status"
    assert entry.provider_id == twilio.sent[0]["sid"]


async def test_the_sms_provider_checks_basic_auth(world: World, twilio: FakeSms) -> None:
    twilio.auth_token = "rotated"
    entry = await world.send("sms")
    assert entry is not None and entry.status == "failed" and "20003" in entry.error
    assert twilio.sent == []


async def test_sms_callbacks_are_verified_and_recorded(world: World, twilio: FakeSms) -> None:
    contact = await world.contact("sms")
    entry = await world.send("sms", contact)
    await world.mark_sent(contact, entry)
    forged = await twilio.send_status(world.client, entry.provider_id, "failed", token="nope")
    assert forged.status_code == 401
    assert (await world.attempt(contact)).status == "sent"
    ok = await twilio.send_status(world.client, entry.provider_id, "delivered")
    assert ok.status_code == 200, ok.text
    assert (await world.log(entry.id)).delivery_status == "delivered"
    assert (await world.attempt(contact)).status == "delivered"
    late = await twilio.send_status(world.client, entry.provider_id, "sent")
    assert late.status_code == 200
    assert (await world.log(entry.id)).delivery_status == "delivered"


async def test_an_opted_out_sms_fails_the_contact_for_good(world: World, twilio: FakeSms) -> None:
    contact = await world.contact("sms")
    entry = await world.send("sms", contact)
    await world.mark_sent(contact, entry)
    response = await twilio.send_status(
        world.client, entry.provider_id, "undelivered", error_code=21610
    )
    assert response.status_code == 200
    assert (await world.attempt(contact)).status == "failed"
    (job,) = await world.failed_jobs()
    payload = job.payload if isinstance(job.payload, dict) else json.loads(job.payload)
    assert payload == {
        "contact_id": contact,
        "permanent": True,
        "error": "SMS (21610): undelivered",
    }


async def test_a_callback_signed_for_another_url_is_refused(world: World, twilio: FakeSms) -> None:
    """The signature covers the URL we configured: one signed for another host does not pass."""
    entry = await world.send("sms")
    url, body, _ = twilio.status_callback(entry.provider_id, "delivered")
    _, _, other = twilio.status_callback(
        entry.provider_id, "delivered", url=url.replace("testserver", "evil.example")
    )
    refused = await world.client.post(url, content=body, headers=other)
    assert refused.status_code == 401
    assert (await world.log(entry.id)).delivery_status == ""


# --- transient failures: retried by the job, sent once -----------------------------------------


async def test_a_transient_failure_is_retried_with_backoff_and_sent_once(
    world: World, wa: FakeWhatsApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact = await world.contact("whatsapp")

    async def send_reminder(scope: TenantScope, payload: dict[str, Any]) -> None:
        entry = await world.send("whatsapp", int(payload["contact_id"]), raise_transient=True)
        assert entry is not None
        await world.mark_sent(int(payload["contact_id"]), entry)

    monkeypatch.setitem(jobs._registered, "test_reminder", Job("test_reminder", send_reminder))
    from recaudo.core.common import outbox

    await outbox.enqueue(world.scope, "test_reminder", {"contact_id": contact}, key="r:1")
    wa.fail_next(503)
    wa.fail_next(429, 130429)
    now = datetime.now(UTC)
    assert await drain_at(now) == ["pending"]
    job = await world.scope.objects(OutboxJob).where(OutboxJob.key == "r:1").first()
    assert job.attempts == 1 and "TransientDeliveryError" in job.last_error
    assert await drain_at(now) == []  # backoff: not due yet
    assert await drain_at(now + timedelta(minutes=1)) == ["pending"]
    assert await drain_at(now + timedelta(minutes=5)) == ["done"]
    job = await world.scope.objects(OutboxJob).where(OutboxJob.key == "r:1").first()
    assert job.attempts == 3
    assert len(wa.sent) == 1  # delivered once
    sent = await world.scope.objects(NotificationLog).where(NotificationLog.channel == "whatsapp")
    assert [row.status for row in sent] == ["sent"]
    assert (await world.attempt(contact)).status == "sent"


async def test_without_raise_transient_a_down_channel_gives_way_to_the_next(
    world: World, wa: FakeWhatsApp
) -> None:
    wa.fail_next(500)
    message = OutgoingMessage(
        to="", subject="Tu recibo", text="Gracias por tu pago", kind="receipt"
    )
    entry = await send_to_customer(
        world.scope,
        tenant_info(world.tenant),
        world.customer,
        message,
        secret_key=world.settings.secret_key,
        prefer=("whatsapp", "email"),
    )
    assert entry is not None and entry.channel == "email" and entry.status == "sent"
    with pytest.raises(TransientDeliveryError):
        wa.fail_next(502)
        await world.send("whatsapp", raise_transient=True)


# --- configuration ------------------------------------------------------------------------------


async def test_secrets_are_encrypted_at_rest(world: World, wa: FakeWhatsApp) -> None:
    for plugin, secrets in (
        ("whatsapp", (wa.access_token, wa.app_secret, "verifica-esto")),
        ("sms", ("fake-auth-token",)),
    ):
        row = await world.scope.objects(PluginSetting).where(PluginSetting.plugin == plugin).first()
        raw = str(row.settings)
        assert all(secret not in raw for secret in secrets), plugin
        values = await plugin_settings(world.scope, plugin, world.settings.secret_key)
        assert all(secret in values.values() for secret in secrets)


async def test_production_refuses_a_channel_without_credentials(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await make_tenant(f"prod-{uuid.uuid4().hex[:6]}")
    scope = TenantScope(int(tenant.id))
    monkeypatch.setattr(wa_plugin._channel, "development", False)
    monkeypatch.setattr(sms_plugin._channel, "development", False)
    for plugin in ("whatsapp", "sms"):
        with pytest.raises(PluginSwitchError, match="obligatorio"):
            await enable_plugin(scope, tenant_info(tenant), plugin, {}, world.settings.secret_key)
    statuses = {s.name: s for s in await plugin_statuses(scope, world.settings.secret_key)}
    missing = statuses["whatsapp"].missing
    assert not statuses["whatsapp"].configured
    assert "Token de acceso permanente (access_token): obligatorio" in missing


async def test_development_records_without_credentials(world: World, wa: FakeWhatsApp) -> None:
    tenant = await make_tenant(f"dev-{uuid.uuid4().hex[:6]}")
    scope = TenantScope(int(tenant.id))
    await enable_plugin(scope, tenant_info(tenant), "whatsapp", {}, world.settings.secret_key)
    (customer,) = await scope.add(
        Customer(number="D", name="D", phone="+573001234567", created_at=datetime.now(UTC))
    )
    message = OutgoingMessage(to="", subject="Hola", text=f"Entra: {LINK}", kind="login_link")
    entry = await send_to_customer(
        scope,
        tenant_info(tenant),
        customer,
        message,
        secret_key=world.settings.secret_key,
        secrets=(LINK,),
        keep_secrets_in_log=True,
    )
    assert entry is not None and entry.channel == "whatsapp" and entry.status == "sent"
    assert entry.provider_id.startswith("dev-outbox-") and LINK in entry.body_text
    assert wa.requests == []  # nothing left the machine


async def test_waiting_messages_keep_their_attachments() -> None:
    message = OutgoingMessage(
        to="a@b.c",
        subject="Carta",
        text="Adjunto",
        params=("x",),
        attachments=(Attachment("carta.pdf", "application/pdf", b"%PDF-1.7\x00\xff"),),
    )
    assert unseal(seal(message)) == message


async def test_a_waiting_message_stays_waiting_through_an_outage(
    world: World, wa: FakeWhatsApp
) -> None:
    """A message that waited for its channel is not marked failed by a provider outage."""
    from recaudo.core.messaging.notify import deliver_waiting
    from recaudo.tenants.plugin_config import encrypt

    message = OutgoingMessage(to="5215512345678", subject="Aviso", text="Hola", kind="notice")
    (row,) = await world.scope.add(
        NotificationLog(
            channel="whatsapp",
            recipient=message.to,
            status="waiting",
            sealed=encrypt(seal(message), world.settings.secret_key),
            created_at=datetime.now(UTC),
        )
    )
    wa.fail_next(503)
    assert await deliver_waiting(world.settings.secret_key) == 0
    assert (await world.log(row.id)).status == "waiting"
    assert await deliver_waiting(world.settings.secret_key) == 1
    after = await world.log(row.id)
    assert after.status == "sent" and after.sealed == "" and len(wa.sent) == 1
    assert after.provider_id == wa.sent[0]["id"]  # so its delivery callbacks find it


async def test_record_delivery_ignores_unknown_ids_and_statuses(world: World) -> None:
    assert not (await record_delivery(world.scope, "whatsapp", "wamid.nope", "delivered")).found
    entry = await world.send("whatsapp")
    update = await record_delivery(world.scope, "whatsapp", entry.provider_id, "exploded")
    assert not update.changed
    assert (
        await record_delivery(world.scope, "sms", entry.provider_id, "delivered")
    ).found is False


def test_both_channels_are_listed_as_plugins(tmp_path: Any) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "recaudo.cli", "plugins", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "RECAUDO_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
            "RECAUDO_VAR_DIR": str(tmp_path),
            "RECAUDO_ENV": "development",
        },
    )
    assert out.returncode == 0, out.stderr
    by_name = {p["name"]: p for p in json.loads(out.stdout)["plugins"]}
    assert "notification_channels:whatsapp" in by_name["whatsapp"]["provides"]
    assert "notification_channels:sms" in by_name["sms"]["provides"]
    assert by_name["whatsapp"]["status"] == by_name["sms"]["status"] == "ok"
