"""API keys: the CLI, authentication (401/403), revocation and the owner's settings page."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from recaudo.core.access.apikeys import create_api_key, revoke_api_key
from recaudo.core.tables import ApiKey, AuditEvent, Customer
from tests import api_support, test_staff_http
from tests.api_support import ApiWorld
from tests.test_staff_http import World, client, post

api_world = api_support.api_world  # two tenants with data and keys
api = api_support.api  # an HTTP client to the whole app
world = test_staff_http.world  # tenants with staff of every role


class Result:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = code, stdout, stderr


def recaudo(tmp: Path, *args: str) -> Result:
    """Run the CLI in-process (as ``recaudo ARGS``) against a SQLite file in ``tmp``."""
    from click.testing import CliRunner

    from recaudo.cli import main

    env = {
        "RECAUDO_DATABASE_URL": f"sqlite:///{tmp}/cli.sqlite3",
        "RECAUDO_VAR_DIR": str(tmp),
        "RECAUDO_ENV": "development",
        "RECAUDO_SMTP_URL": None,
    }
    result = CliRunner().invoke(main, list(args), env=env)  # type: ignore[arg-type]
    return Result(result.exit_code, result.stdout, result.stderr)


def test_cli_creates_lists_and_revokes_keys(tmp_path: Path) -> None:
    assert recaudo(tmp_path, "migrate").returncode == 0
    made = recaudo(
        tmp_path,
        "tenants",
        "create",
        "acme",
        "--name",
        "Acme",
        "--country",
        "MX",
        "--currency",
        "MXN",
    )
    assert made.returncode == 0, made.stderr
    out = recaudo(
        tmp_path, "apikeys", "create", "acme", "--scope", "write", "--name", "ERP", "--json"
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["key"].startswith("rk_") and data["scope"] == "write"
    assert data["tenant"] == "acme" and data["name"] == "ERP" and data["id"] >= 1

    listed = recaudo(tmp_path, "apikeys", "list", "acme", "--json")
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["scope"], r["revoked_at"]) for r in rows] == [(data["id"], "write", None)]
    assert data["key"] not in listed.stdout
    assert data["key"].split("_", 2)[2] not in listed.stdout

    revoked = recaudo(tmp_path, "apikeys", "revoke", "acme", str(data["id"]))
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(recaudo(tmp_path, "apikeys", "list", "acme", "--json").stdout)[0][
        "revoked_at"
    ]

    for args, says in (
        (("apikeys", "create", "nadie", "--scope", "read"), "nadie"),
        (("apikeys", "create", "acme", "--scope", "admin"), "--scope"),
        (("apikeys", "revoke", "acme", "999"), "999"),
    ):
        bad = recaudo(tmp_path, *args)
        assert bad.returncode != 0 and says in bad.stderr, (args, bad.stderr)


async def test_only_the_hash_is_stored(api_world: ApiWorld) -> None:
    a = api_world.a
    issued = await create_api_key(a.scope, key_scope="read", name="BI", actor="staff:1")
    row = await a.scope.get(ApiKey, issued.row.id)
    assert row is not None
    secret = issued.plaintext.split("_", 2)[2]
    assert secret not in str(row.secret_hash) and len(str(row.secret_hash)) == 64
    assert issued.plaintext.startswith(f"rk_{row.prefix}_")
    events = await a.scope.objects(AuditEvent).where(AuditEvent.action == "apikey.created")
    assert any(str(e.subject) == f"api_key:{row.id}" for e in events)


async def test_authentication(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    a = api_world.a
    url = "/api/v1/invoices"
    for headers in (
        {},
        {"authorization": "Bearer bogus"},
        {"authorization": f"Basic {a.write_key}"},
        {"authorization": a.write_key[:-2] + "xx"},
        {"authorization": "Bearer " + a.write_key[:-2] + "xx"},
        {"authorization": "Bearer rk_000000000000_abc"},
        {"authorization": ("Bearer " + "ñ" * 50).encode()},
    ):
        r = await api.get(url, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.json()["errors"][0]["field"] == "Authorization"
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert (await api.get(url, headers=a.r)).status_code == 200
    assert (await api.get(url, headers=a.w)).status_code == 200

    r = await api.post("/api/v1/customers", json={"number": "R-1", "name": "R"}, headers=a.r)
    assert r.status_code == 403 and "read-only" in r.json()["detail"]
    r = await api.patch(f"/api/v1/customers/{a.customer}", json={"name": "R"}, headers=a.r)
    assert r.status_code == 403
    assert await a.scope.count(Customer) == 1

    key = await a.scope.objects(ApiKey).where(ApiKey.scope == "read").first()
    assert key is not None and key.last_used_at is not None
    await revoke_api_key(a.scope, key.id, "test")
    assert (await api.get(url, headers=a.r)).status_code == 401


# --- the owner's page -----------------------------------------------------------------------


async def _signed_in(c: httpx.AsyncClient, world: World, role: str) -> None:
    from tests.test_staff_http import login

    r = await login(c, world.a, role)
    assert r.status_code == 303, r.text


async def test_owner_creates_sees_once_and_revokes_a_key(world: World) -> None:
    side = world.a
    page = f"{side.staff}/ajustes/api"
    # Owners only: collectors and viewers neither see nor change anything; strangers sign in.
    for role in ("collector", "viewer"):
        async with client(world) as c:
            await _signed_in(c, world, role)
            assert (await c.get(page)).status_code == 403
            r = await post(c, side, page, {"name": "x", "scope": "write"})
            assert r.status_code == 403
    async with client(world) as c:
        r = await c.get(page)
        assert r.status_code == 303 and "/login" in r.headers["location"]
    assert await side.scope.count(ApiKey) == 0
    async with client(world) as c:
        await _signed_in(c, world, "owner")
        r = await c.get(page)
        assert r.status_code == 200 and "Claves de API" in r.text
        r = await post(c, side, page, {"name": "ERP <b>", "scope": "write"})
        assert r.status_code == 201, r.text
        key = r.text.split('id="new-key-value">')[1].split("<")[0]
        assert key.startswith("rk_") and "ERP &lt;b&gt;" in r.text
        transport = httpx.ASGITransport(app=world.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            auth = {"authorization": f"Bearer {key}"}
            assert (await api.get("/api/v1/customers", headers=auth)).status_code == 200

            r = await c.get(page)
            assert key not in r.text and "rk_" + key.split("_")[1] in r.text  # prefix only
            row = await side.scope.objects(ApiKey).first()
            assert row is not None
            r = await post(c, side, f"{page}/{row.id}/revocar")
            assert r.status_code == 303
            assert (await api.get("/api/v1/customers", headers=auth)).status_code == 401
        assert "Revocada" in (await c.get(page)).text

        r = await post(c, side, page, {"name": "x", "scope": "admin"})
        assert r.status_code == 400 and "lectura o escritura" in r.text
        r = await post(c, side, f"{page}/{world.b.customer}/revocar")
        assert r.status_code == 404
        # Without the CSRF token nothing is created.
        r = await c.post(page, data={"name": "x", "scope": "read"})
        assert r.status_code == 403
    assert await side.scope.count(ApiKey) == 1
    actions = [e.action for e in await side.scope.objects(AuditEvent)]
    assert "apikey.created" in actions and "apikey.revoked" in actions
