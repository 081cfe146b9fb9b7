"""An English page is English all the way: payment methods, FAQ, advice links and money that a
reader in the tenant's country recognises; and the language link keeps the page as it was."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest

from recaudo.core.collections.plans import policy_of
from recaudo.core.messaging.i18n import formatter_for
from recaudo.core.tables import FaqEntry
from tests.portal_support import Env, login, open_env, post_form


@pytest.fixture
async def env(database: str, host: object) -> Env:
    e = await open_env(database)
    yield e
    await e.client.aclose()


def language_link(page: str, code: str) -> str:
    match = re.search(rf'<a href="([^"]*)" hreflang="{code}" lang="{code}">', page)
    assert match, f"no link to the {code} page"
    return html.unescape(match.group(1))


async def test_language_link_keeps_the_page_and_its_query(env: Env) -> None:
    await login(env.client, env.shop, env.customer)
    ids = env.invoice_ids(0)
    url = f"{env.shop.prefix}/pagar?factura={ids[0]}&factura={ids[1]}"
    spanish = await env.client.get(url)
    link = language_link(spanish.text, "en")
    assert link == f"?factura={ids[0]}&factura={ids[1]}&lang=en"
    english = await env.client.get(f"{env.shop.prefix}/pagar{link}")
    assert 'id="pay-total"' in english.text  # still the selected invoices, not "another amount"
    assert 'name="monto"' not in english.text
    back = language_link(english.text, "es")
    assert back == f"?factura={ids[0]}&factura={ids[1]}&lang=es"


async def test_payment_methods_speak_the_visitors_language(env: Env) -> None:
    await login(env.client, env.shop, env.customer)
    page = await env.client.get(f"{env.shop.prefix}/pagar?monto=1&lang=en")
    assert "Bank transfer or deposit" in page.text and "Test card (sandbox)" in page.text
    assert "using your reference" in page.text
    assert "Transferencia o depósito bancario" not in page.text

    form = re.search(r'name="clave" value="([^"]+)"', page.text)
    assert form
    paid = await post_form(
        env.client,
        env.shop.prefix + "/pagar",
        {"clave": form.group(1), "monto": "120.50", "metodo": "banktransfer"},
    )
    assert paid.status_code == 303
    receipt = await env.client.get(paid.headers["location"] + "?lang=en")
    assert "Bank transfer or deposit" in receipt.text
    history = await env.client.get(env.shop.prefix + "/pagos?lang=en")
    assert "Bank transfer or deposit" in history.text
    assert ">banktransfer<" not in history.text
    spanish = await env.client.get(env.shop.prefix + "/pagos?lang=es")
    assert "Transferencia o depósito bancario" in spanish.text
    assert ">banktransfer<" not in spanish.text


async def test_faq_in_english_with_spanish_as_fallback(env: Env) -> None:
    scope = env.shop.scope
    await scope.add(FaqEntry(locale="es", question="¿Cómo pago?", answer="Así.", position=0))
    spanish_only = await env.client.get(env.shop.prefix + "/ayuda?lang=en")
    assert "¿Cómo pago?" in spanish_only.text  # nothing in English yet: Spanish, not nothing
    await scope.add(FaqEntry(locale="en", question="How do I pay?", answer="Like so.", position=0))
    english = await env.client.get(env.shop.prefix + "/ayuda?lang=en")
    assert "How do I pay?" in english.text and "¿Cómo pago?" not in english.text
    spanish = await env.client.get(env.shop.prefix + "/ayuda?lang=es")
    assert "¿Cómo pago?" in spanish.text and "How do I pay?" not in spanish.text


def test_advice_links_per_language_fall_back_to_spanish() -> None:
    policy = policy_of(
        {
            "advice_links": {
                "es": [["Educación financiera", "https://example.org/es"]],
                "en": [["Financial education", "https://example.org/en"], ["bad", "http://x"]],
            }
        }
    )
    assert policy.advice_for("es") == (("Educación financiera", "https://example.org/es"),)
    assert policy.advice_for("en") == (("Financial education", "https://example.org/en"),)
    assert policy.advice_for("pt") == policy.advice_for("es")
    one_list = policy_of({"advice_links": [["Educación", "https://example.org/"]]})
    assert one_list.advice_for("en") == (("Educación", "https://example.org/"),)


async def test_english_hardship_page_shows_english_advice(database: str, host: object) -> None:
    links = {"es": [["Orientación", "https://example.org/es"]], "en": [["Advice", "https://e.org"]]}
    policy = {"plan_max_installments": 3, "plan_max_days": 90, "advice_links": links}
    env = await open_env(database, policy=policy)
    try:
        await login(env.client, env.shop, env.customer)
        url = env.shop.prefix + "/no-puedo-pagar/opciones?motivo=other"
        english = await env.client.get(url + "&lang=en")
        assert ">Advice<" in english.text and "Orientación" not in english.text
        spanish = await env.client.get(url + "&lang=es")
        assert ">Orientación<" in spanish.text
    finally:
        await env.client.aclose()


def test_money_on_english_pages_is_written_as_in_the_tenants_country() -> None:
    colombia = formatter_for("en", "es_CO", "America/Bogota")
    assert colombia.money(18_050_000, "COP") == "$180.500"
    assert colombia.date(date(2026, 12, 1)) == "Dec 1, 2026"  # the words stay English
    mexico = formatter_for("en", "es_MX", "America/Mexico_City")
    assert mexico.money(123_456, "MXN") == "$1,234.56"


async def test_colombian_statement_in_english_reads_pesos(database: str, host: object) -> None:
    env = await open_env(database, country="CO", currency="COP")
    try:
        await login(env.client, env.shop, env.customer)
        english = await env.client.get(env.shop.prefix + "/estado-de-cuenta?lang=en")
        assert "Balance due" in english.text
        assert "COP1" not in english.text and "$1.750" in english.text
    finally:
        await env.client.aclose()


async def test_language_link_on_a_form_error_leads_back_to_the_form(env: Env) -> None:
    help_page = f"http://testserver{env.shop.prefix}/ayuda?enviado=0"
    await env.client.get(env.shop.prefix + "/ayuda")
    page = await post_form(
        env.client,
        env.shop.prefix + "/ayuda/contacto",
        {"nombre": "", "contacto": "a@example.com", "asunto": "x", "mensaje": "y"},
        headers={"referer": help_page},
    )
    assert page.status_code == 400
    link = language_link(page.text, "en")
    assert link == f"{env.shop.prefix}/ayuda?enviado=0&lang=en"  # not /ayuda/contacto (POST only)
    assert (await env.client.get(link)).status_code == 200
    elsewhere = await post_form(
        env.client,
        env.shop.prefix + "/ayuda/contacto",
        {"nombre": "", "contacto": "a@example.com", "asunto": "x", "mensaje": "y"},
        headers={"referer": "https://evil.example/phish"},
    )
    assert "evil.example" not in elsewhere.text
    broken = await post_form(
        env.client,
        env.shop.prefix + "/ayuda/contacto",
        {"nombre": "", "contacto": "a@example.com", "asunto": "x", "mensaje": "y"},
        headers={"referer": "http://[no-es-una-direccion/"},
    )
    assert broken.status_code == 400
    assert language_link(broken.text, "es") == "?lang=es"  # English now (the cookie): a plain link
