"""Rate limits hold under concurrency (issue 8, item 4), on SQLite and PostgreSQL.

They used to count earlier attempts and record this one afterwards, so simultaneous requests all
passed the check: 30 link requests for one contact issued 21 links (limit 3), 30 wrong passwords
for one staff email were all checked (limit 5). These tests fire the requests at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from recaudo.core.access import links as access
from recaudo.core.access import staff as staff_module
from recaudo.core.access.staff import MAX_FAILURES_PER_EMAIL, MAX_FAILURES_PER_IP, create_staff
from recaudo.core.common import ratelimit
from recaudo.core.common.ratelimit import Limit
from recaudo.core.tables import AuditEvent, MagicLink, NotificationLog
from recaudo.tenants.models import RateLimitHit
from tests.portal_support import Env, make_shop, open_env

PASSWORD = "clave-de-prueba-123"


@pytest.fixture
async def env(database: str, host: object) -> AsyncIterator[Env]:
    e = await open_env(database)
    yield e
    await e.client.aclose()


async def _csrf(env: Env, path: str) -> str:
    await env.client.get(path)
    return str(env.client.cookies["csrftoken"])


async def _post_from(env: Env, ip: str, path: str, token: str, data: dict[str, str]) -> int:
    """One POST from its own client at ``ip`` (the peer address the app sees)."""
    transport = httpx.ASGITransport(app=env.app, client=(ip, 40000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies={"csrftoken": token}
    ) as c:
        response = await c.post(path, data={"_csrf_token": token, **data})
        assert response.status_code < 500, response.text
        return response.status_code


# --- the primitive ---------------------------------------------------------------------------


async def test_concurrent_hits_never_pass_the_limit(database: str) -> None:
    limit = Limit("test:concurrent", 3, ratelimit.KEEP)
    results = await asyncio.gather(*(ratelimit.hit([limit]) for _ in range(30)))
    assert sum(r is not None for r in results) == 3
    assert await RateLimitHit.count().where(RateLimitHit.bucket == "test:concurrent") == 3


async def test_a_refused_hit_records_nothing_in_any_bucket(database: str) -> None:
    full = Limit("test:full", 1, ratelimit.KEEP)
    other = Limit("test:other", 10, ratelimit.KEEP)
    assert await ratelimit.hit([full]) is not None
    assert await ratelimit.hit([other, full]) is None
    assert await RateLimitHit.count().where(RateLimitHit.bucket == "test:other") == 0


async def test_window_slides_and_old_hits_are_pruned(database: str) -> None:
    now = int(time.time() * 1000)
    limit = Limit("test:window", 2, ratelimit.KEEP)
    keep_ms = int(ratelimit.KEEP.total_seconds() * 1000)
    assert await ratelimit.hit([limit], now_ms=now - keep_ms - 1) is not None
    assert await ratelimit.hit([limit], now_ms=now - 1000) is not None
    # The first hit is outside the window now: one more fits, then the limit holds.
    assert await ratelimit.hit([limit], now_ms=now) is not None
    assert await ratelimit.hit([limit], now_ms=now) is None
    assert await ratelimit.prune(now_ms=now) == 1
    assert await RateLimitHit.count() == 2


# --- sign-in links ---------------------------------------------------------------------------


@pytest.mark.slow
async def test_simultaneous_link_requests_for_one_contact_issue_three_links(env: Env) -> None:
    shop = env.shop
    token = await _csrf(env, shop.prefix + "/")
    codes = await asyncio.gather(
        *(
            _post_from(
                env,
                f"10.0.{i // 250}.{i % 250 + 1}",
                shop.prefix + "/acceso",
                token,
                {"contact": str(env.customer.email)},
            )
            for i in range(30)
        )
    )
    assert sorted(codes) == [200] * access.MAX_PER_CONTACT + [429] * (30 - access.MAX_PER_CONTACT)
    assert await shop.scope.count(MagicLink) == access.MAX_PER_CONTACT
    assert await shop.scope.count(NotificationLog) == access.MAX_PER_CONTACT


@pytest.mark.slow
async def test_simultaneous_link_requests_from_one_ip_stop_at_the_limit(env: Env) -> None:
    shop = env.shop
    token = await _csrf(env, shop.prefix + "/")
    codes = await asyncio.gather(
        *(
            _post_from(
                env, "203.0.113.7", shop.prefix + "/acceso", token, {"contact": f"p{i}@example.com"}
            )
            for i in range(60)
        )
    )
    assert codes.count(200) == access.MAX_PER_IP and codes.count(429) == 60 - access.MAX_PER_IP


@pytest.mark.slow
async def test_the_per_ip_link_limit_spans_tenants(env: Env) -> None:
    other = await make_shop("otra")
    token = await _csrf(env, env.shop.prefix + "/")
    codes = await asyncio.gather(
        *(
            _post_from(
                env,
                "198.51.100.9",
                (env.shop if i % 2 else other).prefix + "/acceso",
                token,
                {"contact": f"q{i}@example.com"},
            )
            for i in range(2 * access.MAX_PER_IP)
        )
    )
    assert codes.count(200) == access.MAX_PER_IP


# --- staff sign-in ---------------------------------------------------------------------------


class _CountingHasher:
    """Wraps the argon2 hasher to count password checks."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.checks = 0

    def verify(self, hashed: str, password: str) -> bool:
        self.checks += 1
        return bool(self.inner.verify(hashed, password))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> _CountingHasher:
    counting = _CountingHasher(staff_module._hasher)
    monkeypatch.setattr(staff_module, "_hasher", counting)
    return counting


@pytest.mark.slow
async def test_simultaneous_wrong_passwords_for_one_email_are_checked_five_times(
    env: Env, hasher: _CountingHasher
) -> None:
    shop = env.shop
    await create_staff(shop.scope, "jefa@tienda.example", PASSWORD, "owner")
    login = shop.prefix + "/staff/login"
    token = await _csrf(env, login)
    hasher.checks = 0
    codes = await asyncio.gather(
        *(
            _post_from(
                env,
                f"10.1.0.{i + 1}",
                login,
                token,
                {"email": "jefa@tienda.example", "password": f"mala-clave-{i:03d}"},
            )
            for i in range(30)
        )
    )
    assert hasher.checks == MAX_FAILURES_PER_EMAIL
    assert codes.count(401) == MAX_FAILURES_PER_EMAIL and codes.count(429) == 25
    failed = await shop.scope.count(AuditEvent).where(AuditEvent.action == "staff.login_failed")
    assert failed == MAX_FAILURES_PER_EMAIL


@pytest.mark.slow
async def test_simultaneous_logins_from_one_ip_are_checked_at_most_twenty_times(
    env: Env, hasher: _CountingHasher
) -> None:
    shop = env.shop
    login = shop.prefix + "/staff/login"
    token = await _csrf(env, login)
    hasher.checks = 0
    codes = await asyncio.gather(
        *(
            _post_from(
                env,
                "192.0.2.44",
                login,
                token,
                {"email": f"intruso{i}@tienda.example", "password": "x" * 12},
            )
            for i in range(40)
        )
    )
    assert hasher.checks == MAX_FAILURES_PER_IP
    assert codes.count(401) == MAX_FAILURES_PER_IP and codes.count(429) == 40 - MAX_FAILURES_PER_IP


@pytest.mark.slow
async def test_successful_logins_do_not_use_up_the_address(env: Env) -> None:
    """An office behind one address signs in all day: only failures count against it."""
    shop = env.shop
    await create_staff(shop.scope, "caja@tienda.example", PASSWORD, "collector")
    login = shop.prefix + "/staff/login"
    token = await _csrf(env, login)
    for _ in range(MAX_FAILURES_PER_IP + 2):
        code = await _post_from(
            env, "192.0.2.80", login, token, {"email": "caja@tienda.example", "password": PASSWORD}
        )
        assert code == 303


@pytest.mark.slow
async def test_the_per_ip_staff_limit_spans_tenants(env: Env) -> None:
    other = await make_shop("otra")
    await create_staff(env.shop.scope, "jefa@tienda.example", PASSWORD, "owner")
    token = await _csrf(env, env.shop.prefix + "/staff/login")
    for i in range(MAX_FAILURES_PER_IP):
        shop = env.shop if i % 2 else other
        wrong = {"email": f"nadie{i}@example.com", "password": "x" * 12}
        assert (
            await _post_from(env, "192.0.2.90", shop.prefix + "/staff/login", token, wrong) == 401
        )
    right = {"email": "jefa@tienda.example", "password": PASSWORD}
    login = env.shop.prefix + "/staff/login"
    assert await _post_from(env, "192.0.2.90", login, token, right) == 429
    assert await _post_from(env, "192.0.2.91", login, token, right) == 303


async def test_the_scheduler_prunes_old_hits_in_its_hourly_housekeeping(database: str) -> None:
    from datetime import UTC, datetime

    from recaudo.workers.scheduler import Scheduler

    now = datetime.now(UTC)
    now_ms = int(now.timestamp() * 1000)
    keep_ms = int(ratelimit.KEEP.total_seconds() * 1000)
    await RateLimitHit(bucket="test:old", at_ms=now_ms - keep_ms - 1).save()
    await RateLimitHit(bucket="test:fresh", at_ms=now_ms - 1000).save()
    assert "housekeeping" in await Scheduler().tick(now)
    buckets = [r["bucket"] for r in await RateLimitHit.select(RateLimitHit.bucket)]
    assert buckets == ["test:fresh"]
