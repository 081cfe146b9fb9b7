"""What screen-reader and keyboard users rely on, over HTTP: unique ids so every field has its
label, errors tied to the field that caused them, and live regions that stay put while htmx
replaces what is inside them. (The browser walk in tests/browser/test_layout_a11y.py runs axe.)"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from recaudo.core.tables import ChatMessage, Payment
from tests.portal_support import Env, hidden, login, open_env, post_form

HTMX = {"hx-request": "true"}


@pytest.fixture
async def env(database: str, host: object) -> Env:
    e = await open_env(database)
    yield e
    await e.client.aclose()


def duplicate_ids(html: str) -> list[str]:
    return [i for i, n in Counter(re.findall(r'\sid="([^"]+)"', html)).items() if n > 1]


def tag(html: str, element_id: str) -> str:
    match = re.search(rf'<(?:input|textarea|fieldset)[^>]*\sid="{element_id}"[^>]*>', html)
    assert match, f"no field #{element_id}"
    return match.group(0)


def tied(html: str, field: str, message: str) -> None:
    """The field is marked invalid and described by the message, shown next to it."""
    element = tag(html, field)
    assert 'aria-invalid="true"' in element and f'aria-describedby="{field}-error"' in element
    assert re.search(rf'<p class="field-error" id="{field}-error">[^<]*{re.escape(message)}', html)
    assert 'class="alert error"' not in html  # not also at the top of the page


async def test_signed_out_help_page_has_unique_ids(env: Env) -> None:
    page = await env.client.get(env.shop.prefix + "/ayuda")
    assert duplicate_ids(page.text) == []
    assert page.text.count('id="contacto"') == 1 and '<label for="contacto">' in page.text


async def test_contact_form_errors_sit_on_their_fields(env: Env) -> None:
    url = env.shop.prefix + "/ayuda/contacto"
    fields = {"nombre": "", "contacto": "ana@example.com", "asunto": "Hola", "mensaje": "Hola"}
    page = await post_form(env.client, url, fields)
    assert page.status_code == 400
    tied(page.text, "nombre", "Escribe tu nombre.")
    assert "autofocus" in tag(page.text, "nombre")
    assert "aria-invalid" not in tag(page.text, "asunto")
    page = await post_form(env.client, url, {**fields, "nombre": "Ana", "contacto": "no"})
    tied(page.text, "contacto", "Escribe un correo o teléfono para responderte.")
    assert duplicate_ids(page.text) == []


async def test_front_door_chat_and_amount_errors_sit_on_their_fields(env: Env) -> None:
    door = await post_form(env.client, env.shop.prefix + "/acceso", {"contact": " "})
    tied(door.text, "contact", "Escribe tu correo, teléfono o número de cliente.")

    await login(env.client, env.shop, env.customer)
    chat = await post_form(env.client, env.shop.prefix + "/ayuda/chat", {"mensaje": "  "})
    tied(chat.text, "mensaje", "Escribe tu mensaje")

    form = await env.client.get(env.shop.prefix + "/pagar?monto=1")
    pay = await post_form(
        env.client,
        env.shop.prefix + "/pagar",
        {"clave": hidden(form.text, "clave"), "monto": "12,5", "metodo": "sandbox"},
    )
    tied(pay.text, "monto", "Escribe el monto así: 1,500.00")


async def test_payment_status_region_stays_while_its_content_is_replaced(env: Env) -> None:
    await login(env.client, env.shop, env.customer)
    form = await env.client.get(env.shop.prefix + "/pagar?monto=1")
    paid = await post_form(
        env.client,
        env.shop.prefix + "/pagar",
        {"clave": hidden(form.text, "clave"), "monto": "100", "metodo": "banktransfer"},
    )
    url = paid.headers["location"]
    page = await env.client.get(url)
    region = re.search(r'<div id="payment-status"[^>]*>\s*<div id="payment-status-body"', page.text)
    assert region and 'aria-live="polite"' in region.group(0)
    payment = await env.shop.scope.objects(Payment).first()
    poll = await env.client.get(f"{url}?estado=otro", headers=HTMX)  # status differs: redraw
    assert poll.status_code == 200 and f'data-status="{payment.status}"' in poll.text
    assert 'id="payment-status"' not in poll.text  # the live region itself is never replaced
    assert poll.text.lstrip().startswith('<div id="payment-status-body"')


async def test_chat_announces_only_new_answers_in_a_stable_region(env: Env) -> None:
    await login(env.client, env.shop, env.customer)
    url = env.shop.prefix + "/ayuda/chat"
    await post_form(env.client, url, {"mensaje": "¿Me ayudan?"})
    page = await env.client.get(url)
    assert re.search(r'<div id="chat-news" class="visually-hidden" aria-live="polite">', page.text)
    assert 'class="chat-log" aria-live' not in page.text  # the redrawn list is not itself live
    first = await env.shop.scope.objects(ChatMessage).first()
    await env.shop.scope.add(ChatMessage(customer=env.customer.id, sender="staff", body="Claro."))
    poll = await env.client.get(f"{url}?ultimo={first.id}", headers=HTMX)
    news = re.search(r'<div id="chat-news" hx-swap-oob="innerHTML">(.*?)</div>', poll.text, re.S)
    assert news and "Claro." in news.group(1) and "¿Me ayudan?" not in news.group(1)


async def test_statement_checkboxes_survive_the_live_refresh(env: Env) -> None:
    await login(env.client, env.shop, env.customer)
    page = await env.client.get(env.shop.prefix + "/estado-de-cuenta")
    boxes = re.findall(r'<input type="checkbox" name="factura"[^>]*>', page.text)
    assert boxes and all("hx-preserve" in b and re.search(r'id="inv-\d+"', b) for b in boxes)
    assert duplicate_ids(page.text) == []


@pytest.mark.parametrize("lang", ["es", "en"])
async def test_pages_have_no_duplicate_ids(env: Env, lang: str) -> None:
    await login(env.client, env.shop, env.customer)
    for path in (
        "/estado-de-cuenta",
        "/pagar?monto=1",
        "/pagos",
        "/ayuda",
        "/ayuda/chat",
        "/mensajes",
    ):
        page = await env.client.get(
            f"{env.shop.prefix}{path}{'&' if '?' in path else '?'}lang={lang}"
        )
        assert duplicate_ids(page.text) == [], path


async def test_staff_chat_announces_the_customers_new_messages(env: Env) -> None:
    from recaudo.core.access.staff import create_staff

    scope = env.shop.scope
    await create_staff(scope, "equipo@example.com", "clave-larga-de-prueba-1", "collector", "Eq")
    await scope.add(ChatMessage(customer=env.customer.id, sender="customer", body="Hola"))
    staff = env.shop.prefix + "/staff"
    async with await env.new_client() as desk:
        await desk.get(staff + "/login")
        signed = await post_form(
            desk,
            staff + "/login",
            {"email": "equipo@example.com", "password": "clave-larga-de-prueba-1"},
        )
        assert signed.status_code == 303
        url = f"{staff}/chats/{env.customer.id}"
        page = await desk.get(url)
        assert '<div id="chat-news" class="visually-hidden" aria-live="polite">' in page.text
        first = await scope.objects(ChatMessage).first()
        await scope.add(ChatMessage(customer=env.customer.id, sender="customer", body="¿Y bien?"))
        poll = await desk.get(f"{url}/messages?after={first.id}", headers=HTMX)
    news = re.search(r'<div id="chat-news" hx-swap-oob="innerHTML">(.*?)</div>', poll.text, re.S)
    assert news and "¿Y bien?" in news.group(1) and "Hola" not in news.group(1)


async def test_quiet_hours_error_sits_on_both_time_fields(env: Env) -> None:
    await login(env.client, env.shop, env.customer)
    page = await post_form(
        env.client,
        env.shop.prefix + "/preferencias",
        {"canal": "email", "silencio_desde": "21:00", "silencio_hasta": ""},
    )
    assert page.status_code == 400
    for field in ("silencio_desde", "silencio_hasta"):
        element = tag(page.text, field)
        assert 'aria-invalid="true"' in element and 'aria-describedby="silencio-error"' in element
    assert 'id="silencio-error"' in page.text and 'class="alert error"' not in page.text
    assert "autofocus" in tag(page.text, "silencio_desde")
    assert "autofocus" not in tag(page.text, "silencio_hasta")


async def test_statement_update_is_announced_from_a_stable_region(env: Env) -> None:
    await login(env.client, env.shop, env.customer)
    url = env.shop.prefix + "/estado-de-cuenta"
    page = await env.client.get(url)
    assert '<div id="statement-news" class="visually-hidden" aria-live="polite">' in page.text
    assert page.text.count('id="statement-news"') == 1
    version = re.search(r"estado-de-cuenta\?v=([0-9a-f]+)", page.text)
    assert version
    same = await env.client.get(f"{url}?v={version.group(1)}", headers=HTMX)
    assert same.status_code == 204
    changed = await env.client.get(f"{url}?v=antes&lang=en", headers=HTMX)
    assert changed.text.lstrip().startswith('<div id="live"')
    news = re.search(r'<div id="statement-news" hx-swap-oob="innerHTML">(.*?)</div>', changed.text)
    assert news and "Your statement was updated." in news.group(1)


async def test_reason_and_dispute_errors_sit_on_their_fields(env: Env) -> None:
    await login(env.client, env.shop, env.customer)
    hardship = await env.client.get(env.shop.prefix + "/no-puedo-pagar/opciones?motivo=nada")
    assert hardship.status_code == 400
    assert re.search(r'<fieldset aria-describedby="motivo-error">', hardship.text)
    assert '<p class="field-error" id="motivo-error">Elige un motivo' in hardship.text
    assert hardship.text.count('aria-invalid="true"') == hardship.text.count('name="motivo"')

    url = f"{env.shop.prefix}/facturas/{env.invoice_ids(0)[0]}/aclaracion"
    await env.client.get(url)
    long = await post_form(env.client, url, {"motivo": "other", "mensaje": "x" * 2001})
    assert long.status_code == 400
    tied(long.text, "mensaje", "El mensaje es demasiado largo")
    bad = await post_form(env.client, url, {"motivo": "nada", "mensaje": "hola"})
    assert '<fieldset aria-describedby="motivo-error">' in bad.text
    assert 'class="alert error"' not in bad.text
