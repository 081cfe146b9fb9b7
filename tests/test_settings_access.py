"""Who may use the settings pages and the audit log: owners change, collectors and viewers get a
403 on every owner page and POST (nothing changes), another tenant's data never shows, CSRF is
required, and the audit log is read-only, filtered and paginated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from recaudo.core.common.audit import record
from recaudo.core.tables import AuditEvent, FaqEntry
from recaudo.tenants.models import TenantDomain
from tests import test_staff_http
from tests.settings_support import BRAND_FORM, actions, branding_of, policy_of_side
from tests.test_staff_http import Side, World, client, csrf, post, signed_in

world = test_staff_http.world  # the two-tenant fixture of the staff HTTP tests


def owner_pages(side: Side) -> list[str]:
    s = side.staff
    return [
        f"{s}/ajustes/marca",
        f"{s}/ajustes/dominios",
        f"{s}/ajustes/pagos",
        f"{s}/ajustes/planes",
        f"{s}/ajustes/ayuda",
        f"{s}/auditoria",
    ]


def owner_posts(side: Side, faq: int, domain: int) -> list[tuple[str, dict[str, str]]]:
    s = side.staff
    return [
        (f"{s}/ajustes/marca", BRAND_FORM),
        (f"{s}/ajustes/marca/logo", {}),
        (f"{s}/ajustes/marca/logo/quitar", {}),
        (f"{s}/ajustes/dominios", {"domain": "pagos.ejemplo.mx"}),
        (f"{s}/ajustes/dominios/{domain}/quitar", {}),
        (f"{s}/ajustes/pagos/mercadopago", {"s_access_token": "robado"}),
        (f"{s}/ajustes/pagos/banktransfer/estado", {"enabled": "off"}),
        (f"{s}/ajustes/planes", {"max_installments": "60", "max_days": "900"}),
        (f"{s}/ajustes/ayuda/preguntas", {"locale": "es", "question": "Q", "answer": "A"}),
        (f"{s}/ajustes/ayuda/preguntas/{faq}", {"question": "Q", "answer": "A"}),
        (f"{s}/ajustes/ayuda/preguntas/{faq}/mover", {"direction": "down"}),
        (f"{s}/ajustes/ayuda/preguntas/{faq}/borrar", {}),
        (f"{s}/ajustes/ayuda/consejos", {"advice_es": "A | https://a.example"}),
    ]


async def _seed(side: Side) -> tuple[int, int]:
    faq = FaqEntry(locale="es", question="¿Original?", answer="Sí.", position=0)
    await side.scope.add(faq)
    domain = TenantDomain(tenant=side.scope.tenant_id, domain=f"pagos.{side.slug}.mx")
    await domain.save().run()
    return int(faq.id), int(domain.id)


async def test_collectors_and_viewers_cannot_change_settings(world: World) -> None:
    a = world.a
    faq, domain = await _seed(a)
    for role in ("collector", "viewer"):
        async with signed_in(world, a, role) as c:
            index = await c.get(f"{a.staff}/ajustes")
            assert index.status_code == 200 and 'id="owner-only"' in index.text
            for url in owner_pages(a):
                response = await c.get(url, headers={"accept": "text/html"})
                assert response.status_code == 403, (role, url)
            for url, data in owner_posts(a, faq, domain):
                response = await post(c, a, url, data)
                assert response.status_code == 403, (role, url)
    assert not [e for e in await actions(a) if e.startswith("settings.")]
    assert await branding_of(a) == {} and await policy_of_side(a) == {}
    assert (await a.scope.get(FaqEntry, faq)).question == "¿Original?"
    assert await TenantDomain.count().where(TenantDomain.id == domain) == 1


async def test_posts_need_the_csrf_token_and_a_session(world: World) -> None:
    a = world.a
    async with signed_in(world, a) as c:
        await csrf(c, a)
        response = await c.post(
            f"{a.staff}/ajustes/marca", data=BRAND_FORM, headers={"accept": "text/html"}
        )
        assert response.status_code == 403
    async with client(world) as anonymous:
        page = await anonymous.get(f"{a.staff}/ajustes/marca")
        assert page.status_code == 303 and "/staff/login" in page.headers["location"]
        token = await csrf(anonymous, a)
        posted = await anonymous.post(
            f"{a.staff}/ajustes/marca", data={**BRAND_FORM, "_csrf_token": token}
        )
        assert posted.status_code == 303 and "/staff/login" in posted.headers["location"]
    assert await branding_of(a) == {}


async def test_another_tenants_ids_are_not_found(world: World) -> None:
    a, b = world.a, world.b
    faq, domain = await _seed(b)
    async with signed_in(world, a) as c:
        for url, data in owner_posts(a, faq, domain):
            if "/preguntas/" in url or "/dominios/" in url:
                response = await post(c, a, url, data)
                assert response.status_code == 404, url
        huge = await post(c, a, f"{a.staff}/ajustes/ayuda/preguntas/{10**30}/borrar")
        assert huge.status_code in (400, 404)
    assert (await b.scope.get(FaqEntry, faq)).question == "¿Original?"
    assert await TenantDomain.count().where(TenantDomain.id == domain) == 1


async def test_audit_log_filters_paginates_and_is_read_only(world: World) -> None:
    a, b = world.a, world.b
    for i in range(55):
        await record(a.scope, "staff:999", "settings.faq.added", f"faq_entry:{i}", n=i)
    await record(a.scope, "system", "invoice.voided", "invoice:7", note="<b>nota</b>")
    await record(b.scope, "staff:1", "settings.secret.of_b", "tenant:b")
    old = AuditEvent(
        actor="system",
        action="invoice.created",
        subject="invoice:1",
        data={},
        created_at=datetime.now(UTC) - timedelta(days=40),
    )
    await a.scope.add(old)
    async with signed_in(world, a) as c:
        page = await c.get(f"{a.staff}/auditoria")
        assert page.status_code == 200 and page.text.count("<tr>") == 50 + 1  # header row
        assert 'id="next-page"' in page.text and "settings.secret.of_b" not in page.text
        assert "&lt;b&gt;nota&lt;/b&gt;" in page.text
        second = await c.get(f"{a.staff}/auditoria?pagina=2")
        rest = await a.scope.count(AuditEvent) - 50  # ours, and the owner's sign-in
        assert second.text.count("<tr>") == rest + 1 and 'id="next-page"' not in second.text
        voided = await c.get(f"{a.staff}/auditoria?action=invoice.")
        assert "invoice.voided" in voided.text and "settings.faq.added" not in voided.text
        subject = await c.get(f"{a.staff}/auditoria?subject=faq_entry:54")
        assert subject.text.count("settings.faq.added") == 1
        actor = await c.get(f"{a.staff}/auditoria?actor=system")
        assert "invoice.voided" in actor.text and "settings.faq.added" not in actor.text
        today = datetime.now(UTC).date()
        recent = await c.get(
            f"{a.staff}/auditoria?action=invoice.&desde={today - timedelta(days=2)}"
        )
        assert "invoice.voided" in recent.text and "invoice.created" not in recent.text
        since, until = today - timedelta(days=50), today - timedelta(days=30)
        past = await c.get(f"{a.staff}/auditoria?hasta={until}&desde={since}")
        assert "invoice.created" in past.text and "invoice.voided" not in past.text
        for query, field in [
            ("desde=ayer", "desde"),
            ("desde=2026-05-02&hasta=2026-05-01", "hasta"),
            ("pagina=0", "pagina"),
            ("action=%3Cscript%3E", "action"),
        ]:
            bad = await c.get(f"{a.staff}/auditoria?{query}", headers={"accept": "text/html"})
            assert bad.status_code == 400 and f'id="{field}-error"' in bad.text, query
        assert (await post(c, a, f"{a.staff}/auditoria", {})).status_code == 405
