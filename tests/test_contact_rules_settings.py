"""A Mexican tenant narrows its collection window through the plugin's stored settings; values
outside CONDUSEF's 07:00–22:00 are refused and change nothing; another tenant keeps the default.
Runs on SQLite and, with ``RECAUDO_TEST_DATABASE_URL``, on PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from recaudo.api import ContactRequest
from recaudo.core.platform.context import context_for
from recaudo.core.platform.host import PluginHost
from recaudo.plugins.condusef_mx import CondusefWindow
from recaudo.tenants.plugin_config import SettingsError, set_plugin, stored_settings
from recaudo.tenants.scoped import TenantScope
from tests.conftest import make_tenant

MEXICO = ZoneInfo("America/Mexico_City")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MEXICO)


async def decide(tenant_id: int, moment: datetime) -> str | None:
    ctx = await context_for(tenant_id, "condusef_mx")
    req = ContactRequest(ctx.tenant, 1, "email", moment, "America/Mexico_City", ("email",))
    decision = CondusefWindow().check(ctx, req)
    return None if decision is None else f"{decision.rule} {decision.not_before:%Y-%m-%d %H:%M}"


async def test_a_tenant_window_is_stored_checked_and_kept_to_itself(
    database: str, host: PluginHost
) -> None:
    mine = await make_tenant("mx-uno")
    other = await make_tenant("mx-dos")
    scope = TenantScope(int(mine.id))
    window = {"days": "lunes_a_viernes", "start": "07:00", "end": "22:00"}
    await set_plugin(scope, "condusef_mx", enabled=False, settings=window)

    assert await decide(int(mine.id), at("2026-12-09 07:15")) is None
    assert await decide(int(mine.id), at("2026-12-12 10:00")) == "mx.condusef.days 2026-12-14 07:00"
    # The other tenant has not configured anything: the default, Monday–Saturday 08:00–21:00.
    assert (
        await decide(int(other.id), at("2026-12-09 07:15")) == "mx.condusef.hours 2026-12-09 08:00"
    )
    assert await decide(int(other.id), at("2026-12-12 10:00")) is None

    before = await stored_settings(scope, "condusef_mx")
    for wider in ({"start": "06:00"}, {"end": "23:00"}, {"days": "domingo"}):
        with pytest.raises(SettingsError):
            await set_plugin(scope, "condusef_mx", enabled=False, settings={**window, **wider})
    assert await stored_settings(scope, "condusef_mx") == before
    assert (
        await decide(int(mine.id), at("2026-12-09 22:00")) == "mx.condusef.hours 2026-12-10 07:00"
    )
