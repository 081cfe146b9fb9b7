"""``recaudo reminders``: what the reminder engine would send at a moment, and running a sweep."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click


def _moment(value: str | None) -> datetime | None:
    """``--at``: an ISO date-time with its offset (a naive one would be ambiguous)."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date-time, e.g. 2026-12-09T10:00:00-05:00", param_hint="--at"
        ) from None
    if at.tzinfo is None:
        raise click.BadParameter(
            f"{value!r} has no UTC offset; write it like 2026-12-09T10:00:00-05:00",
            param_hint="--at",
        )
    return at


async def _scope_of(slug: str) -> tuple[Any, Any]:
    from recaudo.tenants.resolve import tenant_by_slug
    from recaudo.tenants.scoped import TenantScope

    tenant = await tenant_by_slug(slug.strip().lower())
    if tenant is None:
        raise click.BadParameter(
            f"tenant {slug!r} not found (see 'recaudo tenants list')", param_hint="--tenant"
        )
    return tenant, TenantScope(int(tenant.id))


def _item(item: Any, fmt: Any, at: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {
        "customer": item.customer_number,
        "customer_name": item.customer_name,
        "channel": item.channel,
        "stage": item.stage.offset_days,
        "stage_name": item.stage.name,
        "invoices": list(item.invoice_numbers),
        "total": " + ".join(fmt.money(v, c) for c, v in item.totals),
    }
    if item.outcome == "deferred" and item.at is not None:
        out["until"] = item.at.astimezone(at.tzinfo).isoformat()
    if item.outcome != "send":
        out["rule"] = item.rule
        out["reason"] = item.reason
    return out


@click.group()
def reminders() -> None:
    """Automatic reminders: see what would go out at a moment, or run a sweep now."""


@reminders.command("plan")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--at", "at_text", required=True, help="ISO date-time with offset, past or future.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def reminders_plan(slug: str, at_text: str, as_json: bool) -> None:
    """Print what the sweep would send, defer (until when, by which rule) and skip at --at.
    Changes nothing (except seeding the default policy of a tenant that has none)."""
    from recaudo.cli import _run, _settings
    from recaudo.core.collections.reminders import plan
    from recaudo.core.messaging.i18n import formatter_for

    at = _moment(at_text)
    assert at is not None
    settings = _settings()

    async def go() -> Any:
        _tenant, scope = await _scope_of(slug)
        return await plan(scope, at)

    result = _run(settings, go)
    info = result.tenant
    fmt = formatter_for("es", info.locale, info.timezone)
    doc = {
        "tenant": info.slug,
        "at": at.isoformat(),
        "timezone": info.timezone,
        "send": [_item(i, fmt, at) for i in result.of("send")],
        "deferred": [_item(i, fmt, at) for i in result.of("deferred")],
        "skipped": [_item(i, fmt, at) for i in result.of("skipped")],
    }
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    click.echo(f"{info.name} ({info.slug}) · {at.isoformat()} · {info.timezone}")
    for title, key in (("Send now", "send"), ("Deferred", "deferred"), ("Skipped", "skipped")):
        rows = doc[key]
        click.echo(f"\n{title}: {len(rows)}")
        for row in rows:
            line = (
                f"  {row['customer']} {row['customer_name']} · {row['stage_name']} "
                f"({row['stage']:+d} d) · {row['channel'] or '-'} · {row['total']} · "
                f"{', '.join(row['invoices'])}"
            )
            if "until" in row:
                line += f" · until {row['until']}"
            if row.get("rule"):
                line += f" · {row['rule']}: {row['reason']}"
            click.echo(line)


@reminders.command("run")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--at", "at_text", default=None, help="ISO date-time with offset (default: now).")
def reminders_run(slug: str, at_text: str | None) -> None:
    """Run one sweep now: record the reminders due and queue them for the workers."""
    from recaudo.cli import _run, _settings
    from recaudo.core.collections.reminders import run_sweep

    at = _moment(at_text)
    settings = _settings()

    async def go() -> list[int]:
        _tenant, scope = await _scope_of(slug)
        return await run_sweep(scope, at)

    created = _run(settings, go)
    click.echo(f"{len(created)} reminder(s) recorded")
