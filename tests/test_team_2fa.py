"""TOTP two-factor sign-in for staff: enrol (confirmed by a code), sign in with a code, replays
and wrong codes refused, recovery codes, disabling, and the "owners must use 2FA" policy."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pyotp
import pytest

from recaudo.core.access import totp
from recaudo.core.common.jsonfield import loads
from recaudo.core.tables import AuditEvent, StaffTotp, StaffUser
from tests.team_support import team_world  # noqa: F401  (fixture)
from tests.test_staff_http import (
    Side,
    World,
    client,
    login,
    post,
    signed_in,
)

SECRET_KEY = "x" * 40  # the world app's RECAUDO_SECRET_KEY


@pytest.fixture
def world(team_world: World) -> World:  # noqa: F811
    return team_world


def code_at(secret: str, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(int(time.time()) + offset * totp.STEP)


async def enrol(c: httpx.AsyncClient, side: Side) -> tuple[str, list[str], str]:
    """Switch 2FA on through the pages; returns the secret, the recovery codes and the code that
    confirmed enrolment (kept: recomputed later, a new 30-second step would give another)."""
    started = await post(c, side, f"{side.staff}/cuenta/seguridad/iniciar")
    assert started.status_code == 303
    page = await c.get(f"{side.staff}/cuenta/seguridad")
    assert page.status_code == 200 and "<svg" in page.text  # the QR code, inline
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', page.text).group(1)
    wrong = await post(c, side, f"{side.staff}/cuenta/seguridad/confirmar", {"code": "000000"})
    assert wrong.status_code == 400
    confirming = code_at(secret, -1)
    done = await post(c, side, f"{side.staff}/cuenta/seguridad/confirmar", {"code": confirming})
    assert done.status_code == 200 and 'id="recovery-codes"' in done.text
    codes = re.findall(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", done.text)
    assert len(codes) == totp.RECOVERY_CODES
    return secret, codes, confirming


async def _user(side: Side, role: str) -> StaffUser:
    return await side.scope.objects(StaffUser).where(StaffUser.email == side.email(role)).first()


async def test_enrol_then_sign_in_with_a_code_and_never_the_same_code_twice(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "viewer") as c:  # every role secures its own account
        secret, _codes, confirming = await enrol(c, a)
        page = await c.get(f"{a.staff}/cuenta/seguridad")
        assert 'id="totp-status"' in page.text and "Activada" in page.text
        assert secret not in page.text  # the secret is shown only while enrolling
    row = await a.scope.objects(StaffTotp).first()
    assert row.enabled and secret not in str(row.secret)  # encrypted at rest
    async with client(world) as c:
        first = await login(c, a, "viewer")
        assert first.status_code == 303
        assert first.headers["location"] == f"{a.staff}/login/codigo"
        # the password alone opened no session
        assert (await c.get(f"{a.staff}/")).status_code == 303
        form = await c.get(f"{a.staff}/login/codigo")
        assert form.status_code == 200 and 'autocomplete="one-time-code"' in form.text
        # the code used to confirm enrolment is spent
        replay = await post(c, a, f"{a.staff}/login/codigo", {"code": confirming})
        assert replay.status_code == 401
        good = code_at(secret, 0)
        ok = await post(c, a, f"{a.staff}/login/codigo", {"code": good})
        assert ok.status_code == 303 and ok.headers["location"] == f"{a.staff}/"
        assert (await c.get(f"{a.staff}/")).status_code == 200
    async with client(world) as c:
        assert (await login(c, a, "viewer")).status_code == 303
        again = await post(c, a, f"{a.staff}/login/codigo", {"code": good})
        assert again.status_code == 401  # a code is accepted once
        assert (await c.get(f"{a.staff}/")).status_code == 303
    logins = await a.scope.select(AuditEvent).where(AuditEvent.action == "staff.login")
    assert any(loads(e["data"], {}).get("second_factor") == "totp" for e in logins)


async def test_concurrent_uses_of_one_code_let_one_through(world: World) -> None:
    a = world.a
    user = await _user(a, "collector")
    secret = await totp.start_enrolment(a.scope, user, SECRET_KEY)
    assert await totp.confirm_enrolment(a.scope, user, code_at(secret, -1), SECRET_KEY)
    code = code_at(secret, 0)
    results = await asyncio.gather(
        *(totp.verify(a.scope, int(user.id), code, SECRET_KEY) for _ in range(4))
    )
    assert sorted(r or "" for r in results) == ["", "", "", "totp"]


async def test_concurrent_uses_of_one_recovery_code_let_one_through(world: World) -> None:
    a = world.a
    user = await _user(a, "viewer")
    secret = await totp.start_enrolment(a.scope, user, SECRET_KEY)
    codes = await totp.confirm_enrolment(a.scope, user, code_at(secret, -1), SECRET_KEY)
    assert codes
    results = await asyncio.gather(
        *(totp.verify(a.scope, int(user.id), codes[0], SECRET_KEY) for _ in range(4))
    )
    assert sorted(r or "" for r in results) == ["", "", "", "recovery"]
    assert await totp.recovery_left(a.scope, int(user.id)) == totp.RECOVERY_CODES - 1


async def test_wrong_codes_are_limited(world: World) -> None:
    a = world.a
    user = await _user(a, "collector")
    secret = await totp.start_enrolment(a.scope, user, SECRET_KEY)
    assert await totp.confirm_enrolment(a.scope, user, code_at(secret, -1), SECRET_KEY)
    async with client(world) as c:
        assert (await login(c, a, "collector")).status_code == 303
        codes = [
            (await post(c, a, f"{a.staff}/login/codigo", {"code": "123456"})).status_code
            for _ in range(totp.MAX_CODE_FAILURES)
        ]
        assert codes == [401] * totp.MAX_CODE_FAILURES
        limited = await post(c, a, f"{a.staff}/login/codigo", {"code": code_at(secret, 0)})
        assert limited.status_code == 429 and "retry-after" in limited.headers
        assert (await c.get(f"{a.staff}/")).status_code == 303
    failed = await a.scope.count(AuditEvent).where(AuditEvent.action == "staff.2fa_failed")
    assert failed == totp.MAX_CODE_FAILURES


async def test_without_a_pending_sign_in_the_code_page_sends_to_login(world: World) -> None:
    a = world.a
    async with client(world) as c:
        page = await c.get(f"{a.staff}/login/codigo")
        assert page.status_code == 303 and "/login?vencido=1" in page.headers["location"]
        tried = await post(c, a, f"{a.staff}/login/codigo", {"code": "123456"})
        assert tried.status_code == 303
        c.cookies.set("recaudo_staff_2fa", "forged", path=a.staff)
        assert (await post(c, a, f"{a.staff}/login/codigo", {"code": "1"})).status_code == 303
        notice = await c.get(f"{a.staff}/login?vencido=1")
        assert "Tu inicio de sesión venció" in notice.text


async def test_recovery_codes_work_once_and_disabling_needs_a_code(world: World) -> None:
    a = world.a
    async with signed_in(world, a, "collector") as c:
        secret, codes, _confirming = await enrol(c, a)
    async with client(world) as c:
        assert (await login(c, a, "collector")).status_code == 303
        ok = await post(c, a, f"{a.staff}/login/codigo", {"code": codes[0]})
        assert ok.status_code == 303
        page = await c.get(f"{a.staff}/cuenta/seguridad")
        assert f"{totp.RECOVERY_CODES - 1}" in page.text
        wrong = await post(c, a, f"{a.staff}/cuenta/seguridad/desactivar", {"code": "999999"})
        assert wrong.status_code == 400
        off = await post(
            c, a, f"{a.staff}/cuenta/seguridad/desactivar", {"code": code_at(secret, 0)}
        )
        assert off.status_code == 303
    async with client(world) as c:
        assert (await login(c, a, "collector")).status_code == 303
        assert (await c.get(f"{a.staff}/")).status_code == 200  # no code asked any more
    async with client(world) as c:
        # a recovery code from before is gone with the secret
        assert not await totp.verify(
            a.scope, int((await _user(a, "collector")).id), codes[1], SECRET_KEY
        )
    actions = {
        e["action"]
        for e in await a.scope.select(AuditEvent, AuditEvent.action).where(
            AuditEvent.action.like("staff.2fa%")
        )
    }
    assert {"staff.2fa_enabled", "staff.2fa_recovery_used", "staff.2fa_disabled"} <= actions


async def test_owners_must_enrol_when_the_tenant_says_so(world: World) -> None:
    a = world.a
    async with signed_in(world, a) as owner:
        on = await post(owner, a, f"{a.staff}/equipo/politica-2fa", {"owners_require_2fa": "on"})
        assert on.status_code == 303
        blocked = await owner.get(f"{a.staff}/")
        assert blocked.status_code == 303
        assert blocked.headers["location"] == f"{a.staff}/cuenta/seguridad"
        assert (await owner.get(f"{a.staff}/equipo")).status_code == 303
        page = await owner.get(f"{a.staff}/cuenta/seguridad")
        assert page.status_code == 200 and 'id="must-enroll"' in page.text
        await enrol(owner, a)
        assert (await owner.get(f"{a.staff}/")).status_code == 200
        team = await owner.get(f"{a.staff}/equipo")
        assert team.status_code == 200 and "checked" in team.text
    # collectors are not owners: the policy does not stop them
    async with signed_in(world, a, "collector") as c:
        assert (await c.get(f"{a.staff}/")).status_code == 200
    # the other tenant's policy is its own
    async with signed_in(world, world.b) as other:
        assert (await other.get(f"{world.b.staff}/")).status_code == 200
    changed = await a.scope.count(AuditEvent).where(AuditEvent.action == "team.policy_changed")
    assert changed == 1


def test_codes_match_their_time_step_only() -> None:
    secret = pyotp.random_base32()
    now = time.time()
    step = int(now // totp.STEP)
    assert totp.matching_step(secret, pyotp.TOTP(secret).at(now), now) == step
    assert totp.matching_step(secret, pyotp.TOTP(secret).at(now - 30), now) == step - 1
    assert totp.matching_step(secret, pyotp.TOTP(secret).at(now - 90), now) is None
    assert totp.matching_step(secret, "12345", now) is None
    assert totp.matching_step(secret, "abcdef", now) is None
