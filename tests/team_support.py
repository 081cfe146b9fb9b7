"""A light world for the team tests: two tenants with an owner, a collector and a viewer each.

Staff rows get one argon2 hash computed once per process (hashing takes most of a second on a
busy machine), and the ASGI app is built once per process: each test's ``database`` fixture
attaches its own engine to every table, which is all the app's handlers use.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

import pytest

from recaudo.core.access.staff import hash_password
from recaudo.core.config import Settings
from recaudo.core.platform.host import PluginHost
from recaudo.core.tables import StaffUser
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant
from tests.test_staff_http import BASE, PASSWORD, Side, World

SECRET_KEY = "x" * 40
ROLES = ("owner", "collector", "viewer")


@cache
def password_hash() -> str:
    return hash_password(PASSWORD)


def team_settings(database_url: str) -> Settings:
    return Settings(
        env="development", database_url=database_url, secret_key=SECRET_KEY, base_url=BASE
    )


_apps: dict[str, Any] = {}


def shared_app(database_url: str) -> Any:
    """One app per process; the engine it uses is whichever the current test configured."""
    from recaudo.web.app import create_asgi

    if "app" not in _apps:
        _apps["app"] = create_asgi(team_settings(database_url), embedded_workers=False)
    return _apps["app"]


async def team_side(slug: str, country: str = "MX", currency: str = "MXN") -> Side:
    tenant = await make_tenant(slug, country, currency)
    side = Side(slug, TenantScope(int(tenant.id)), currency)
    for role in ROLES:
        await side.scope.add(
            StaffUser(
                email=side.email(role),
                name=role.title(),
                password_hash=password_hash(),
                role=role,
                active=True,
            )
        )
    # Tenants made by ``tenants create`` have the email channel switched on.
    await set_plugin(side.scope, "email", enabled=True, secret_key=SECRET_KEY)
    return side


@pytest.fixture
async def team_world(database: str, host: PluginHost) -> World:
    app = shared_app(database)
    host.results("recaudo_startup", settings=team_settings(database))  # dev outbox delivers
    suffix = uuid.uuid4().hex[:6]
    a = await team_side(f"alfa-{suffix}")
    b = await team_side(f"beta-{suffix}", "CO", "COP")
    return World(app, a, b)
