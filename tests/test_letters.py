"""Formal reminder letters: a PDF per tenant and language that names the invoices, escapes the
owner's text, fetches nothing from outside, and travels as an e-mail attachment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from weasyprint import HTML

from recaudo.core.messaging import letters
from recaudo.core.messaging.notify import send_to_customer
from recaudo.core.platform.values import OutgoingMessage
from recaudo.core.tables import Invoice
from recaudo.core.tenant_settings.tenant_rows import json_dict, write_tenant_json
from recaudo.tenants.service import tenant_info
from tests.portal_support import Env, open_env
from tests.smtp import smtp_server

PIXEL = (  # a 1×1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"
    "AAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def pdf_text(html: str) -> str:
    """The text WeasyPrint lays out on the PDF's pages (no PDF parser is installed: walk the
    rendered boxes, which are exactly what ``write_pdf`` draws)."""
    document = HTML(string=html, url_fetcher=letters.OwnDataOnly()).render()
    parts: list[str] = []

    def walk(box: object) -> None:
        text = getattr(box, "text", None)
        if isinstance(text, str):
            parts.append(text)
        for child in getattr(box, "children", ()) or ():
            walk(child)

    for page in document.pages:
        walk(page._page_box)
    return " ".join(parts)


@pytest.fixture
async def env(database: str) -> AsyncIterator[Env]:
    env = await open_env(database)
    yield env
    await env.client.aclose()


async def test_the_letter_names_each_invoice_with_its_balance_and_days_late(env: Env) -> None:
    scope, tenant = env.shop.scope, env.shop.tenant
    first, second, _ = env.invoice_ids()
    data = await letters.letter_data(scope, tenant, env.customer, [first, second], "es")
    numbers = [line.number for line in data.lines]
    invoices = await scope.objects(Invoice).where(Invoice.id.is_in([first, second]))
    assert sorted(numbers) == sorted(str(i.number) for i in invoices)
    assert {line.days_late for line in data.lines} == {40, 5}
    html = letters.letter_html(data, str(tenant.locale), str(tenant.timezone))
    text = pdf_text(html)
    for number in numbers:
        assert number in text
    assert "$1,000.00" in text and "Total" in text and "$1,500.00" in text
    assert "Días de atraso" in text and str(env.customer.name) in text

    attachment = await letters.letter_attachment(scope, tenant, env.customer, [first], "es")
    assert attachment.content_type == "application/pdf"
    assert attachment.filename.startswith("carta-de-cobranza-")
    assert attachment.content.startswith(b"%PDF-")
    assert attachment.content.rstrip().endswith(b"%%EOF")
    one = await letters.letter_data(scope, tenant, env.customer, [first], "es")
    rendered = HTML(string=letters.letter_html(one, str(tenant.locale), str(tenant.timezone)))
    assert len(rendered.render().pages) == 1


async def test_the_owners_text_is_filled_and_escaped_never_evaluated(env: Env) -> None:
    tenant = env.shop.tenant
    body = (
        "Estimado {nombre}: debe {total} desde el {vencimiento}. {{ 7*7 }} "
        "<img src='http://127.0.0.1:9/espia.png'> {desconocido}"
    )
    policy = json_dict(tenant.policy)
    tenant = await write_tenant_json(
        int(tenant.id), "policy", {**policy, letters.POLICY_KEY: {"es": body}}
    )
    data = await letters.letter_data(env.shop.scope, tenant, env.customer, [], "es")
    html = letters.letter_html(data, str(tenant.locale), str(tenant.timezone))
    assert f"Estimado {env.customer.name}: debe $1,750.00" in html
    # Not evaluated: the braces stay where the owner wrote them, right before the escaped tag.
    assert "{{ 7*7 }} &lt;img src=&#39;http://127.0.0.1:9/espia.png&#39;&gt;" in html
    assert "{desconocido}" in html


def test_the_pdf_fetches_nothing_outside_the_document() -> None:
    fetcher = letters.OwnDataOnly()
    html = (
        '<html><body><img src="http://127.0.0.1:9/x.png">'
        '<link rel="stylesheet" href="file:///etc/passwd">'
        f'<img src="data:image/png;base64,{PIXEL}">ok</body></html>'
    )
    pdf = HTML(string=html, url_fetcher=fetcher).write_pdf()
    assert pdf and pdf.startswith(b"%PDF-")
    assert sorted(fetcher.refused) == ["file:///etc/passwd", "http://127.0.0.1:9/x.png"]


async def test_english_and_usted_letters(env: Env) -> None:
    tenant = env.shop.tenant
    current = json_dict(tenant.branding)
    tenant = await write_tenant_json(
        int(tenant.id), "branding", {**current, "address_form": "usted"}
    )
    spanish = await letters.letter_data(env.shop.scope, tenant, env.customer, [], "es")
    html = letters.letter_html(spanish, str(tenant.locale), str(tenant.timezone))
    assert "usted tiene un saldo vencido" in html and "Entre al portal" in html
    english = await letters.letter_data(env.shop.scope, tenant, env.customer, [], "en")
    html = letters.letter_html(english, str(tenant.locale), str(tenant.timezone))
    assert "you have an overdue balance" in html and "Days late" in html
    assert letters.filename_for(english).startswith("payment-reminder-letter-")


async def test_an_email_with_the_letter_attached_arrives(database: str) -> None:
    with smtp_server() as (smtp_url, capture):
        env = await open_env(database, smtp_url=smtp_url, env="production")
        try:
            scope, tenant = env.shop.scope, env.shop.tenant
            attachment = await letters.letter_attachment(
                scope, tenant, env.customer, env.invoice_ids()[:2], "es"
            )
            entry = await send_to_customer(
                scope,
                tenant_info(tenant),
                env.customer,
                OutgoingMessage(
                    to="",
                    subject="Aviso final",
                    text="Adjuntamos la carta.",
                    kind="reminder",
                    attachments=(attachment,),
                ),
                secret_key="x" * 40,
                only=("email",),
            )
            assert entry is not None and entry.status == "sent"
        finally:
            await env.client.aclose()
    (message,) = capture.messages
    assert message["To"] == env.customer.email
    files = list(message.iter_attachments())
    assert [f.get_filename() for f in files] == [attachment.filename]
    assert files[0].get_content_type() == "application/pdf"
    assert files[0].get_content() == attachment.content
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "Adjuntamos la carta." in body.get_content()


def test_sample_letter_for_the_settings_preview() -> None:
    from recaudo.core.config import Settings, activate
    from recaudo.tenants.models import Tenant

    activate(Settings(env="development", secret_key="x" * 40, base_url="http://t"))
    tenant = Tenant(slug="demo", name="Demo <S.A.>", currency="MXN", policy={}, branding={})
    data = letters.sample_data(tenant, "es", "Hola {nombre}, debe {total}.", date(2026, 12, 1))
    html = letters.letter_html(data, "es_MX", "America/Mexico_City")
    assert "Hola Cliente de ejemplo, debe $2,050.00." in html
    assert "Demo &lt;S.A.&gt;" in html
