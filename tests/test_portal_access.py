"""Portal front door over HTTP: one-time links, sessions, rate limits, CSRF, the email channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest

from recaudo.core.access import links as access
from recaudo.core.tables import AuditEvent, MagicLink, NotificationLog, PortalSession
from recaudo.web.sessions import COOKIES
from tests.portal_support import (
    LINK_RE,
    Env,
    csrf,
    latest_link,
    login,
    open_env,
    post_form,
)
from tests.smtp import smtp_server


@pytest.fixture
async def env(database: str, host: object) -> Env:
    e = await open_env(database)
    yield e
    await e.client.aclose()


def _path(link: str) -> str:
    return link.split("http://testserver", 1)[1]


async def test_same_answer_whether_or_not_the_contact_exists(env: Env) -> None:
    c, shop = env.client, env.shop
    await c.get(shop.prefix + "/")
    known = await post_form(c, shop.prefix + "/acceso", {"contact": env.customer.email})
    unknown = await post_form(c, shop.prefix + "/acceso", {"contact": "nadie@example.com"})
    by_number = await post_form(c, shop.prefix + "/acceso", {"contact": env.customer.number})
    assert known.status_code == unknown.status_code == by_number.status_code == 200
    assert known.text == unknown.text == by_number.text
    assert "si los datos coinciden" in known.text.lower()
    sent = await shop.scope.count(NotificationLog)
    assert sent == 2  # email and customer number matched; the unknown address got nothing


async def test_link_is_hashed_long_and_short_lived(env: Env) -> None:
    await login(env.client, env.shop, env.customer)
    link = await latest_link(env.shop.scope, str(env.customer.email))
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes, base64url
    row = await env.shop.scope.objects(MagicLink).first()
    assert row.token_hash == access.token_hash(token) and token not in row.token_hash
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    assert expires - datetime.now(UTC) <= timedelta(minutes=15)


async def test_get_does_not_consume_and_post_consumes_once(env: Env) -> None:
    c, shop = env.client, env.shop
    await c.get(shop.prefix + "/")
    await post_form(c, shop.prefix + "/acceso", {"contact": env.customer.email})
    path = _path(await latest_link(shop.scope, str(env.customer.email)))
    for _ in range(2):  # a mail scanner fetching the link changes nothing
        page = await c.get(path)
        assert page.status_code == 200 and "Entrar" in page.text
    first = await post_form(c, path)
    assert first.status_code == 303
    assert first.headers["location"].endswith("/estado-de-cuenta")
    assert COOKIES["customer"] in first.cookies
    again = await post_form(c, path)
    assert again.status_code == 410 and "ya se usó" in again.text
    assert (await c.get(path)).status_code == 410


async def test_expired_link_fails_clearly(env: Env) -> None:
    scope = env.shop.scope
    token = await access.issue_link(scope, int(env.customer.id))
    await scope.update(
        MagicLink, {MagicLink.expires_at: datetime.now(UTC) - timedelta(seconds=1)}
    ).where(MagicLink.token_hash == access.token_hash(token))
    page = await env.client.get(env.shop.prefix + f"/acceso/{token}")
    assert page.status_code == 410 and "venció" in page.text
    response = await post_form(env.client, env.shop.prefix + f"/acceso/{token}")
    assert response.status_code == 410
    assert COOKIES["customer"] not in response.cookies


async def test_unknown_token_is_rejected(env: Env) -> None:
    response = await env.client.get(env.shop.prefix + "/acceso/" + "A" * 43)
    assert response.status_code == 410


async def test_rate_limited_per_contact_with_the_same_answer_for_strangers(env: Env) -> None:
    c, shop = env.client, env.shop
    await c.get(shop.prefix + "/")
    for contact in (str(env.customer.email), "nadie@example.com"):
        codes = [
            (await post_form(c, shop.prefix + "/acceso", {"contact": contact})).status_code
            for _ in range(access.MAX_PER_CONTACT + 1)
        ]
        assert codes == [200] * access.MAX_PER_CONTACT + [429]
    # Spelling tricks do not dodge the limit.
    shouted = await post_form(c, shop.prefix + "/acceso", {"contact": " NADIE@Example.com "})
    assert shouted.status_code == 429
    links = await shop.scope.count(MagicLink)
    assert links == access.MAX_PER_CONTACT


async def test_rate_limited_per_ip(env: Env) -> None:
    c, shop = env.client, env.shop
    await c.get(shop.prefix + "/")
    for i in range(access.MAX_PER_IP):
        response = await post_form(c, shop.prefix + "/acceso", {"contact": f"x{i}@example.com"})
        assert response.status_code == 200
    blocked = await post_form(c, shop.prefix + "/acceso", {"contact": "otro@example.com"})
    assert blocked.status_code == 429
    # Attempts are rows in the database (shared by every web process), keyed by hashes only.
    rows = await shop.scope.select(AuditEvent, AuditEvent.actor, AuditEvent.subject)
    assert all("@" not in r["subject"] and "127.0.0.1" not in r["actor"] for r in rows)


async def test_csrf_is_enforced(env: Env) -> None:
    c, shop = env.client, env.shop
    await c.get(shop.prefix + "/")
    assert csrf(c)
    missing = await c.post(shop.prefix + "/acceso", data={"contact": env.customer.email})
    assert missing.status_code == 403
    forged = await c.post(
        shop.prefix + "/acceso", data={"contact": env.customer.email, "_csrf_token": "forged"}
    )
    assert forged.status_code == 403
    assert await shop.scope.count(MagicLink) == 0


async def test_login_rotates_the_session_and_logout_ends_it(env: Env) -> None:
    c, shop = env.client, env.shop
    await login(c, shop, env.customer)
    first = c.cookies.get(COOKIES["customer"])
    await login(c, shop, env.customer)
    second = c.cookies.get(COOKIES["customer"])
    assert first and second and first != second
    assert await shop.scope.count(PortalSession) == 1  # the old session was dropped
    assert (await c.get(shop.prefix + "/estado-de-cuenta")).status_code == 200
    out = await post_form(c, shop.prefix + "/salir")
    assert out.status_code == 303
    after = await c.get(shop.prefix + "/estado-de-cuenta")
    assert after.status_code == 303


async def test_pages_without_a_session_go_to_the_front_door(env: Env) -> None:
    c, shop = env.client, env.shop
    for path in (
        "/estado-de-cuenta",
        "/pagos",
        "/pagar",
        "/ayuda/chat",
        "/preferencias",
        "/no-puedo-pagar",
        f"/facturas/{env.invoice_ids()[0]}",
        "/comprobantes",
    ):
        response = await c.get(shop.prefix + path)
        assert response.status_code == 303, path
        wanted = "" if path == "/estado-de-cuenta" else "&siguiente=" + quote(path, safe="")
        assert response.headers["location"] == f"{shop.prefix}/?sesion=expirada{wanted}"
    polled = await c.get(shop.prefix + "/estado-de-cuenta", headers={"hx-request": "true"})
    assert polled.headers.get("hx-redirect") == f"{shop.prefix}/?sesion=expirada"


async def test_after_signing_in_the_customer_lands_on_the_page_they_asked_for(env: Env) -> None:
    invoice_id = env.invoice_ids()[2]
    asked = f"{env.shop.prefix}/facturas/{invoice_id}?lang=en"
    door = await env.client.get(asked)
    front = await env.client.get(door.headers["location"])
    wanted = f"/facturas/{invoice_id}?lang=en"
    assert f'name="next" value="{wanted}"' in front.text
    await post_form(
        env.client, env.shop.prefix + "/acceso", {"contact": env.customer.email, "next": wanted}
    )
    link = await latest_link(env.shop.scope, str(env.customer.email))
    landed = await post_form(env.client, _path(link))
    assert landed.headers["location"] == env.shop.prefix + wanted
    # Somewhere outside the portal is never remembered (no open redirect through the front door).
    outside = await env.client.get(env.shop.prefix + "/?siguiente=https://evil.example/")
    assert outside.status_code == 200 and "evil.example" not in outside.text
    await post_form(
        env.client,
        env.shop.prefix + "/acceso",
        {"contact": env.customer.email, "next": "https://evil.example/"},
    )
    link = await latest_link(env.shop.scope, str(env.customer.email))
    landed = await post_form(env.client, _path(link))
    assert landed.headers["location"] == env.shop.prefix + "/estado-de-cuenta"


async def test_expired_session_is_refused(env: Env) -> None:
    await login(env.client, env.shop, env.customer)
    await env.shop.scope.update(
        PortalSession, {PortalSession.expires_at: datetime.now(UTC) - timedelta(seconds=1)}
    )
    assert (await env.client.get(env.shop.prefix + "/estado-de-cuenta")).status_code == 303


async def test_deep_link_opens_the_exact_invoice(env: Env) -> None:
    invoice_id = env.invoice_ids()[1]
    link = await access.deep_link(
        env.shop.scope, "http://testserver" + env.shop.prefix, int(env.customer.id), invoice_id
    )
    assert LINK_RE.match(link)
    await env.client.get(_path(link))
    response = await post_form(env.client, _path(link))
    assert response.status_code == 303
    assert response.headers["location"] == f"{env.shop.prefix}/facturas/{invoice_id}"
    page = await env.client.get(response.headers["location"])
    assert page.status_code == 200
    # Used (or expired) deep links offer a fresh link that still opens the same invoice.
    spent = await env.client.get(_path(link))
    assert spent.status_code == 410 and f'name="next" value="/facturas/{invoice_id}"' in spent.text
    await post_form(
        env.client,
        env.shop.prefix + "/acceso",
        {"contact": env.customer.email, "next": f"/facturas/{invoice_id}"},
    )
    fresh = await latest_link(env.shop.scope, str(env.customer.email))
    await env.client.get(_path(fresh))
    again = await post_form(env.client, _path(fresh))
    assert again.headers["location"] == f"{env.shop.prefix}/facturas/{invoice_id}"


def test_targets_never_leave_the_portal() -> None:
    for bad in ("https://evil.example", "//evil.example", "/\\evil", "facturas/1", "/a\nb"):
        assert access.safe_target(bad) == ""
    assert access.safe_target("/facturas/7") == "/facturas/7"


async def test_english_front_door(env: Env) -> None:
    page = await env.client.get(env.shop.prefix + "/?lang=en")
    assert "Send me a sign-in link" in page.text and 'lang="en' in page.text


async def test_link_arrives_through_a_real_smtp_server(database: str, host: object) -> None:
    with smtp_server() as (url, capture):
        env = await open_env(database, smtp_url=url)
        try:
            c, shop = env.client, env.shop
            await c.get(shop.prefix + "/?lang=en")
            response = await post_form(c, shop.prefix + "/acceso", {"contact": env.customer.email})
            assert response.status_code == 200
        finally:
            await env.client.aclose()
    assert len(capture.messages) == 1
    message = capture.messages[0]
    assert message["To"] == env.customer.email
    assert shop.tenant.name in message["From"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = LINK_RE.search(text).group(0)
    assert link in html
    assert "sign-in link" in message["Subject"]  # the visitor asked in English
    # The log keeps a record without the usable token once a real server delivered it.
    logged = await shop.scope.select(NotificationLog, NotificationLog.body_text).first()
    assert link.rsplit("/", 1)[1] not in logged["body_text"]
    # The captured link works.
    client = httpx.AsyncClient(transport=httpx.ASGITransport(env.app), base_url="http://testserver")
    async with client:
        await client.get(_path(link))
        assert (await post_form(client, _path(link))).status_code == 303
