"""Ajustes → Planes y Ayuda: the limits "No puedo pagar" uses, the FAQ per language (shown
escaped in the portal, in order) and the advice links per language."""

from __future__ import annotations

from recaudo.core.collections.plans import policy_of
from recaudo.core.tables import FaqEntry
from tests import test_staff_http
from tests.settings_support import actions, policy_of_side, tenant_row
from tests.test_staff_http import World, client, post, signed_in

world = test_staff_http.world  # the two-tenant fixture of the staff HTTP tests

LIMITS = {
    "max_installments": "6",
    "min_down_payment": "12.5",
    "max_days": "180",
    "promise_max_days": "45",
}


async def test_plan_limits_are_saved_as_the_policy_keys(world: World) -> None:
    a = world.a
    row = await tenant_row(a)
    row.policy = {"bank": {"clabe": "x"}, "advice_links": [["Guía", "https://example.org/g"]]}
    await row.save().run()
    async with signed_in(world, a) as c:
        page = await c.get(f"{a.staff}/ajustes/planes")
        assert page.status_code == 200 and 'name="promise_max_days" ' in page.text
        saved = await post(c, a, f"{a.staff}/ajustes/planes", LIMITS)
        assert saved.status_code == 303, saved.text
        again = await c.get(saved.headers["location"])
        assert 'value="12.5"' in again.text and 'value="45"' in again.text
    stored = await policy_of_side(a)
    assert stored["plan_max_installments"] == 6 and stored["plan_min_down_payment_bp"] == 1250
    assert stored["plan_max_days"] == 180 and stored["promise_max_days"] == 45
    assert stored["bank"] == {"clabe": "x"} and stored["advice_links"]  # other keys are kept
    policy = policy_of((await tenant_row(a)).policy)
    assert policy.allows_plans and policy.max_installments == 6 and policy.promise_max_days == 45
    assert "settings.policy.updated" in await actions(a)


async def test_bad_limits_are_refused_field_by_field(world: World) -> None:
    a = world.a
    async with signed_in(world, a) as c:
        for fields, name, words in [
            ({"max_installments": "99"}, "max_installments", "entre 0 y 60"),
            ({"max_installments": "-1"}, "max_installments", "entre 0 y 60"),
            ({"min_down_payment": "abc"}, "min_down_payment", "porcentaje"),
            ({"min_down_payment": "100.001"}, "min_down_payment", "porcentaje"),
            ({"min_down_payment": "NaN"}, "min_down_payment", "porcentaje"),
            ({"max_days": "3"}, "max_days", "al menos el número de cuotas"),
            ({"promise_max_days": "0"}, "promise_max_days", "entre 1 y 365"),
            ({"max_installments": "0", "max_days": "30"}, "max_installments", "al menos una"),
        ]:
            response = await post(c, a, f"{a.staff}/ajustes/planes", {**LIMITS, **fields})
            assert response.status_code == 400, fields
            assert f'id="{name}-error"' in response.text and words in response.text, fields
        english = await post(
            c, a, f"{a.staff}/ajustes/planes?lang=en", {**LIMITS, "max_installments": "99"}
        )
        assert "Enter a whole number between 0 and 60." in english.text
    assert await policy_of_side(a) == {}
    assert "settings.policy.updated" not in await actions(a)


async def test_faq_entries_are_managed_and_shown_escaped_in_order(world: World) -> None:
    a, b = world.a, world.b
    base = f"{a.staff}/ajustes/ayuda/preguntas"
    async with signed_in(world, a) as c:
        for locale, question, answer in [
            ("es", "¿Cómo pago? <script>alert(1)</script>", "Con tarjeta <b>o</b> efectivo."),
            ("es", "¿Dan factura?", "Sí, siempre."),
            ("en", "How do I pay?", "By card or cash."),
        ]:
            added = await post(
                c, a, base, {"locale": locale, "question": question, "answer": answer}
            )
            assert added.status_code == 303, added.text
        first, second, english = await a.scope.objects(FaqEntry).order_by(FaqEntry.id)
        async with client(world) as visitor:
            page = await visitor.get(f"/t/{a.slug}/ayuda")
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
            assert "<script>alert(1)" not in page.text and "<b>o</b>" not in page.text
            assert page.text.index("¿Cómo pago?") < page.text.index("¿Dan factura?")
            assert "How do I pay?" not in page.text
            assert "How do I pay?" in (await visitor.get(f"/t/{a.slug}/ayuda?lang=en")).text
            moved = await post(c, a, f"{base}/{first.id}/mover", {"direction": "down"})
            assert moved.status_code == 303
            page = await visitor.get(f"/t/{a.slug}/ayuda?lang=es")
            assert page.text.index("¿Dan factura?") < page.text.index("¿Cómo pago?")
            edited = await post(
                c, a, f"{base}/{second.id}", {"question": "¿Emiten CFDI?", "answer": "Sí."}
            )
            assert edited.status_code == 303
            deleted = await post(c, a, f"{base}/{first.id}/borrar")
            assert deleted.status_code == 303
            page = await visitor.get(f"/t/{a.slug}/ayuda?lang=es")
            assert "¿Emiten CFDI?" in page.text and "¿Cómo pago?" not in page.text
        for fields, name in [
            ({"locale": "fr", "question": "Q", "answer": "A"}, "locale"),
            ({"locale": "es", "question": " ", "answer": "A"}, "question"),
            ({"locale": "es", "question": "Q", "answer": "x" * 4001}, "answer"),
        ]:
            bad = await post(c, a, base, fields)
            assert bad.status_code == 400 and f'id="{name}-error"' in bad.text, fields
        odd = await post(c, a, f"{base}/{second.id}/mover", {"direction": "sideways"})
        assert odd.status_code == 400
    assert await a.scope.count(FaqEntry) == 2
    done = await actions(a)
    for action in ("added", "moved", "edited", "deleted"):
        assert f"settings.faq.{action}" in done
    # b's staff cannot touch a's entries: 404, nothing changes.
    async with signed_in(world, b) as c:
        other = f"{b.staff}/ajustes/ayuda/preguntas/{english.id}"
        fields = {"question": "hackeada", "answer": "x"}
        assert (await post(c, b, other, fields)).status_code == 404
        assert (await post(c, b, f"{other}/borrar")).status_code == 404
        assert (await post(c, b, f"{other}/mover", {"direction": "up"})).status_code == 404
    assert (await a.scope.get(FaqEntry, int(english.id))).question == "How do I pay?"


async def test_advice_links_per_language(world: World) -> None:
    a = world.a
    async with signed_in(world, a) as c:
        saved = await post(
            c,
            a,
            f"{a.staff}/ajustes/ayuda/consejos",
            {
                "advice_es": "Orientación <b>gratis</b> | https://example.org/orientacion\n\n",
                "advice_en": "Free advice | https://example.org/advice",
            },
        )
        assert saved.status_code == 303, saved.text
        page = await c.get(f"{a.staff}/ajustes/ayuda")
        assert "Free advice | https://example.org/advice" in page.text
        bad = await post(
            c,
            a,
            f"{a.staff}/ajustes/ayuda/consejos",
            {"advice_es": "Buena | https://ok.example\nMala | javascript:alert(1)"},
        )
        assert bad.status_code == 400 and 'id="advice_es-error"' in bad.text
        assert "Línea 2" in bad.text
    policy = policy_of((await tenant_row(a)).policy)
    assert policy.advice_for("es") == (
        ("Orientación <b>gratis</b>", "https://example.org/orientacion"),
    )
    assert policy.advice_for("en") == (("Free advice", "https://example.org/advice"),)
    assert "settings.advice_links.updated" in await actions(a)
    # The portal's help page shows each language's links, escaped.
    async with client(world) as visitor:
        page = await visitor.get(f"/t/{a.slug}/ayuda?lang=es")
        assert "Orientación &lt;b&gt;gratis&lt;/b&gt;" in page.text and "<b>gratis" not in page.text
        assert 'href="https://example.org/orientacion"' in page.text
        english = await visitor.get(f"/t/{a.slug}/ayuda?lang=en")
        assert 'href="https://example.org/advice"' in english.text
        assert "https://example.org/orientacion" not in english.text
