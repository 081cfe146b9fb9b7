"""Ajustes → Mensajes: the monthly statement switch and the letter's text per language, with a
PDF preview of what was typed; owners only, other tenants untouched."""

from __future__ import annotations

from recaudo.core.messaging import letters
from tests import test_staff_http
from tests.settings_support import actions, policy_of_side
from tests.test_staff_http import World, post, signed_in

world = test_staff_http.world  # the two-tenant fixture of the staff HTTP tests


async def test_the_owner_turns_statements_on_and_writes_the_letter(world: World) -> None:
    a, b = world.a, world.b
    async with signed_in(world, a) as c:
        page = await c.get(f"{a.staff}/ajustes/mensajes")
        assert page.status_code == 200 and 'name="letter_es"' in page.text
        assert "Descargar ejemplo" in page.text
        body = "Hola {nombre}: <script>alert(1)</script> debe {total}. {inventado}"
        saved = await post(
            c, a, f"{a.staff}/ajustes/mensajes", {"statement": "1", "letter_es": body}
        )
        assert saved.status_code == 303, saved.text
        again = await c.get(saved.headers["location"])
        assert "<script>alert(1)</script>" not in again.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in again.text
        assert "inventado" in again.text  # the unknown placeholder is pointed out
    stored = await policy_of_side(a)
    assert stored["messages_statement"] is True
    assert stored[letters.POLICY_KEY] == {"es": body}
    assert "settings.messages.updated" in await actions(a)
    assert "messages_statement" not in await policy_of_side(b)


async def test_the_sample_pdf_is_the_letter_as_typed(world: World) -> None:
    a = world.a
    async with signed_in(world, a) as c:
        response = await post(
            c,
            a,
            f"{a.staff}/ajustes/mensajes/ejemplo",
            {"letter_en": "Dear {nombre}, you owe {total}.", "ejemplo": "en"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-")
        assert "payment-reminder-letter" in response.headers["content-disposition"]
        too_long = await post(
            c, a, f"{a.staff}/ajustes/mensajes/ejemplo", {"letter_es": "x" * 6000}
        )
        assert too_long.status_code == 400 and 'id="letter_es-error"' in too_long.text
    assert "messages_statement" not in await policy_of_side(a), "a preview saves nothing"


async def test_collectors_cannot_change_messages(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "collector") as c:
        page = await c.get(f"{a.staff}/ajustes/mensajes")
        assert page.status_code == 403
        response = await post(c, a, f"{a.staff}/ajustes/mensajes", {"statement": "1"})
        assert response.status_code == 403
    assert "messages_statement" not in await policy_of_side(a)
