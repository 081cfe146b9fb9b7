"""Input no one should send gets a 4xx the sender can act on, never a 500 (issue 8, items 6–7).

Ids beyond the 32-bit keys, webhooks that are huge, deep or not objects, amounts in exponent
notation or beyond any real payment, oversized uploads, a tampered currency and proof files
whose names lie about their content.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from recaudo.core.access.staff import create_staff
from recaudo.core.tables import OutboxJob, PaymentProof, ProviderEvent
from recaudo.plugins.sandbox import sign
from recaudo.tenants.plugin_config import set_plugin
from tests.portal_support import Env, csrf, login, open_env

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"0" * 64
HTML = {"accept": "text/html,application/xhtml+xml"}
MB = 1024 * 1024


@pytest.fixture
async def env(database: str, host: object) -> AsyncIterator[Env]:
    e = await open_env(database)
    await login(e.client, e.shop, e.customer)
    yield e
    await e.client.aclose()


# --- ids ------------------------------------------------------------------------------------


async def test_ids_beyond_the_keys_are_unknown_ids(env: Env) -> None:
    """On PostgreSQL 2^31 used to reach the query and fail there (a 500); now every id route
    answers it like an id that exists nowhere, with the same friendly page."""
    p = env.shop.prefix
    unknown = await env.client.get(f"{p}/facturas/2147483647", headers=HTML)
    assert unknown.status_code == 404
    for path in (
        f"{p}/facturas/2147483648",
        f"{p}/facturas/9223372036854775807/documento",
        f"{p}/pagos/18446744073709551616",
        f"{p}/facturas/-2147483649/aclaracion",
        f"{p}/pagos/{'9' * 400}",
    ):
        response = await env.client.get(path, headers=HTML)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "No encontrado" in response.text or "no encontrada" in response.text.lower()
    user = await create_staff(env.shop.scope, "ids@example.com", "una-clave-larga", "owner")
    await env.client.post(
        f"{p}/staff/login",
        data={"email": user.email, "password": "una-clave-larga", "_csrf_token": csrf(env.client)},
    )
    for path in (f"{p}/staff/proofs/2147483648/file", f"{p}/staff/chats/9223372036854775807"):
        assert (await env.client.get(path)).status_code == 404, path
    confirm = await env.client.post(
        f"{p}/staff/proofs/2147483648/confirm", data={"_csrf_token": csrf(env.client)}
    )
    assert confirm.status_code == 404


async def test_form_ids_beyond_the_keys_are_ignored(env: Env) -> None:
    """A tampered invoice checkbox value names no invoice; the proof is stored without it."""
    response = await _upload(
        env, PNG, "r.png", factura=["2147483648", "9223372036854775808", str(env.invoice_ids()[0])]
    )
    assert response.status_code == 303, response.text
    proof = await env.shop.scope.objects(PaymentProof).first()
    assert [int(i) for i in _ids(proof.invoice_ids)] == [env.invoice_ids()[0]]


def _ids(value: object) -> list[object]:
    import json

    return json.loads(value) if isinstance(value, str) else list(value)  # type: ignore[arg-type]


# --- webhooks -------------------------------------------------------------------------------


@pytest.fixture
async def hooks(env: Env) -> Env:
    await set_plugin(
        env.shop.scope,
        "mercadopago",
        enabled=True,
        settings={"access_token": "TEST-token", "webhook_secret": "whsec-0123456789"},
        secret_key="x" * 40,
    )
    return env


async def _no_events(env: Env) -> None:
    assert await env.shop.scope.count(ProviderEvent) == 0
    assert (
        await env.shop.scope.count(OutboxJob).where(OutboxJob.actor == "process_provider_event")
        == 0
    )


async def test_a_webhook_body_over_64_kib_is_413_before_anything(hooks: Env) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    for plugin in ("mercadopago", "sandbox"):
        response = await hooks.client.post(
            f"/hooks/{plugin}/{hooks.shop.slug}",
            content=body,
            headers={"x-signature": "ts=1,v1=00", "x-sandbox-signature": sign(body, 1)},
        )
        assert response.status_code == 413, plugin
        assert response.json()["status_code"] == 413
    await _no_events(hooks)


async def test_deep_json_is_never_recursed_into(hooks: Env) -> None:
    """Under the size limit a body can still nest 30,000 levels: Mercado Pago's forged one is a
    401 (the body is read only for a request that carries a signature, and then bounded), and a
    correctly signed sandbox one is a 400."""
    deep = b"[" * 30_000 + b"]" * 30_000
    mp = await hooks.client.post(
        f"/hooks/mercadopago/{hooks.shop.slug}?type=payment",
        content=deep,
        headers={"x-signature": f"ts={int(time.time())},v1={'0' * 64}", "x-request-id": "r"},
    )
    assert mp.status_code == 401
    ts = int(time.time())
    sandbox = await hooks.client.post(
        f"/hooks/sandbox/{hooks.shop.slug}",
        content=deep,
        headers={"x-sandbox-signature": sign(deep, ts)},
    )
    assert sandbox.status_code == 400 and "malformed" in sandbox.json()["detail"]
    await _no_events(hooks)


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b'"text"',
        b"null",
        b'{"id": ["a"], "event_id": "e"}',
        b'{"id": "a", "event_id": {"x": 1}}',
        b'{"id": "a"}',
        b"\xff\xfe not utf-8",
    ],
)
async def test_a_signed_sandbox_webhook_that_is_not_our_object_is_400(
    hooks: Env, body: bytes
) -> None:
    response = await hooks.client.post(
        f"/hooks/sandbox/{hooks.shop.slug}",
        content=body,
        headers={"x-sandbox-signature": sign(body, int(time.time()))},
    )
    assert response.status_code == 400, response.text
    await _no_events(hooks)


# --- amounts --------------------------------------------------------------------------------


async def _upload(
    env: Env,
    content: bytes,
    name: str,
    amount: str = "100",
    factura: list[str] | None = None,
    headers: dict[str, str] | None = None,
    **extra: str,
) -> httpx.Response:
    return await env.client.post(
        env.shop.prefix + "/comprobantes",
        data={"monto": amount, "factura": factura or [], "_csrf_token": csrf(env.client), **extra},
        files={"archivo": (name, content, "application/octet-stream")},
        headers=headers or HTML,
    )


def _field(html: str, name: str) -> str:
    match = re.search(rf'<input id="{name}"[^>]*>', html)
    assert match, f"no {name} field"
    return match.group(0)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1e9", "Escribe el monto así: 1,500.00"),
        ("1e30", "Escribe el monto así: 1,500.00"),
        ("9999999999999999999", "El monto es demasiado grande"),
        ("1000000000000.01", "El monto es demasiado grande"),
    ],
)
async def test_amounts_no_one_pays_are_refused_on_the_form(
    env: Env, amount: str, message: str
) -> None:
    """``1e9`` used to be accepted as 1,000,000,000; 10^19 overflowed the column (a 500)."""
    response = await _upload(env, PNG, "r.png", amount)
    assert response.status_code == 400
    assert message in response.text
    monto = _field(response.text, "monto")
    assert f'value="{amount}"' in monto and 'aria-invalid="true"' in monto
    assert await env.shop.scope.count(PaymentProof) == 0


async def test_the_proof_currency_is_the_tenants(env: Env) -> None:
    """The form used to carry the currency in a hidden field the customer could change."""
    page = await env.client.get(env.shop.prefix + "/comprobantes")
    assert 'name="moneda"' not in page.text
    response = await _upload(env, PNG, "r.png", "100", moneda="KWD")
    assert response.status_code == 303
    proof = await env.shop.scope.objects(PaymentProof).first()
    assert (proof.currency, int(proof.amount)) == ("MXN", 10_000)


# --- uploads --------------------------------------------------------------------------------


async def test_upload_errors_keep_what_was_typed_and_point_at_the_file(env: Env) -> None:
    for content, name, status, message in (
        (PNG + b"\x00" * (6 * MB), "foto.png", 413, "El archivo pesa más de 5 MB"),
        (b"MZ\x90\x00 not a proof", "factura.exe", 415, "Solo aceptamos"),
        (b"", "vacio.png", 400, "Adjunta el archivo"),
    ):
        ticked = str(env.invoice_ids()[1])
        response = await _upload(env, content, name, "1234.50", factura=[ticked])
        assert response.status_code == status, name
        assert response.headers["content-type"].startswith("text/html")
        assert message in response.text
        archivo = _field(response.text, "archivo")
        assert 'aria-invalid="true"' in archivo and 'aria-describedby="proof-error"' in archivo
        assert 'value="1234.50"' in _field(response.text, "monto")
        assert f'name="factura" value="{ticked}" checked>' in response.text
        assert response.text.count(" checked>") == 1
    assert await env.shop.scope.count(PaymentProof) == 0


async def test_an_upload_beyond_the_body_limit_gets_the_form_back(env: Env) -> None:
    """Litestar refuses such a body before our handler runs; a browser used to see raw JSON."""
    huge = PNG + b"\x00" * (17 * MB)
    browser = await _upload(env, huge, "enorme.png", "99")
    assert browser.status_code == 303
    assert browser.headers["location"] == f"{env.shop.prefix}/comprobantes?aviso=archivo-grande"
    page = await env.client.get(browser.headers["location"], headers=HTML)
    assert page.status_code == 200 and "El archivo pesa más de 5 MB" in page.text
    assert 'aria-invalid="true"' in _field(page.text, "archivo")
    api = await _upload(env, huge, "enorme.png", "99", headers={"accept": "application/json"})
    assert api.status_code == 413 and api.json()["status_code"] == 413
    assert await env.shop.scope.count(PaymentProof) == 0


async def test_a_downloaded_proof_is_named_by_its_content(env: Env) -> None:
    """``poly.html`` (a PDF that is also HTML) and a PNG called ``factura.exe`` are served as
    what their bytes are, under our own name, never the customer's extension."""
    for content, name in ((PDF + b"<html><script>x</script>", "poly.html"), (PNG, "factura.exe")):
        assert (await _upload(env, content, name)).status_code == 303
    ids = [int(r["id"]) for r in await env.shop.scope.select(PaymentProof, PaymentProof.id)]
    user = await create_staff(env.shop.scope, "dl@example.com", "una-clave-larga", "viewer")
    await env.client.post(
        f"{env.shop.prefix}/staff/login",
        data={"email": user.email, "password": "una-clave-larga", "_csrf_token": csrf(env.client)},
    )
    got = [await env.client.get(f"{env.shop.prefix}/staff/proofs/{i}/file") for i in sorted(ids)]
    first, second = sorted(ids)
    assert [(r.status_code, r.headers["content-type"]) for r in got] == [
        (200, "application/pdf"),
        (200, "image/png"),
    ]
    assert (
        got[0].headers["content-disposition"] == f'attachment; filename="comprobante-{first}.pdf"'
    )
    assert got[1].headers["content-disposition"] == (
        f'attachment; filename="comprobante-{second}.png"'
    )
    assert all(r.headers["x-content-type-options"] == "nosniff" for r in got)
