"""Jobs that gave up (or keep failing) are visible to their tenant's staff and fail the check."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from recaudo.core.tables import AuditEvent, OutboxJob
from recaudo.tenants.scoped import TenantScope
from recaudo.workers import dead_jobs
from recaudo.workers.dead_jobs import STUCK_ATTEMPTS
from tests.test_cli import recaudo
from tests.test_staff_http import World, post, signed_in, world  # noqa: F401


async def _job(scope: TenantScope, key: str, status: str, attempts: int, actor: str) -> int:
    row = OutboxJob(
        key=key,
        actor=actor,
        payload={"event_id": 7},
        status=status,
        attempts=attempts,
        available_at=datetime.now(UTC),
        last_error="MPServerError: [503] try again later",
    )
    await scope.add(row)
    return int(row.id)


async def test_staff_see_only_their_tenants_failed_jobs_and_owners_retry_them(
    world: World,  # noqa: F811
) -> None:
    a, b = world.a, world.b
    dead = await _job(a.scope, "provider_event:7", "failed", 80, "process_provider_event")
    stuck = await _job(a.scope, "check:9", "pending", STUCK_ATTEMPTS, "reconcile_payment")
    await _job(a.scope, "fine", "pending", 3, "reconcile_payment")  # still young: not shown

    async with signed_in(world, a, "owner") as c:
        inbox = await c.get(f"{a.staff}/")
        assert "2 trabajos fallidos" in inbox.text
        page = await c.get(f"{a.staff}/trabajos")
        assert "Aplicar un aviso del proveedor de pagos" in page.text and "aviso 7" in page.text
        assert "Abandonado" in page.text and "Sigue reintentando" in page.text
        assert "[503] try again later" in page.text and "Reintentar todos" in page.text
        english = (await c.get(f"{a.staff}/trabajos?lang=en")).text
        assert "Apply a notification from the payment provider" in english
        assert "Gave up" in english and "Retry all" in english

    async with signed_in(world, b, "owner") as c:
        assert "trabajos fallidos" not in (await c.get(f"{b.staff}/")).text
        page = await c.get(f"{b.staff}/trabajos")
        assert "No hay trabajos fallidos." in page.text and "aviso 7" not in page.text
        # An owner of B naming A's job changes nothing at A.
        assert (
            await post(c, b, f"{b.staff}/trabajos/reintentar", {"job": str(dead)})
        ).status_code == 303
    assert (await a.scope.get(OutboxJob, dead)).status == "failed"

    for role in ("viewer", "collector"):
        async with signed_in(world, a, role) as c:
            page = await c.get(f"{a.staff}/trabajos")
            assert "aviso 7" in page.text and "Reintentar" not in page.text
            refused = await post(c, a, f"{a.staff}/trabajos/reintentar", {"job": "all"})
            assert refused.status_code == 403, role
    assert await dead_jobs.tenant_failed_count(a.scope) == 2

    async with signed_in(world, a, "owner") as c:
        done = await post(c, a, f"{a.staff}/trabajos/reintentar", {"job": str(dead)})
        assert done.status_code == 303 and done.headers["location"] == f"{a.staff}/trabajos"
        retried = await a.scope.get(OutboxJob, dead)
        assert (retried.status, retried.attempts) == ("pending", 0)
        assert "1 trabajo fallido" in (await c.get(f"{a.staff}/")).text
        # The stuck one is moot: discarded, it stops and leaves the list.
        await post(c, a, f"{a.staff}/trabajos/reintentar", {"job": "all", "action": "discard"})
        assert "trabajos fallidos" not in (await c.get(f"{a.staff}/")).text
    assert (await a.scope.get(OutboxJob, stuck)).status == "discarded"
    actions = await a.scope.select(AuditEvent, AuditEvent.action).where(
        AuditEvent.action.like("job.%")
    )
    assert sorted(r["action"] for r in actions) == ["job.discard", "job.retry"]


@pytest.mark.slow
def test_check_fails_listing_dead_jobs(tmp_path: Path) -> None:
    assert recaudo(tmp_path, "migrate").returncode == 0
    created = recaudo(
        tmp_path, "tenants", "create", "acme", "--name", "Acme", "--country", "MX",
        "--currency", "MXN",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    healthy = recaudo(tmp_path, "check")
    assert healthy.returncode == 0 and "jobs:     ok" in healthy.stdout, healthy.stdout

    with sqlite3.connect(tmp_path / "cli.sqlite3") as db:
        tenant = db.execute("SELECT id FROM tenant WHERE slug = 'acme'").fetchone()[0]
        now = datetime.now(UTC).isoformat()
        db.execute(
            "INSERT INTO outbox_job (tenant, key, actor, payload, status, attempts, available_at,"
            " last_error, created_at) VALUES (?, 'check:5', 'reconcile_payment',"
            " '{\"payment_id\": 5}', 'failed', 80, ?, 'ConnectionError: down', ?)",
            (tenant, now, now),
        )
    out = recaudo(tmp_path, "check")
    assert out.returncode == 1, out.stdout
    assert "jobs:     ERROR 1 failed" in out.stdout
    assert "reconcile_payment pago 5 (dead): ConnectionError: down" in out.stdout
