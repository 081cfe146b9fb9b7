"""``recaudo forecast --tenant SLUG [--at DATE] [--weeks 8] [--json]``: the collection forecast
per week and its back-test error, as the back office's forecast page shows them.

Errors (an unknown tenant, a bad date) are one line on stderr and exit status 1.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import click


def _fail(message: str) -> NoReturn:
    click.echo(" ".join(str(message).split()), err=True)
    sys.exit(1)


def _rate(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f} %"


async def report(scope: Any, at: date, weeks: int, as_json: bool) -> str:
    """What the command prints for the tenant of ``scope`` (tests call it on both databases)."""
    from recaudo.core.common.money import format_minor
    from recaudo.core.workspace.forecast import as_json as forecast_json
    from recaudo.core.workspace.forecast import forecasts

    results = await forecasts(scope, at, weeks)
    if as_json:
        return json.dumps(
            {"at": at.isoformat(), "currencies": [forecast_json(f, b) for f, b in results]},
            indent=2,
            ensure_ascii=False,
        )
    lines: list[str] = []
    for made, test in results:
        cur = made.currency

        def money(amount: int, currency: str = cur) -> str:
            return format_minor(amount, currency)

        lines.append(
            f"Forecast {cur} as of {at.isoformat()} (open balance {money(made.open_balance)})"
        )
        lines.append(f"{'week':<12}{'expected':>18}{'invoices':>18}{'plans':>16}{'promises':>16}")
        for w in made.weeks:
            lines.append(
                f"{w.start.isoformat():<12}{money(w.total):>18}{money(w.invoices):>18}"
                f"{money(w.plans):>16}{money(w.promises):>16}"
            )
        lines.append(f"{'later':<12}{money(made.later):>18}")
        lines.append(f"Back-test ({len(test.points)} weeks, first week forecast vs collected):")
        for p in test.points:
            lines.append(f"  {p.week.isoformat()}  {money(p.forecast):>16}  {money(p.actual):>16}")
        mae = "—" if test.mae is None else money(test.mae)
        lines.append(f"  WAPE {_rate(test.wape)} · MAPE {_rate(test.mape)} · MAE {mae} per week")
        lines.append("")
    return "\n".join(lines).rstrip() or "No invoices."


@click.command("forecast")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--at", "at_text", default="", help="As of this day (YYYY-MM-DD); default today.")
@click.option("--weeks", default=8, type=click.IntRange(1, 26), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def forecast(slug: str, at_text: str, weeks: int, as_json: bool) -> None:
    """Expected collections per week for the next weeks, and the back-test error."""
    from recaudo.cli import _run, _settings

    async def go() -> str:
        from recaudo.tenants.resolve import tenant_by_slug
        from recaudo.tenants.scoped import TenantScope

        tenant = await tenant_by_slug(slug.strip().lower())
        if tenant is None:
            raise LookupError(f"tenant {slug!r} not found (see 'recaudo tenants list')")
        if at_text:
            try:
                at = date.fromisoformat(at_text.strip())
            except ValueError:
                raise ValueError(f"--at {at_text!r}: a date such as 2026-12-01") from None
        else:
            at = datetime.now(ZoneInfo(str(tenant.timezone))).date()
        return await report(TenantScope(int(tenant.id)), at, weeks, as_json)

    try:
        click.echo(_run(_settings(), go))
    except click.ClickException as exc:
        _fail(exc.format_message())
