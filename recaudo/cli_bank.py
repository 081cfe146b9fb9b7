"""``recaudo bank``: import a bank statement (and apply what matches), list its lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

FORMAT_CHOICES = ("mt940", "camt053", "ofx", "csv")
STATUS_CHOICES = ("matched", "review", "unmatched", "ignored", "debit")


@click.group()
def bank() -> None:
    """Bank reconciliation: import statements (CAMT.053, MT940, OFX, CSV) and see their lines."""


def _money(amount: int, currency: str) -> str:
    from recaudo.core.common.money import format_minor

    return format_minor(amount, currency, "es_MX")


@bank.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option(
    "--format", "fmt", type=click.Choice(FORMAT_CHOICES), default=None, help="Default: detected."
)
@click.option("--csv-profile", default=None, help="A CSV layout saved for the tenant (CSV only).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def bank_import(
    file: Path, slug: str, fmt: str | None, csv_profile: str | None, as_json: bool
) -> None:
    """Import FILE: store its movements once, apply confident matches through the ledger, leave
    doubtful ones for review. A file that cannot be read stores nothing and exits 1."""
    from recaudo.cli import _run, _settings
    from recaudo.cli_reminders import _scope_of
    from recaudo.core.reconciliation.formats import MAX_STATEMENT_BYTES, StatementError
    from recaudo.core.reconciliation.service import import_statement

    if file.stat().st_size > MAX_STATEMENT_BYTES:
        click.echo(
            f"{file}: el archivo pesa más de {MAX_STATEMENT_BYTES // (1024 * 1024)} MB", err=True
        )
        sys.exit(1)
    data = file.read_bytes()
    settings = _settings()

    async def go() -> Any:
        _tenant, scope = await _scope_of(slug)
        try:
            return await import_statement(
                scope,
                data,
                filename=file.name,
                fmt=fmt,
                csv_profile=csv_profile,
                actor="cli",
                source="cli",
            )
        except StatementError as exc:
            return exc

    result = _run(settings, go)
    if isinstance(result, StatementError):
        click.echo(f"{file}: {result}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    if result.duplicate_file:
        click.echo(
            f"{file.name}: este archivo ya se importó (estado de cuenta {result.statement_id}); "
            "no se agregó nada."
        )
        return
    click.echo(
        f"{file.name} ({result.format}, {result.currency}): {result.lines} movimientos, "
        f"{result.new} nuevos, {result.already_imported} ya importados."
    )
    click.echo(f"  conciliados: {result.matched}")
    click.echo(f"  para revisar: {result.review}")
    click.echo(f"  sin coincidencia: {result.unmatched}")
    click.echo(f"  cargos (salidas): {result.debits}")
    click.echo(f"  aplicado a facturas: {_money(result.applied, result.currency)}")


@bank.command("lines")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--status", type=click.Choice(STATUS_CHOICES), default=None, help="Only these.")
@click.option("--statement", "statement_id", type=int, default=None, help="Only this statement.")
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def bank_lines(
    slug: str, status: str | None, statement_id: int | None, limit: int, as_json: bool
) -> None:
    """List statement lines, newest statement first."""
    from recaudo.cli import _run, _settings
    from recaudo.cli_reminders import _scope_of
    from recaudo.core.reconciliation.review import list_lines

    settings = _settings()

    async def go() -> Any:
        _tenant, scope = await _scope_of(slug)
        return await list_lines(scope, status=status, statement_id=statement_id, limit=limit)

    lines = _run(settings, go)
    if as_json:
        doc = [
            {
                "id": line.id,
                "statement_id": line.statement_id,
                "booked_on": line.booked_on.isoformat(),
                "amount": line.amount,
                "currency": line.currency,
                "reference": line.reference,
                "description": line.description,
                "payer_name": line.payer_name,
                "status": line.status,
                "rule": line.rule,
                "confidence": line.confidence,
                "customer_id": line.customer_id,
                "payment_id": line.payment_id,
                "candidates": [
                    {
                        "rule": c.rule,
                        "confidence": c.confidence,
                        "customer_id": c.customer_id,
                        "customer_name": c.customer_name,
                        "invoices": [
                            {"id": i, "number": n, "amount": a} for i, n, a in c.allocations
                        ],
                        "reason": c.reason,
                    }
                    for c in line.candidates
                ],
                "note": line.note,
            }
            for line in lines
        ]
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    if not lines:
        click.echo("Sin movimientos.")
        return
    for line in lines:
        text = (line.description or line.reference or line.payer_name).replace("\n", " ")[:60]
        extra = f" · {line.rule} {line.confidence:.2f}" if line.confidence is not None else ""
        click.echo(
            f"{line.id:>7} {line.booked_on.isoformat()} {_money(line.amount, line.currency):>16} "
            f"{line.status:<10}{extra} · {text}"
        )
