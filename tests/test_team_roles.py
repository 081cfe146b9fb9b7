"""Every role on every back-office route, found from the app's own route list.

Routes under ``/t/{slug}/staff`` are enumerated from the Litestar app (so routes other areas add
are covered without editing this file), and what each handler depends on is read from its
signature and its dependency providers:

* a POST whose handler depends on ``acting_staff`` or ``owner_staff``: a viewer gets 403 and no
  row of any tenant table (audit events included) changes;
* a route that depends on ``owner_staff``: a collector gets 403 (GET and POST);
* a POST that depends on neither must be a known self-service or public route (sign-in, sign-out,
  one's own 2FA, one-time links) — a new POST without a role check fails here;
* a GET with id path parameters, asked by an owner with the *other* tenant's ids: 404;
* any route that needs a signed-in user, asked without one: a redirect to the login page.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar
from piccolo.table import Table

from recaudo.core import db
from recaudo.tenants.scoped import TenantScope
from tests.test_staff_http import (
    Side,
    World,
    client,
    csrf,
    post,
    signed_in,
    world,  # noqa: F401  (fixture)
)

ROLE_DEPENDENCIES = {"staff", "acting_staff", "owner_staff"}
# POSTs any signed-in user may make about themselves.
SELF_SERVICE = {
    "staff:logout",
    "staff:security_start",
    "staff:security_confirm",
    "staff:security_disable",
}
# Reached without a session: signing in and one-time links (each checks what it needs).
PUBLIC = {
    "staff:login",
    "staff:login_submit",
    "staff:login_code_form",
    "staff:login_code",
    "staff:invitation",
    "staff:invitation_accept",
    "staff:reset_form",
    "staff:reset_request",
    "staff:reset",
    "staff:reset_submit",
}
# What a refusal for the role says (a CSRF refusal, also 403, would not).
DENIED = re.compile(r"solo lectura|Solo un administrador")
# Path parameters whose name does not say their table.
ALIASES = {"user": "staff_user", "invitation": "staff_token", "member": "staff_user"}


@dataclass(frozen=True)
class StaffRoute:
    method: str
    path: str  # with {slug} and typed params, as Litestar has it
    name: str
    needs: frozenset[str]  # which of ROLE_DEPENDENCIES the handler (transitively) depends on
    params: tuple[str, ...]  # path parameters other than slug
    str_params: tuple[str, ...]

    @property
    def owner_only(self) -> bool:
        return "owner_staff" in self.needs

    @property
    def acting(self) -> bool:
        return bool(self.needs & {"acting_staff", "owner_staff"})


def litestar_app(asgi: Any) -> Litestar:
    app = asgi
    while not isinstance(app, Litestar):
        app = app.app
    return app


def _used(handler: Any) -> set[str]:
    deps = handler.resolve_dependencies()
    seen: set[str] = set()

    def walk(names: Any) -> None:
        for name in names:
            if name in deps and name not in seen:
                seen.add(name)
                walk(inspect.signature(deps[name].dependency).parameters)

    walk(handler.parsed_fn_signature.parameters)
    return seen


def staff_routes(asgi: Any) -> list[StaffRoute]:
    found = []
    for route in litestar_app(asgi).routes:
        if not route.path.startswith("/t/{slug:str}/staff"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods):
                if method not in ("GET", "POST"):
                    continue
                params = route.path_parameters
                found.append(
                    StaffRoute(
                        method,
                        route.path,
                        str(handler.name or handler.handler_name),
                        frozenset(_used(handler) & ROLE_DEPENDENCIES),
                        tuple(n for n, p in params.items() if n != "slug" and p.type is int),
                        tuple(n for n, p in params.items() if n != "slug" and p.type is not int),
                    )
                )
    return found


def table_for(param: str) -> type[Table] | None:
    stem = param.removesuffix("_id")
    stem = ALIASES.get(stem, stem)
    tables = {t._meta.tablename: t for t in db.tenant_tables()}
    for match in (
        lambda name: name == stem,
        lambda name: name.endswith("_" + stem),
        lambda name: name.startswith(stem + "_"),
    ):
        hits = [t for name, t in tables.items() if match(name)]
        if hits:
            return hits[0]
    return None


async def last_id(scope: TenantScope, table: type[Table]) -> int | None:
    pk = table._meta.primary_key
    rows = await scope.select(table, pk).order_by(pk, ascending=False).limit(1)
    return int(rows[0][pk._meta.name]) if rows else None


async def url_for(route: StaffRoute, side: Side, ids_from: TenantScope) -> str | None:
    """The route's URL under ``side``'s slug with ids of ``ids_from``'s rows (None: no such row)."""
    path = route.path.replace("{slug:str}", side.slug)
    for name in route.params:
        table = table_for(name)
        pk = await last_id(ids_from, table) if table is not None else None
        if pk is None:
            return None
        path = path.replace(f"{{{name}:int}}", str(pk))
    for name in route.str_params:
        path = re.sub(rf"{{{name}:[a-z]+}}", "x", path)
    return path


async def snapshot(*scopes: TenantScope) -> dict[tuple[int, str], int]:
    return {
        (scope.tenant_id, table._meta.tablename): int(await scope.count(table))
        for scope in scopes
        for table in db.tenant_tables()
    }


async def _post(c: httpx.AsyncClient, side: Side, url: str) -> httpx.Response:
    return await post(c, side, url, {"reason": "x", "body": "x", "role": "owner", "code": "1"})


def test_routes_are_found_with_their_role_checks(world: World) -> None:  # noqa: F811
    routes = {(r.method, r.name): r for r in staff_routes(world.app)}
    assert routes[("GET", "staff:inbox")].needs == {"staff"}
    assert routes[("POST", "staff:ticket_close")].acting
    assert routes[("GET", "staff:team")].owner_only
    assert routes[("POST", "staff:team_invite")].owner_only
    assert routes[("GET", "staff:proof")].params == ("proof_id",)
    assert table_for("proof_id") is not None and table_for("proof_id")._meta.tablename == (
        "payment_proof"
    )
    assert table_for("user_id")._meta.tablename == "staff_user"


def test_every_post_checks_a_role_or_is_known_self_service(database: str) -> None:
    from recaudo.core.config import Settings
    from recaudo.web.app import create_app

    settings = Settings(env="development", database_url=database, secret_key="x" * 40)
    unchecked = [
        f"{r.method} {r.path} ({r.name})"
        for r in staff_routes(create_app(settings, embedded_workers=False))
        if r.method == "POST" and not r.acting and r.name not in SELF_SERVICE | PUBLIC
    ]
    assert not unchecked, "these POST routes let a viewer change things: " + ", ".join(unchecked)


async def test_viewers_and_collectors_are_refused_and_nothing_changes(
    world: World,  # noqa: F811
) -> None:
    a, b = world.a, world.b
    routes = staff_routes(world.app)
    acting_posts = [r for r in routes if r.method == "POST" and r.acting]
    owner_only = [r for r in routes if r.owner_only]
    assert len(acting_posts) >= 10 and owner_only
    async with signed_in(world, a, "viewer") as viewer, signed_in(world, a, "collector") as coll:
        await csrf(viewer, a)
        await csrf(coll, a)
        before = await snapshot(a.scope, b.scope)
        for route in acting_posts:
            url = await url_for(route, a, a.scope) or route.path.replace("{slug:str}", a.slug)
            url = re.sub(r"{\w+:int}", "1", url)
            response = await _post(viewer, a, url)
            assert response.status_code == 403, f"viewer POST {url}: {response.status_code}"
            assert DENIED.search(response.text), f"viewer POST {url}: {response.text[:300]}"
        for route in owner_only:
            url = await url_for(route, a, a.scope) or route.path.replace("{slug:str}", a.slug)
            url = re.sub(r"{\w+:int}", "1", url)
            response = await (_post(coll, a, url) if route.method == "POST" else coll.get(url))
            assert response.status_code == 403, f"collector {route.method} {url}"
            assert "Solo un administrador" in response.text, url
        after = await snapshot(a.scope, b.scope)
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    assert not changed, f"rows changed by refused requests: {changed}"
    # the same client and CSRF token do get through where the role allows it
    async with signed_in(world, a, "viewer") as viewer:
        allowed = await _post(viewer, a, f"{a.staff}/cuenta/seguridad/iniciar")
        assert allowed.status_code == 303


async def test_other_tenants_ids_are_404_and_strangers_go_to_login(
    world: World,  # noqa: F811
) -> None:
    a, b = world.a, world.b
    routes = staff_routes(world.app)
    checked: list[str] = []
    async with signed_in(world, a, "owner") as owner:
        for route in routes:
            if route.method != "GET" or not route.params or route.name in PUBLIC:
                continue
            url = await url_for(route, a, b.scope)
            if url is None:
                continue  # no row of that kind in the other tenant to try
            response = await owner.get(url, headers={"accept": "text/html"})
            assert response.status_code == 404, f"GET {url}: {response.status_code}"
            checked.append(route.name)
    assert {"staff:proof", "staff:ticket", "staff:dispute", "staff:plan"} <= set(checked)
    async with client(world) as anonymous:
        await csrf(anonymous, a)
        for route in routes:
            if route.name in PUBLIC or not route.needs:
                continue
            url = await url_for(route, a, a.scope) or route.path.replace("{slug:str}", a.slug)
            url = re.sub(r"{\w+:int}", "1", url)
            if route.method == "GET":
                response = await anonymous.get(url)
            else:
                response = await _post(anonymous, a, url)
            assert response.status_code == 303, f"anonymous {route.method} {url}"
            assert response.headers["location"].startswith(f"{a.staff}/login"), url
