"""Disputes, proofs of payment, reminder preferences, help, contact and chat over HTTP."""

from __future__ import annotations

import json

import pytest

from recaudo.core.tables import (
    ChatMessage,
    Customer,
    Dispute,
    FaqEntry,
    Invoice,
    PaymentProof,
    Ticket,
)
from tests.portal_support import Env, csrf, login, open_env, post_form

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 64


@pytest.fixture
async def env(database: str, host: object) -> Env:
    e = await open_env(database)
    await login(e.client, e.shop, e.customer)
    yield e
    await e.client.aclose()


async def upload(env: Env, content: bytes, name: str, declared: str, amount: str = "100"):  # type: ignore[no-untyped-def]
    return await env.client.post(
        env.shop.prefix + "/comprobantes",
        data={
            "monto": amount,
            "moneda": "MXN",
            "factura": [str(env.invoice_ids()[0])],
            "_csrf_token": csrf(env.client),
        },
        files={"archivo": (name, content, declared)},
    )


async def test_dispute_marks_the_invoice_once(env: Env) -> None:
    invoice_id = env.invoice_ids()[0]
    url = env.shop.prefix + f"/facturas/{invoice_id}/aclaracion"
    assert (await env.client.get(url)).status_code == 200
    done = await post_form(env.client, url, {"motivo": "wrong_amount", "mensaje": "Cobraron 2"})
    assert done.status_code == 303 and done.headers["location"].endswith("aviso=disputa")
    assert (await env.shop.scope.get(Invoice, invoice_id)).disputed is True
    dispute = await env.shop.scope.objects(Dispute).first()
    assert dispute.reason == "wrong_amount" and dispute.status == "open"
    again = await post_form(env.client, url, {"motivo": "other"})
    assert again.status_code == 400 and "Ya tienes una aclaración abierta" in again.text
    bad = await post_form(
        env.client,
        env.shop.prefix + f"/facturas/{env.invoice_ids()[1]}/aclaracion",
        {"motivo": "porque-si"},
    )
    assert bad.status_code == 400
    assert await env.shop.scope.count(Dispute) == 1


async def test_proof_upload_checks_type_by_content_and_size(env: Env) -> None:
    ok = await upload(env, PNG, "recibo.png", "image/png")
    assert ok.status_code == 303, ok.text
    pdf = await upload(env, PDF, "recibo.pdf", "application/pdf", "50.25")
    assert pdf.status_code == 303
    fake = await upload(env, b"<html>not an image</html>", "recibo.png", "image/png")
    assert fake.status_code == 415 and "Solo aceptamos" in fake.text
    big = await upload(env, PNG + b"\x00" * (5 * 1024 * 1024), "big.png", "image/png")
    assert big.status_code == 413
    no_amount = await upload(env, PNG, "r.png", "image/png", amount="abc")
    assert no_amount.status_code == 400
    rows = await env.shop.scope.objects(PaymentProof).order_by(PaymentProof.id)
    assert [(r.content_type, int(r.amount), r.status) for r in rows] == [
        ("image/png", 10_000, "pending"),
        ("application/pdf", 5_025, "pending"),
    ]
    assert json.loads(rows[0].invoice_ids) == [env.invoice_ids()[0]] or rows[0].invoice_ids == [
        env.invoice_ids()[0]
    ]
    listing = await env.client.get(env.shop.prefix + "/comprobantes")
    assert "En revisión" in listing.text


async def test_proof_upload_needs_csrf(env: Env) -> None:
    response = await env.client.post(
        env.shop.prefix + "/comprobantes", data={"monto": "1"}, files={"archivo": ("a.png", PNG)}
    )
    assert response.status_code == 403


async def test_preferences_store_consent_with_its_date(env: Env) -> None:
    url = env.shop.prefix + "/preferencias"
    saved = await post_form(
        env.client,
        url,
        {
            "canal": ["email", "whatsapp", "fax"],
            "silencio_desde": "21:00",
            "silencio_hasta": "08:00",
        },
    )
    assert saved.status_code == 303
    customer = await env.shop.scope.get(Customer, env.customer.id)
    consents = (
        json.loads(customer.consents) if isinstance(customer.consents, str) else customer.consents
    )
    assert consents["channels"] == ["email", "whatsapp"]
    assert consents["quiet_hours"] == ["21:00", "08:00"] and consents["updated_at"]
    bad = await post_form(
        env.client, url, {"canal": ["email"], "silencio_desde": "25:00", "silencio_hasta": "08:00"}
    )
    assert bad.status_code == 400 and "HH:MM" in bad.text


async def test_faq_and_anonymous_contact_form(env: Env) -> None:
    await env.shop.scope.add(
        FaqEntry(locale="es", question="¿Aceptan tarjeta?", answer="Sí.", position=0)
    )
    anonymous = await env.new_client()
    async with anonymous:
        page = await anonymous.get(env.shop.prefix + "/ayuda")
        assert page.status_code == 200 and "¿Aceptan tarjeta?" in page.text
        sent = await post_form(
            anonymous,
            env.shop.prefix + "/ayuda/contacto",
            {
                "nombre": "Pepe",
                "contacto": "pepe@example.com",
                "asunto": "Factura",
                "mensaje": "No me llega",
            },
        )
        assert sent.status_code == 303
        missing = await post_form(
            anonymous,
            env.shop.prefix + "/ayuda/contacto",
            {"nombre": "Pepe", "contacto": "", "asunto": "x", "mensaje": "y"},
        )
        assert missing.status_code == 400
    ticket = await env.shop.scope.objects(Ticket).first()
    assert ticket.customer is None and ticket.contact == "pepe@example.com"
    # A logged-in customer's ticket is linked to them.
    mine = await post_form(
        env.client, env.shop.prefix + "/ayuda/contacto", {"asunto": "Hola", "mensaje": "Una duda"}
    )
    assert mine.status_code == 303
    assert await env.shop.scope.count(Ticket).where(Ticket.customer == env.customer.id) == 1


async def test_chat_without_javascript_and_with_htmx(env: Env) -> None:
    url = env.shop.prefix + "/ayuda/chat"
    posted = await post_form(env.client, url, {"mensaje": "Hola, ¿me ayudan?"})
    assert posted.status_code == 303
    page = await env.client.get(url)
    assert "Hola, ¿me ayudan?" in page.text
    await env.shop.scope.add(
        ChatMessage(customer=env.customer.id, sender="staff", body="Claro, dime.")
    )
    last = (
        await env.shop.scope.objects(ChatMessage).order_by(ChatMessage.id, ascending=False).first()
    ).id
    htmx = {"hx-request": "true"}
    fresh = await env.client.get(url + "?ultimo=1", headers=htmx)
    assert fresh.status_code == 200 and "Claro, dime." in fresh.text and "<html" not in fresh.text
    unchanged = await env.client.get(url + f"?ultimo={last}", headers=htmx)
    assert unchanged.status_code == 204
    empty = await post_form(env.client, url, {"mensaje": "   "})
    assert empty.status_code == 400
    assert await env.shop.scope.count(ChatMessage) == 2


async def test_a_proof_amount_with_grouping_is_read_in_the_pages_locale(env: Env) -> None:
    grouped = await upload(env, PDF, "recibo.pdf", "application/pdf", amount="1,250.50")
    assert grouped.status_code == 303, grouped.text
    proof = await env.shop.scope.objects(PaymentProof).first()
    assert int(proof.amount) == 125_050
    ambiguous = await upload(env, PDF, "recibo.pdf", "application/pdf", amount="1,5")
    assert ambiguous.status_code == 400 and "Escribe el monto así: 1,500.00" in ambiguous.text
