"""``recaudo kpis``: the dashboard's figures (DSO, CEI, aging…) for a tenant, as a table or JSON.

``--json`` prints exactly what ``GET /api/v1/kpis`` returns. Errors (an unknown tenant, a bad
date, a collector of nobody) are one line on stderr and exit status 1.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click


def _fail(message: str) -> NoReturn:
    click.echo(" ".join(str(message).split()), err=True)
    sys.exit(1)


def _pct(value: str | None) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f} %"


def _days(value: str | None) -> str:
    return "—" if value is None else f"{value} días"


def _table(doc: dict[str, Any], money: Any) -> list[str]:
    """A report as lines a person reads (Spanish, money formatted)."""
    cur = doc["currency"]
    period = doc["period"]
    out = [
        f"Indicadores de {doc['tenant']} en {cur} al {doc['at']} · periodo "
        f"{period['start']} a {period['end']} ({period['days']} días)",
        "",
        f"  Saldo pendiente             {money(doc['open_balance'], cur)}",
        f"  Saldo vencido               {money(doc['overdue_balance'], cur)}",
        f"  Ventas del periodo          {money(doc['sales'], cur)}",
        f"  DSO                         {_days(doc['dso'])}",
        f"  CEI                         {_pct(doc['cei'])}",
        f"  Días promedio de atraso     {_days(doc['average_days_delinquent'])}",
        f"  Promesas cumplidas          {_pct(doc['promise_kept_rate'])} "
        f"({doc['promises_kept']} de {doc['promises_due']})",
        f"  Conciliados automáticamente {_pct(doc['auto_reconciled_share'])} "
        f"({doc['auto_reconciled_payments']} de {doc['reconciled_payments']})",
        "",
        "  Antigüedad de saldos",
    ]
    for b in doc["aging"]["buckets"]:
        out.append(f"    {b['label']:<16} {money(b['amount'], cur):>20}  {b['count']:>6} fact.")
    for title, key in (
        ("Recuperado por etapa", "recovered_by_stage"),
        ("Recuperado por canal", "recovered_by_channel"),
    ):
        out += ["", f"  {title}"]
        rows = doc[key] or [{"label": "(nada cobrado en el periodo)", "amount": 0}]
        for row in rows:
            out.append(f"    {row['label'][:30]:<30} {money(row['amount'], cur):>20}")
    return out


@click.command("kpis")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--at", "at", default=None, help="Day the balances are taken (YYYY-MM-DD; today).")
@click.option("--start", default=None, help="First day of the period (default: 90 days to --end).")
@click.option("--end", default=None, help="Last day of the period (default: --at).")
@click.option("--segment", default=None, help="Only customers of this segment.")
@click.option("--collector", default=None, help="Only customers of this collector (e-mail or id).")
@click.option("--currency", default=None, help="Only this currency (default: every one in use).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (as the API's).")
def kpis(
    slug: str,
    at: str | None,
    start: str | None,
    end: str | None,
    segment: str | None,
    collector: str | None,
    currency: str | None,
    as_json: bool,
) -> None:
    """DSO, CEI, aging, average days delinquent, promises kept, automatic reconciliation and money
    recovered by stage and channel: the figures of the back office's dashboard."""
    from recaudo.cli import _run, _settings
    from recaudo.core.messaging.i18n import formatter_for
    from recaudo.core.workspace.kpis import (
        KpiInputError,
        currency_of,
        filters_from,
        kpi_report,
        kpi_reports,
        reports_as_json,
    )
    from recaudo.tenants.resolve import tenant_by_slug
    from recaudo.tenants.scoped import TenantScope

    settings = _settings()

    async def go() -> tuple[dict[str, Any], Any] | str:
        tenant = await tenant_by_slug(slug.strip().lower())
        if tenant is None:
            return f"tenant {slug!r} not found (see 'recaudo tenants list')"
        scope = TenantScope(int(tenant.id))
        try:
            filters = await filters_from(
                scope, at=at, start=start, end=end, segment=segment, collector=collector
            )
            code = currency_of(currency)
        except KpiInputError as exc:
            return str(exc)
        if code is None:
            reports = await kpi_reports(scope, filters)
        else:
            reports = [await kpi_report(scope, filters, code)]
        return reports_as_json(reports, str(tenant.slug)), tenant

    result = _run(settings, go)
    if isinstance(result, str):
        _fail(result)
    doc, tenant = result
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    fmt = formatter_for("es", str(tenant.locale), str(tenant.timezone))
    for k, each in enumerate([doc, *doc["other_currencies"]]):
        if k:
            click.echo("")
        each = {**each, "tenant": doc["tenant"]}
        click.echo("\n".join(_table(each, fmt.money)))
