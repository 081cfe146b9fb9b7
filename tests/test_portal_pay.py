"""Paying through the portal: idempotent submits, sandbox approval, instructions, retries."""

from __future__ import annotations

import asyncio
import re

import pytest

from recaudo.core.tables import Invoice, Payment
from recaudo.plugins.sandbox.tables import SandboxCharge
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope, unscoped
from tests.conftest import make_tenant
from tests.portal_support import Env, hidden, login, open_env, post_form


@pytest.fixture
async def env(database: str, host: object) -> Env:
    e = await open_env(database)
    await login(e.client, e.shop, e.customer)
    yield e
    await e.client.aclose()


async def pay_form(env: Env, query: str) -> dict[str, object]:
    page = await env.client.get(env.shop.prefix + "/pagar?" + query)
    assert page.status_code == 200, page.text
    return {
        "clave": hidden(page.text, "clave"),
        "factura": re.findall(r'name="factura" value="(\d+)"', page.text),
    }


async def test_double_submit_creates_one_payment_and_one_charge(env: Env) -> None:
    ids = env.invoice_ids()
    form = await pay_form(env, f"factura={ids[0]}&factura={ids[1]}")
    form["metodo"] = "sandbox"
    first = await post_form(env.client, env.shop.prefix + "/pagar", form)
    second = await post_form(env.client, env.shop.prefix + "/pagar", form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert first.headers["location"].startswith("/sandbox/checkout/")
    # Two at the same time (two tabs, a frantic double tap) behave the same.
    form2 = await pay_form(env, f"factura={ids[2]}")
    form2["metodo"] = "sandbox"
    results = await asyncio.gather(
        *[post_form(env.client, env.shop.prefix + "/pagar", form2) for _ in range(3)]
    )
    assert len({r.headers["location"] for r in results}) == 1
    assert await env.shop.scope.count(Payment) == 2
    assert await unscoped(SandboxCharge).count() == 2


async def test_sandbox_approval_changes_the_balance(env: Env) -> None:
    ids = env.invoice_ids()
    form = await pay_form(env, f"factura={ids[0]}&factura={ids[1]}")
    form["metodo"] = "sandbox"
    checkout = (await post_form(env.client, env.shop.prefix + "/pagar", form)).headers["location"]
    decided = await post_form(env.client, checkout, {"decision": "approve"})
    result_url = decided.headers["location"].split("http://testserver", 1)[1]
    result = await env.client.get(result_url)
    assert 'data-status="approved"' in result.text and "recibo" in result.text
    statement = await env.client.get(env.shop.prefix + "/estado-de-cuenta")
    assert re.search(r'id="balance-due">\$250\.00<', statement.text)
    for invoice_id in ids[:2]:
        assert (await env.shop.scope.get(Invoice, invoice_id)).status == "paid"
    # The result fragment stops polling once final and answers 204 while nothing changes.
    fragment = await env.client.get(result_url + "?estado=approved", headers={"hx-request": "true"})
    assert fragment.status_code == 204
    history = await env.client.get(env.shop.prefix + "/pagos")
    assert "Ver recibo" in history.text


async def test_rejected_payment_offers_a_retry(env: Env) -> None:
    ids = env.invoice_ids()
    form = await pay_form(env, f"factura={ids[0]}")
    form["metodo"] = "sandbox"
    checkout = (await post_form(env.client, env.shop.prefix + "/pagar", form)).headers["location"]
    decided = await post_form(env.client, checkout, {"decision": "reject"})
    page = await env.client.get(decided.headers["location"].split("http://testserver", 1)[1])
    assert "Intentar de nuevo" in page.text and f"factura={ids[0]}" in page.text


async def test_amount_payment_with_bank_transfer_shows_instructions(env: Env) -> None:
    form = await pay_form(env, "monto=1")
    response = await post_form(
        env.client,
        env.shop.prefix + "/pagar",
        {"clave": form["clave"], "monto": "120.50", "metodo": "banktransfer"},
    )
    assert response.status_code == 303
    page = await env.client.get(response.headers["location"])
    assert "Banco Demo" in page.text and 'id="payment-reference"' in page.text
    assert "$120.50" in page.text
    payment = await env.shop.scope.objects(Payment).first()
    assert int(payment.amount) == 12_050 and payment.status == "pending"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"monto": "12,5", "metodo": "sandbox"}, "Escribe el monto así: 1,500.00"),
        ({"monto": "0", "metodo": "sandbox"}, "mayor que cero"),
        ({"monto": "999999", "metodo": "sandbox"}, "mayor que tu saldo"),
        ({"monto": "10", "metodo": "mercadopago"}, "Elige un medio de pago"),
        ({"monto": "10", "metodo": "sandbox", "clave": "x"}, "El formulario expiró"),
        ({"monto": "1e2", "metodo": "sandbox"}, "Escribe el monto así: 1,500.00"),
        ({"monto": "9999999999999999999", "metodo": "sandbox"}, "demasiado grande"),
    ],
)
async def test_bad_pay_input_is_a_clear_400(env: Env, fields: dict[str, str], message: str) -> None:
    form = await pay_form(env, "monto=1")
    data = {"clave": str(form["clave"]), **fields}
    response = await post_form(env.client, env.shop.prefix + "/pagar", data)
    assert response.status_code == 400 and message in response.text
    assert await env.shop.scope.count(Payment) == 0


async def test_pay_post_without_csrf_is_refused(env: Env) -> None:
    form = await pay_form(env, "monto=1")
    response = await env.client.post(
        env.shop.prefix + "/pagar",
        data={"clave": form["clave"], "monto": "10", "metodo": "sandbox"},
    )
    assert response.status_code == 403
    assert await env.shop.scope.count(Payment) == 0


async def test_an_amount_with_the_locales_grouping_is_accepted(env: Env) -> None:
    form = await pay_form(env, "monto=1")
    page = await env.client.get(env.shop.prefix + "/pagar?monto=1")
    assert "Por ejemplo: 1,500.00" in page.text and "pattern=" not in page.text
    response = await post_form(
        env.client,
        env.shop.prefix + "/pagar",
        {"clave": form["clave"], "monto": "1,500.00", "metodo": "banktransfer"},
    )
    assert response.status_code == 303, response.text
    payment = await env.shop.scope.objects(Payment).first()
    assert int(payment.amount) == 150_000


async def test_paying_selected_with_nothing_ticked_asks_again(env: Env) -> None:
    statement = await env.client.get(env.shop.prefix + "/estado-de-cuenta")
    assert 'name="seleccion" value="1"' in statement.text
    page = await env.client.get(env.shop.prefix + "/pagar?seleccion=1")
    assert page.status_code == 400
    assert "Selecciona al menos una factura" in page.text and 'id="monto"' not in page.text
    ticks = re.findall(r'type="checkbox" name="factura" value="(\d+)"', page.text)
    assert sorted(int(i) for i in ticks) == sorted(env.invoice_ids())
    # Sending that form with still nothing ticked asks again; ticking one pays that one.
    data = {"clave": hidden(page.text, "clave"), "seleccion": "1", "metodo": "banktransfer"}
    again = await post_form(env.client, env.shop.prefix + "/pagar", data)
    assert again.status_code == 400 and "Selecciona al menos una factura" in again.text
    ids = env.invoice_ids()
    paid = await post_form(env.client, env.shop.prefix + "/pagar", {**data, "factura": str(ids[1])})
    assert paid.status_code == 303
    payment = await env.shop.scope.objects(Payment).first()
    assert int(payment.amount) == 50_000


async def test_the_sandbox_fee_setting_is_shown_and_charged(env: Env) -> None:
    """``fee_percent_bp`` (typed as text, as a form or the CLI sends it) is a real fee: the pay
    page shows it next to the method and the sandbox checkout charges it on top."""
    await set_plugin(env.shop.scope, "sandbox", enabled=True, settings={"fee_percent_bp": "150"})
    ids = env.invoice_ids()
    page = await env.client.get(env.shop.prefix + f"/pagar?factura={ids[0]}")  # $1,000.00
    assert re.search(r"Comisión de la pasarela de prueba\s*\$15\.00", page.text), page.text
    form = await pay_form(env, f"factura={ids[0]}")
    form["metodo"] = "sandbox"
    checkout = (await post_form(env.client, env.shop.prefix + "/pagar", form)).headers["location"]
    assert checkout.startswith(f"/sandbox/checkout/{env.shop.slug}/")
    gateway = await env.client.get(checkout)
    assert gateway.status_code == 200
    assert "$1,015.00" in gateway.text and "Comisión: $15.00" in gateway.text
    # Without the setting there is no fee.
    await set_plugin(env.shop.scope, "sandbox", enabled=True, settings={})
    page = await env.client.get(env.shop.prefix + f"/pagar?factura={ids[1]}")
    assert "Comisión de la pasarela de prueba" not in page.text


async def test_the_sandbox_page_exists_only_under_its_own_tenant(env: Env) -> None:
    ids = env.invoice_ids()
    form = await pay_form(env, f"factura={ids[0]}")
    form["metodo"] = "sandbox"
    checkout = (await post_form(env.client, env.shop.prefix + "/pagar", form)).headers["location"]
    other = await make_tenant("otra-" + env.shop.slug[-6:], test=True)
    await set_plugin(TenantScope(int(other.id)), "sandbox", enabled=True)
    elsewhere = checkout.replace(f"/{env.shop.slug}/", f"/{other.slug}/")
    assert (await env.client.get(elsewhere)).status_code == 404
    assert (await env.client.get(checkout)).status_code == 200
