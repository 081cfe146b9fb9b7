"""The reminders back office (policy editor with preview, contact log, pending calls), contacts in
the staff customer timeline and the customer's own message history in the portal.

Contact attempts are written straight into ``contact_attempt`` (the engine that plans them is
built separately); policies are seeded by the editor itself on first visit.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from recaudo.core.collections.policies import ensure_default_policy
from recaudo.core.tables import (
    AuditEvent,
    ContactAttempt,
    Customer,
    CustomerNote,
    DunningPolicy,
    DunningStage,
    NotificationLog,
)
from recaudo.tenants.scoped import TenantScope
from tests.portal_support import login as portal_login
from tests.portal_support import open_env
from tests.test_portal_a11y import duplicate_ids
from tests.test_staff_http import Side, World, post, signed_in, world  # noqa: F401


async def stage_of(scope: TenantScope, offset: int) -> dict[str, Any]:
    policy = await ensure_default_policy(scope)
    rows = await scope.select(DunningStage).where(
        (DunningStage.policy == policy) & (DunningStage.offset_days == offset)
    )
    assert rows
    return rows[0]


async def stage_rows(scope: TenantScope) -> list[dict[str, Any]]:
    return list(await scope.select(DunningStage).order_by(DunningStage.id))


async def reminder_events(scope: TenantScope) -> list[str]:
    rows = await scope.select(AuditEvent, AuditEvent.action)
    return [str(r["action"]) for r in rows if str(r["action"]).startswith("reminders.")]


def stage_form(stage: dict[str, Any], **changes: str) -> dict[str, str]:
    """The editor's fields for a stored default stage, with ``changes``."""
    from recaudo.core.collections.policies import _stage
    from recaudo.core.collections.policy_edit import form_values

    return {**form_values(_stage(stage)), **changes}


async def contact(scope: TenantScope, customer: int, key: str, **fields: Any) -> int:
    now = datetime.now(UTC)
    row = ContactAttempt(
        customer=customer,
        key=key,
        scheduled_for=fields.pop("scheduled_for", now),
        created_at=now,
        updated_at=now,
        **fields,
    )
    await scope.add(row)
    return int(row.id)


# --- the policy editor --------------------------------------------------------------------------


async def test_owner_edits_a_stage_and_it_is_audited(world: World) -> None:  # noqa: F811
    a = world.a
    stage = await stage_of(a.scope, 3)
    async with signed_in(world, a, "owner") as owner:
        page = await owner.get(f"{a.staff}/recordatorios", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert "Política general" in page.text and "Recordatorio de atraso" in page.text
        values = stage_form(
            stage,
            name="Atraso leve",
            offset_days="4",
            channel_1="sms",
            channel_2="email",
            channel_3="",
            action="call",
            es_tu_body="Hola {nombre}, debes {total}.",
        )
        values.pop("fallback")
        response = await post(owner, a, f"{a.staff}/recordatorios/etapas/{stage['id']}", values)
        assert response.status_code == 303, response.text
    saved = (await a.scope.select(DunningStage).where(DunningStage.id == stage["id"]))[0]
    assert saved["name"] == "Atraso leve" and saved["offset_days"] == 4
    assert saved["action"] == "call" and not saved["fallback"]
    from recaudo.core.common.jsonfield import loads

    assert loads(saved["channels"], []) == ["sms", "email"]
    assert loads(saved["templates"], {})["es"]["tu"]["body"] == "Hola {nombre}, debes {total}."
    events = await a.scope.select(AuditEvent).where(AuditEvent.action == "reminders.stage_updated")
    assert [e["subject"] for e in events] == [f"dunning_stage:{stage['id']}"]


async def test_bad_stage_input_is_refused_and_changes_nothing(world: World) -> None:  # noqa: F811
    a = world.a
    stage = await stage_of(a.scope, 3)
    url = f"{a.staff}/recordatorios/etapas/{stage['id']}"
    bad = {
        "offset below −60": ({"offset_days": "-61"}, "entre −60 y 365"),
        "offset above 365": ({"offset_days": "366"}, "entre −60 y 365"),
        "offset not a number": ({"offset_days": "tres"}, "número entero"),
        "offset of another stage": ({"offset_days": "10"}, "Ya hay otra etapa con esos días"),
        "unknown action": ({"action": "embargo"}, "Acción desconocida"),
        "unknown channel": ({"channel_1": "fax"}, "Canal desconocido"),
        "same channel twice": (
            {"channel_1": "sms", "channel_2": "sms"},
            "Cada canal puede aparecer una sola vez",
        ),
        "no channel": (
            {"channel_1": "", "channel_2": "", "channel_3": "", "action": ""},
            "Elige al menos un canal",
        ),
        "body too long": ({"es_usted_body": "x" * 2001}, "hasta 2000 caracteres"),
        "subject too long": ({"en_tu_subject": "x" * 201}, "hasta 200 caracteres"),
        "no Spanish body": ({"es_tu_body": "  "}, "Escribe el mensaje en español"),
        "no name": ({"name": ""}, "Escribe un nombre"),
        "name too long": ({"name": "n" * 101}, "hasta 100 caracteres"),
    }
    before_stages = await stage_rows(a.scope)
    async with signed_in(world, a, "owner") as owner:
        for label, (changes, message) in bad.items():
            response = await post(owner, a, url, stage_form(stage, **changes))
            assert response.status_code == 400, label
            assert message in response.text, (label, response.text[:500])
            assert 'aria-invalid="true"' in response.text, label
    assert await stage_rows(a.scope) == before_stages
    assert not await reminder_events(a.scope)


async def test_preview_shows_tenant_text_as_text_and_warns_of_unknown_fields(
    world: World,  # noqa: F811
) -> None:
    a = world.a
    stage = await stage_of(a.scope, 0)
    url = f"{a.staff}/recordatorios/etapas/{stage['id']}"
    body = "<script>alert(1)</script> Hola {nombre}, total {total} {saldo_secreto} {{ 7*7 }}"
    before = await stage_rows(a.scope)
    async with signed_in(world, a, "owner") as owner:
        # the no-JS "Vista previa" button: the whole editor with the unsaved text, nothing stored
        values = stage_form(stage, es_tu_body=body, accion="vista-previa", idioma="es", forma="tu")
        page = await post(owner, a, url, values)
        assert page.status_code == 200
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Hola Ana Pérez" in page.text
        assert "{saldo_secreto}" in page.text and 'id="unknown-placeholders"' in page.text
        assert (
            "{{ 7*7 }}" in page.text and "49" not in page.text.split('id="preview-body"')[1][:300]
        )
        # htmx: only the fragment, with a real customer of this tenant (their name escaped)
        values["cliente"] = "C-1"
        fragment = await post(owner, a, url, values, headers={"hx-request": "true"})
        assert fragment.status_code == 200
        assert fragment.text.lstrip().startswith('<section id="preview"')
        assert "Cliente &lt;b&gt;Uno&lt;/b&gt;" in fragment.text
        assert "<b>Uno</b>" not in fragment.text
        # English, usted: the stored English text
        en = await owner.get(
            f"{url}/vista-previa?idioma=en&forma=usted", headers={"hx-request": "true"}
        )
        assert "your payment is due today" in en.text
        # a customer number of another tenant is not found here: the sample is used
        other = await owner.get(
            f"{url}/vista-previa?cliente=C-1&es_tu_body=%7Bnombre%7D",
            headers={"hx-request": "true"},
        )
        assert "Cliente &lt;b&gt;Uno&lt;/b&gt;" in other.text  # C-1 of *this* tenant
    assert await stage_rows(a.scope) == before


async def test_segment_policies_are_copies_and_can_be_removed(world: World) -> None:  # noqa: F811
    a = world.a
    await ensure_default_policy(a.scope)
    async with signed_in(world, a, "owner") as owner:
        created = await post(owner, a, f"{a.staff}/recordatorios/politicas", {"segment": "VIP"})
        assert created.status_code == 303
        again = await post(owner, a, f"{a.staff}/recordatorios/politicas", {"segment": "VIP"})
        assert again.status_code == 400 and "Ese segmento ya tiene su política" in again.text
        vip = await a.scope.objects(DunningPolicy).where(DunningPolicy.segment == "VIP").first()
        assert vip is not None
        offsets = [
            r["offset_days"]
            for r in await a.scope.select(DunningStage)
            .where(DunningStage.policy == vip.id)
            .order_by(DunningStage.offset_days)
        ]
        assert offsets == [-5, 0, 3, 10, 30, 60]
        added = await post(
            owner, a, f"{a.staff}/recordatorios/politicas/{vip.id}/etapas", {"offset_days": "15"}
        )
        assert added.status_code == 303
        dup = await post(
            owner, a, f"{a.staff}/recordatorios/politicas/{vip.id}/etapas", {"offset_days": "15"}
        )
        assert dup.status_code == 400
        default = await ensure_default_policy(a.scope)
        refused = await post(owner, a, f"{a.staff}/recordatorios/politicas/{default}/eliminar")
        assert refused.status_code == 400 and "no se puede eliminar" in refused.text
        gone = await post(owner, a, f"{a.staff}/recordatorios/politicas/{vip.id}/eliminar")
        assert gone.status_code == 303
    assert await a.scope.get(DunningPolicy, vip.id) is None
    assert await a.scope.get(DunningPolicy, default) is not None
    actions = {r["action"] for r in await a.scope.select(AuditEvent, AuditEvent.action)}
    assert {
        "reminders.policy_created",
        "reminders.stage_added",
        "reminders.policy_deleted",
    } <= actions


async def test_viewers_and_collectors_read_but_cannot_edit(world: World) -> None:  # noqa: F811
    a = world.a
    stage = await stage_of(a.scope, 3)
    url = f"{a.staff}/recordatorios/etapas/{stage['id']}"
    before = await stage_rows(a.scope)
    for role in ("viewer", "collector"):
        async with signed_in(world, a, role) as c:
            page = await c.get(url, headers={"accept": "text/html"})
            assert page.status_code == 200 and "Recordatorio de atraso" in page.text
            for path in ("", "/envios", "/llamadas"):
                other = await c.get(f"{a.staff}/recordatorios{path}?lang=en")
                assert other.status_code == 200 and duplicate_ids(other.text) == [], path
            assert duplicate_ids(page.text) == []
            assert '<fieldset class="card stack" disabled>' in page.text
            assert 'id="save"' not in page.text
            preview = await c.get(f"{url}/vista-previa?idioma=en", headers={"hx-request": "true"})
            assert "you have a payment pending" in preview.text
            response = await post(c, a, url, stage_form(stage, name="Cambiada"))
            assert response.status_code == 403
            response = await post(c, a, f"{url}/eliminar")
            assert response.status_code == 403
    assert await stage_rows(a.scope) == before


async def test_other_tenants_ids_are_not_found(world: World) -> None:  # noqa: F811
    a, b = world.a, world.b
    theirs = await stage_of(b.scope, 3)
    their_policy = await ensure_default_policy(b.scope)
    their_call = await contact(b.scope, b.customer, "call-b", kind="call", channel="phone")
    before = await stage_rows(b.scope)
    async with signed_in(world, a, "owner") as owner:
        base = f"{a.staff}/recordatorios"
        for url in (
            f"{base}/etapas/{theirs['id']}",
            f"{base}/etapas/{theirs['id']}/vista-previa",
        ):
            response = await owner.get(url, headers={"accept": "text/html"})
            assert response.status_code == 404, url
        for url, data in (
            (f"{base}/etapas/{theirs['id']}", stage_form(theirs, name="x")),
            (f"{base}/etapas/{theirs['id']}", {"accion": "vista-previa"}),
            (f"{base}/etapas/{theirs['id']}/eliminar", {}),
            (f"{base}/politicas/{their_policy}/etapas", {"offset_days": "20"}),
            (f"{base}/politicas/{their_policy}/eliminar", {}),
            (f"{base}/envios/{their_call}/resultado", {"resultado": "reached"}),
        ):
            response = await post(owner, a, url, data)
            assert response.status_code == 404, url
        log = await owner.get(f"{base}/envios?cliente={b.customer}")
        assert 'data-contact="' not in log.text
    assert await stage_rows(b.scope) == before
    row = (await b.scope.select(ContactAttempt).where(ContactAttempt.id == their_call))[0]
    assert row["status"] == "planned"


# --- the contact log and the calls --------------------------------------------------------------


async def test_contact_log_says_what_happened_and_why_it_waits(world: World) -> None:  # noqa: F811
    a, b = world.a, world.b
    stage = await stage_of(a.scope, 3)
    monday = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    await contact(
        a.scope,
        a.customer,
        "deferred",
        stage=stage["id"],
        invoice_ids=a.invoices,
        channel="whatsapp",
        status="deferred",
        scheduled_for=monday,
        rule="co.ley2300.sunday",
        reason="Domingo: no se permite contactar",
    )
    await contact(
        a.scope,
        a.customer,
        "failed",
        channel="sms",
        status="failed",
        error="Número inválido",
        scheduled_for=monday - timedelta(days=2),
    )
    await contact(b.scope, b.customer, "theirs", channel="email", status="sent", rule="secret-b")
    async with signed_in(world, a, "viewer") as viewer:
        page = await viewer.get(f"{a.staff}/recordatorios/envios")
        assert page.status_code == 200
        text = page.text
        assert "Aplazado" in text and "co.ley2300.sunday" in text
        assert "Domingo: no se permite contactar" in text and "Recordatorio de atraso" in text
        assert "F-1" in text and "Cliente &lt;b&gt;Uno&lt;/b&gt;" in text
        assert "Falló" in text and "Número inválido" in text
        assert "secret-b" not in text
        assert text.index("co.ley2300.sunday") < text.index("Número inválido")  # newest first
        failed = await viewer.get(f"{a.staff}/recordatorios/envios?estado=failed")
        assert "Número inválido" in failed.text and "co.ley2300.sunday" not in failed.text
        by_channel = await viewer.get(f"{a.staff}/recordatorios/envios?canal=whatsapp")
        assert "co.ley2300.sunday" in by_channel.text and "Número inválido" not in by_channel.text
        junk = await viewer.get(
            f"{a.staff}/recordatorios/envios?estado=%3Cx%3E&pagina=-3&cliente=x"
        )
        assert junk.status_code == 200
        # the customer's timeline shows the contacts too
        timeline = await viewer.get(f"{a.staff}/clientes/{a.customer}")
        assert 'data-kind="contact"' in timeline.text and "co.ley2300.sunday" in timeline.text


async def test_collector_records_a_call_once_with_a_note(world: World) -> None:  # noqa: F811
    a = world.a
    call = await contact(a.scope, a.customer, "call-1", kind="call", invoice_ids=a.invoices)
    await contact(a.scope, a.customer, "sent-reminder", kind="reminder", status="sent")
    url = f"{a.staff}/recordatorios/envios/{call}/resultado"
    async with signed_in(world, a, "viewer") as viewer:
        page = await viewer.get(f"{a.staff}/recordatorios/llamadas")
        assert f'data-contact="{call}"' in page.text and "Registrar llamada" not in page.text
        assert (await post(viewer, a, url, {"resultado": "reached"})).status_code == 403
    async with signed_in(world, a, "collector") as collector:
        bad = await post(collector, a, url, {"resultado": "maybe"})
        assert bad.status_code == 400 and "Elige el resultado" in bad.text
        empty = await post(collector, a, url, {"resultado": "note", "nota": " "})
        assert empty.status_code == 400
        assert await a.scope.count(CustomerNote) == 0
        done = await post(
            collector, a, url, {"resultado": "promise", "nota": "Paga el viernes <b>seguro</b>"}
        )
        assert done.status_code == 303
        twice = await post(collector, a, url, {"resultado": "reached"})
        assert twice.status_code == 409
        page = await collector.get(f"{a.staff}/recordatorios/llamadas")
        assert f'data-contact="{call}"' not in page.text
        timeline = await collector.get(f"{a.staff}/clientes/{a.customer}")
        assert "Paga el viernes &lt;b&gt;seguro&lt;/b&gt;" in timeline.text
    row = (await a.scope.select(ContactAttempt).where(ContactAttempt.id == call))[0]
    assert row["status"] == "sent" and row["reason"] == "promise" and row["sent_at"]
    notes = await a.scope.select(CustomerNote)
    assert len(notes) == 1 and "Prometió pagar" in notes[0]["body"]
    events = await a.scope.select(AuditEvent).where(AuditEvent.action == "reminders.call_recorded")
    assert len(events) == 1


# --- the customer's history in the portal -------------------------------------------------------


async def test_portal_history_shows_only_the_customers_own_messages(database: str) -> None:
    env = await open_env(database)
    shop = env.shop
    ana, luis = shop.customers
    scope = shop.scope
    now = datetime.now(UTC)
    await scope.add(
        NotificationLog(
            channel="whatsapp",
            recipient=str(ana.phone),
            subject="Tu pago vence <b>hoy</b>",
            status="sent",
            delivery_status="delivered",
            created_at=now,
        ),
        NotificationLog(
            channel="email",
            recipient=str(luis.email),
            subject="Recordatorio para Luis",
            status="sent",
            created_at=now,
        ),
    )
    await contact(scope, int(ana.id), "ana-call", kind="call", status="sent", sent_at=now)
    try:
        await portal_login(env.client, shop, ana)
        page = await env.client.get(f"{shop.prefix}/mensajes")
        assert page.status_code == 200
        assert "Tu pago vence &lt;b&gt;hoy&lt;/b&gt;" in page.text and "Entregado" in page.text
        assert "Llamada de nuestro equipo" in page.text
        assert "Recordatorio para Luis" not in page.text
        english = await env.client.get(f"{shop.prefix}/mensajes?lang=en")
        assert "Messages we sent you" in english.text and "Delivered" in english.text
        prefs = await env.client.get(f"{shop.prefix}/preferencias")
        assert f'href="{shop.prefix}/mensajes"' in prefs.text
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(env.app), base_url="http://testserver"
        ) as stranger:
            response = await stranger.get(f"{shop.prefix}/mensajes")
            assert response.status_code in (302, 303)
    finally:
        await env.client.aclose()


async def test_the_customers_of_a_segment_see_their_policy_name_in_the_editor(
    world: World,  # noqa: F811
) -> None:
    """A segment already used by customers is offered when creating a policy."""
    a = world.a
    await a.scope.update(Customer, {Customer.segment: "Mayoreo"}).where(Customer.id == a.customer)
    async with signed_in(world, a, "owner") as owner:
        page = await owner.get(f"{a.staff}/recordatorios")
        assert '<option value="Mayoreo">' in page.text


# --- English ------------------------------------------------------------------------------------

CALL = re.compile(r"""(?<![\w.])_\(\s*(["'])(.+?)\1\s*[,)]""", re.S)
ROOT = Path(__file__).resolve().parent.parent
SAME_IN_ENGLISH = {"SMS", "WhatsApp", "Chat"}


def test_every_reminders_string_has_an_english_translation() -> None:
    from recaudo.core.collections import contact_log, policies, policy_edit
    from recaudo.core.messaging.i18n import translations

    templates = [
        *sorted((ROOT / "web/templates/staff/reminders").glob("*.html")),
        ROOT / "web/templates/portal/messages.html",
    ]
    wanted: set[str] = set()
    for path in templates:
        wanted |= {m.group(2) for m in CALL.finditer(path.read_text())}
    wanted |= set(policy_edit.ACTION_LABELS.values()) | set(contact_log.OUTCOMES.values())
    wanted |= set(policies.PLACEHOLDERS.values())
    for module in ("core/collections/policy_edit.py", "core/collections/contact_log.py"):
        text = (ROOT / module).read_text()
        wanted |= set(re.findall(r'PolicyError\(\s*"[^"]+",\s*"([^"]+)"', text))
        wanted |= set(re.findall(r'(?:Contact\w+|PolicyNotFound)\(\s*"([^"]+)"', text))
    assert (
        "Los días deben estar entre −60 y 365." in wanted
        and "Esta llamada ya se registró." in wanted
    )
    english = translations("en")
    missing = sorted(s for s in wanted - SAME_IN_ENGLISH if english.gettext(s) == s)
    assert not missing, "add to core/messaging/locale/en/LC_MESSAGES/reminders_staff.po:\n" + (
        "\n".join(missing)
    )
