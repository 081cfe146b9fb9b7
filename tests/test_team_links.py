"""The team over HTTP: invitations, password reset, last-owner protection, sessions ended.

Links are read from what was mailed (the development outbox keeps them in ``notification_log``),
as a person would click them.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from recaudo.core.access import staff_links
from recaudo.core.tables import AuditEvent, NotificationLog, PortalSession, StaffToken, StaffUser
from tests.team_support import team_world  # noqa: F401  (fixture)
from tests.test_staff_http import (
    BASE,
    PASSWORD,
    Side,
    World,
    client,
    login,
    post,
    signed_in,
)

NEW_PASSWORD = "otra-clave-segura-456"


@pytest.fixture
def world(team_world: World) -> World:  # noqa: F811
    return team_world


async def _mailed_link(side: Side, to: str, kind: str) -> str:
    rows = await side.scope.select(NotificationLog).where(NotificationLog.recipient == to)
    assert rows, f"nothing was mailed to {to}"
    found = re.findall(rf"{BASE}/t/{side.slug}/staff/{kind}/[A-Za-z0-9_-]+", rows[-1]["body_text"])
    assert found, rows[-1]["body_text"]
    return found[0]


async def _audit(side: Side, action: str) -> int:
    return int(await side.scope.count(AuditEvent).where(AuditEvent.action == action))


async def test_invite_accept_and_sign_in(world: World) -> None:
    a = world.a
    async with signed_in(world, a) as owner:
        page = await owner.get(f"{a.staff}/equipo")
        assert page.status_code == 200 and "Invitar a alguien" in page.text
        sent = await post(
            owner, a, f"{a.staff}/equipo/invitar", {"email": "Nueva@Example.com", "role": "viewer"}
        )
        assert sent.status_code == 200, sent.text
        assert "Invitación creada para nueva@example.com" in sent.text
    link = await _mailed_link(a, "nueva@example.com", "invitacion")
    assert link in sent.text  # shown once to the owner too
    assert await _audit(a, "staff.invited") == 1
    path = link.removeprefix(BASE)
    async with client(world) as c:
        form = await c.get(path)
        assert form.status_code == 200 and "nueva@example.com" in form.text
        short = await post(c, a, path, {"name": "Nueva", "password": "corta", "password2": "corta"})
        assert short.status_code == 400 and "al menos 10 caracteres" in short.text
        done = await post(
            c, a, path, {"name": "Nueva", "password": NEW_PASSWORD, "password2": NEW_PASSWORD}
        )
        assert done.status_code == 303 and done.headers["location"] == f"{a.staff}/"
        home = await c.get(f"{a.staff}/")
        assert home.status_code == 200 and "nueva@example.com" in home.text
    user = await a.scope.objects(StaffUser).where(StaffUser.email == "nueva@example.com").first()
    assert (user.name, user.role, user.active) == ("Nueva", "viewer", True)
    assert await _audit(a, "staff.invite_accepted") == 1
    async with client(world) as c:
        again = await c.get(path)
        assert again.status_code == 410 and 'data-state="used"' in again.text
        reuse = await post(
            c, a, path, {"name": "Otra", "password": NEW_PASSWORD, "password2": NEW_PASSWORD}
        )
        assert reuse.status_code == 410
        signed = await login(c, a, email="nueva@example.com", password=NEW_PASSWORD)
        assert signed.status_code == 303
    assert await a.scope.count(StaffUser).where(StaffUser.email == "nueva@example.com") == 1


async def test_bad_invitations_change_nothing(world: World) -> None:
    a = world.a
    async with signed_in(world, a) as owner:
        bad_email = await post(
            owner, a, f"{a.staff}/equipo/invitar", {"email": "nope", "role": "viewer"}
        )
        bad_role = await post(
            owner, a, f"{a.staff}/equipo/invitar", {"email": "x@example.com", "role": "god"}
        )
        member = await post(
            owner, a, f"{a.staff}/equipo/invitar", {"email": a.email("viewer"), "role": "viewer"}
        )
    assert bad_email.status_code == 400 and "Escribe un correo válido" in bad_email.text
    assert bad_role.status_code == 400 and "Elige un rol" in bad_role.text
    assert member.status_code == 400 and "ya es parte del equipo" in member.text
    assert await a.scope.count(StaffToken) == 0


async def test_an_expired_invitation_is_refused(world: World) -> None:
    a = world.a
    _row, token = await staff_links.invite(a.scope, "tarde@example.com", "collector", "test")
    await a.scope.update(
        StaffToken, {StaffToken.expires_at: datetime.now(UTC) - timedelta(minutes=1)}
    ).where(StaffToken.email == "tarde@example.com")
    async with client(world) as c:
        page = await c.get(f"{a.staff}/invitacion/{token}")
        assert page.status_code == 410 and 'data-state="expired"' in page.text
        tried = await post(
            c,
            a,
            f"{a.staff}/invitacion/{token}",
            {"name": "T", "password": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
        assert tried.status_code == 410
        unknown = await c.get(f"{a.staff}/invitacion/no-such-token")
        assert unknown.status_code == 410 and 'data-state="unknown"' in unknown.text
    assert not await a.scope.exists(StaffUser).where(StaffUser.email == "tarde@example.com")


async def test_an_invitation_of_another_tenant_does_not_work_here(world: World) -> None:
    _row, token = await staff_links.invite(world.b.scope, "ajena@example.com", "owner", "test")
    async with client(world) as c:
        page = await c.get(f"{world.a.staff}/invitacion/{token}")
    assert page.status_code == 410


async def test_concurrent_accepts_make_one_account(world: World) -> None:
    a = world.a
    _row, token = await staff_links.invite(a.scope, "doble@example.com", "collector", "test")

    async def accept(n: int) -> object:
        try:
            return (await staff_links.accept_invitation(a.scope, token, f"N{n}", NEW_PASSWORD))[1]
        except staff_links.TeamError as exc:
            return exc

    results = await asyncio.gather(*(accept(n) for n in range(4)))
    users = [r for r in results if isinstance(r, StaffUser)]
    assert len(users) == 1
    assert await a.scope.count(StaffUser).where(StaffUser.email == "doble@example.com") == 1
    assert await _audit(a, "staff.invite_accepted") == 1


async def test_roles_change_and_the_last_owner_stays(world: World) -> None:
    a = world.a
    owner = await a.scope.objects(StaffUser).where(StaffUser.email == a.email("owner")).first()
    collector = (
        await a.scope.objects(StaffUser).where(StaffUser.email == a.email("collector")).first()
    )
    async with signed_in(world, a) as c:
        demote = await post(c, a, f"{a.staff}/equipo/{owner.id}/rol", {"role": "viewer"})
        assert demote.status_code == 409 and "al menos un administrador activo" in demote.text
        self_off = await post(c, a, f"{a.staff}/equipo/{owner.id}/desactivar")
        assert self_off.status_code == 409
        bad = await post(c, a, f"{a.staff}/equipo/{collector.id}/rol", {"role": "root"})
        assert bad.status_code == 400
        theirs = await world.b.scope.objects(StaffUser).first()
        other = await post(c, a, f"{a.staff}/equipo/{theirs.id}/rol", {"role": "viewer"})
        assert other.status_code == 404
        assert (await world.b.scope.get(StaffUser, theirs.id)).role == theirs.role
        promoted = await post(c, a, f"{a.staff}/equipo/{collector.id}/rol", {"role": "owner"})
        assert promoted.status_code == 303
        # now there are two owners: this one may step down
        down = await post(c, a, f"{a.staff}/equipo/{owner.id}/rol", {"role": "collector"})
        assert down.status_code == 303
        # and, no longer an owner, cannot reach the team page
        assert (await c.get(f"{a.staff}/equipo")).status_code == 403
    assert (await a.scope.get(StaffUser, owner.id)).role == "collector"
    assert (await a.scope.get(StaffUser, collector.id)).role == "owner"
    assert await _audit(a, "staff.role_changed") == 2


async def test_deactivation_ends_sessions_and_reactivation_restores_sign_in(world: World) -> None:
    a = world.a
    collector = (
        await a.scope.objects(StaffUser).where(StaffUser.email == a.email("collector")).first()
    )
    async with signed_in(world, a, "collector") as worker, signed_in(world, a) as owner:
        assert (await worker.get(f"{a.staff}/")).status_code == 200
        off = await post(owner, a, f"{a.staff}/equipo/{collector.id}/desactivar")
        assert off.status_code == 303
        kicked = await worker.get(f"{a.staff}/")
        assert kicked.status_code == 303 and "/login" in kicked.headers["location"]
        listing = await owner.get(f"{a.staff}/equipo")
        assert "Desactivado" in listing.text and "Reactivar" in listing.text
    sessions = await a.scope.count(PortalSession).where(
        (PortalSession.kind == "staff") & (PortalSession.subject_id == collector.id)
    )
    assert sessions == 0
    async with client(world) as c:
        assert (await login(c, a, "collector")).status_code == 401
    async with signed_in(world, a) as owner:
        on = await post(owner, a, f"{a.staff}/equipo/{collector.id}/reactivar")
        assert on.status_code == 303
    async with client(world) as c:
        assert (await login(c, a, "collector")).status_code == 303
    assert await _audit(a, "staff.deactivated") == 1 and await _audit(a, "staff.reactivated") == 1


async def test_revoking_an_invitation(world: World) -> None:
    a = world.a
    row, token = await staff_links.invite(a.scope, "anular@example.com", "viewer", "test")
    async with signed_in(world, a) as owner:
        done = await post(owner, a, f"{a.staff}/equipo/invitaciones/{row.id}/anular")
        assert done.status_code == 303
        twice = await post(owner, a, f"{a.staff}/equipo/invitaciones/{row.id}/anular")
        assert twice.status_code == 404
    async with client(world) as c:
        assert (await c.get(f"{a.staff}/invitacion/{token}")).status_code == 410


# --- password reset -------------------------------------------------------------------------------


def _without(text: str, email: str) -> str:
    text = text.replace(email, "EMAIL")
    return re.sub(r'name="_csrf_token" value="[^"]+"', "", text)


async def test_reset_flow_ends_sessions_and_answers_the_same_for_strangers(world: World) -> None:
    a = world.a
    email = a.email("collector")
    async with signed_in(world, a, "collector") as before:
        async with client(world) as c:
            page = await c.get(f"{a.staff}/login")
            assert "¿Olvidaste tu contraseña?" in page.text
            known = await post(c, a, f"{a.staff}/restablecer", {"email": email})
            stranger = await post(c, a, f"{a.staff}/restablecer", {"email": "nadie@example.com"})
        assert known.status_code == stranger.status_code == 200
        assert _without(known.text, email) == _without(stranger.text, "nadie@example.com")
        assert not await a.scope.exists(NotificationLog).where(
            NotificationLog.recipient == "nadie@example.com"
        )
        link = await _mailed_link(a, email, "restablecer")
        path = link.removeprefix(BASE)
        async with client(world) as c:
            form = await c.get(path)
            assert form.status_code == 200 and email in form.text
            mismatch = await post(
                c, a, path, {"password": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"}
            )
            assert mismatch.status_code == 400 and "no coinciden" in mismatch.text
            done = await post(c, a, path, {"password": NEW_PASSWORD, "password2": NEW_PASSWORD})
            assert done.status_code == 303
            assert done.headers["location"] == f"{a.staff}/login?restablecida=1"
            notice = await c.get(done.headers["location"])
            assert "tu contraseña cambió" in notice.text
            reuse = await post(c, a, path, {"password": PASSWORD, "password2": PASSWORD})
            assert reuse.status_code == 410
        # the session opened with the old password is over
        gone = await before.get(f"{a.staff}/")
        assert gone.status_code == 303
    async with client(world) as c:
        assert (await login(c, a, "collector")).status_code == 401
        assert (await login(c, a, "collector", password=NEW_PASSWORD)).status_code == 303
    assert await _audit(a, "staff.password_reset") == 1


async def test_reset_links_expire_after_30_minutes(world: World) -> None:
    a = world.a
    admitted, token = await staff_links.request_reset(a.scope, a.email("viewer"), "10.0.0.1")
    assert admitted and token
    row = await a.scope.objects(StaffToken).where(StaffToken.kind == "reset").first()
    ttl = row.expires_at - row.created_at
    assert timedelta(minutes=29) < ttl <= timedelta(minutes=30, seconds=1)
    await a.scope.update(
        StaffToken, {StaffToken.expires_at: datetime.now(UTC) - timedelta(seconds=1)}
    ).where(StaffToken.id == row.id)
    async with client(world) as c:
        page = await c.get(f"{a.staff}/restablecer/{token}")
    assert page.status_code == 410 and 'data-state="expired"' in page.text


async def test_reset_requests_are_rate_limited_whether_or_not_the_email_exists(
    world: World,
) -> None:
    a = world.a
    async with client(world) as c:
        for email in (a.email("owner"), "nadie@example.com"):
            codes = [
                (await post(c, a, f"{a.staff}/restablecer", {"email": email})).status_code
                for _ in range(4)
            ]
            assert codes == [200, 200, 200, 429], email
        empty = await post(c, a, f"{a.staff}/restablecer", {"email": ""})
        assert empty.status_code == 400 and "correo" in empty.text
    tokens = await a.scope.count(StaffToken).where(StaffToken.kind == "reset")
    assert tokens == 3


async def test_team_pages_in_english(world: World) -> None:
    a = world.a
    async with signed_in(world, a) as owner:
        page = await owner.get(f"{a.staff}/equipo?lang=en")
        assert page.status_code == 200
        assert "Invite someone" in page.text and "Pending invitations" in page.text
    async with client(world) as c:
        reset = await c.get(f"{a.staff}/restablecer?lang=en")
        assert "Forgot your password?" in reset.text


async def test_links_use_the_configured_base_url_not_the_host_header(world: World) -> None:
    a = world.a
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://evil.example") as c:
        await c.get(f"{a.staff}/login")
        await c.post(
            f"{a.staff}/restablecer",
            data={"_csrf_token": c.cookies.get("csrftoken") or "", "email": a.email("owner")},
            headers={"accept": "text/html"},
        )
    link = await _mailed_link(a, a.email("owner"), "restablecer")
    assert link.startswith(f"{BASE}/t/{a.slug}/staff/restablecer/")
