"""``recaudo einvoice``: issue, list, cancel and check a tenant's tax documents (SAT CFDI…).

Every error is one line on stderr and exit status 1: the PAC's refusal, an unknown tenant,
invoice or document (another tenant's ids name nothing), a tenant without e-invoicing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

KINDS = ("invoice", "payment", "credit")
REASONS = ("01", "02", "03", "04")


@click.group()
def einvoice() -> None:
    """E-invoicing (CFDI): issue an invoice's tax document, list, cancel, check status."""


def _fail(message: str) -> NoReturn:
    click.echo(" ".join(str(message).split()), err=True)
    sys.exit(1)


def _doc_dict(doc: Any, numbers: dict[int, str]) -> dict[str, Any]:
    total = doc.total
    return {
        "id": doc.id,
        "backend": doc.backend,
        "kind": doc.kind,
        "type": doc.type_code,
        "status": doc.status,
        "uuid": doc.fiscal_id,
        "series": doc.series,
        "folio": doc.folio,
        "invoice_number": numbers.get(doc.invoice_id) if doc.invoice_id else None,
        "invoice_id": doc.invoice_id,
        "invoice_ids": list(doc.invoice_ids),
        "payment_id": doc.payment_id,
        "customer_id": doc.customer_id,
        "total": str(total.to_decimal()) if total is not None else None,
        "currency": total.currency if total is not None else None,
        "payment_terms": doc.payment_terms,
        "issued_at": doc.issued_at.isoformat() if doc.issued_at else None,
        "cancelled_at": doc.cancelled_at.isoformat() if doc.cancelled_at else None,
        "cancel_reason": doc.cancel_reason,
        "replaces": doc.replaces,
        "replaced_by": doc.replaced_by,
        "error": doc.error,
    }


def _line(doc: dict[str, Any]) -> str:
    name = "-".join(p for p in (doc["series"], doc["folio"]) if p) or "—"
    what = doc["invoice_number"] or (f"pago {doc['payment_id']}" if doc["payment_id"] else "")
    total = f"{doc['total']} {doc['currency']}" if doc["total"] is not None else ""
    extra = f" · {doc['error']}" if doc["error"] else ""
    return (
        f"{doc['id']:>6} {doc['type'] or doc['kind']:<2} {doc['status']:<14} {name:<12} "
        f"{doc['uuid'] or '—':<36} {what:<12} {total}{extra}"
    )


async def _numbers(scope: Any, docs: list[Any]) -> dict[int, str]:
    from recaudo.core.tables import Invoice

    ids = sorted({int(d.invoice_id) for d in docs if d.invoice_id})
    if not ids:
        return {}
    rows = await scope.select(Invoice, Invoice.id, Invoice.number).where(Invoice.id.is_in(ids))
    return {int(r["id"]): str(r["number"]) for r in rows}


async def _scope(slug: str) -> Any:
    from recaudo.tenants.resolve import tenant_by_slug
    from recaudo.tenants.scoped import TenantScope

    tenant = await tenant_by_slug(slug.strip().lower())
    if tenant is None:
        raise LookupError(f"tenant {slug!r} not found (see 'recaudo tenants list')")
    return TenantScope(int(tenant.id))


async def _invoice_id(scope: Any, number: str) -> int:
    from recaudo.core.tables import Invoice

    row = (
        await scope.select(Invoice, Invoice.id)
        .where(Invoice.number == number.strip())
        .order_by(Invoice.id)
        .first()
    )
    if row is None:
        raise LookupError(f"invoice {number!r} not found for this tenant")
    return int(row["id"])


def _call(fn: Any) -> Any:
    """Run ``fn`` against the database; the service's refusals become one-line errors."""
    from recaudo.cli import _run, _settings
    from recaudo.core import config
    from recaudo.core.einvoicing.service import EInvoicingError

    settings = _settings()

    async def go() -> Any:
        try:
            return await fn()
        except EInvoicingError as exc:
            return exc

    # The backend's context reads the process's configuration (secret key to decrypt the
    # tenant's certificate, development mode for a test PAC), as a worker would.
    from recaudo.core.platform.host import get_host

    previous = config._active
    config.activate(settings)
    get_host().results("recaudo_startup", settings=settings)
    try:
        result = _run(settings, go)
    except click.ClickException as exc:
        _fail(exc.format_message())
    except Exception as exc:  # the provider is down, a bug: one line, never a traceback
        _fail(f"error: {type(exc).__name__}: {exc}")
    finally:
        config._active = previous
    if isinstance(result, EInvoicingError):
        _fail(str(result))
    return result


@einvoice.command("issue")
@click.argument("slug")
@click.argument("number")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the XML.")
@click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path), help="Write the PDF.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def einvoice_issue(
    slug: str, number: str, out: Path | None, pdf: Path | None, as_json: bool
) -> None:
    """Issue invoice NUMBER's tax document now (or show the one it has); exit 1 with the
    provider's message when it refuses."""
    from recaudo.core.einvoicing.service import document_file, issue_invoice

    async def go() -> Any:
        scope = await _scope(slug)
        doc = await issue_invoice(scope, await _invoice_id(scope, number), actor="cli")
        xml = await document_file(scope, doc.id, "xml") if out else None
        pdf_file = await document_file(scope, doc.id, "pdf") if pdf else None
        return doc, xml, pdf_file, await _numbers(scope, [doc])

    doc, xml, pdf_file, numbers = _call(go)
    try:
        if out and xml is not None:
            out.write_bytes(xml.content)
        if pdf and pdf_file is not None:
            pdf.write_bytes(pdf_file.content)
    except OSError as exc:
        _fail(f"cannot write the file: {exc}")
    data = _doc_dict(doc, numbers)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(_line(data))


@einvoice.command("list")
@click.argument("slug")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Only this kind.")
@click.option("--invoice", "number", default=None, help="Only this invoice's documents.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def einvoice_list(
    slug: str, kind: str | None, number: str | None, limit: int, as_json: bool
) -> None:
    """List the tenant's tax documents, newest first."""
    from recaudo.core.einvoicing.service import list_documents

    async def go() -> Any:
        scope = await _scope(slug)
        invoice_id = await _invoice_id(scope, number) if number else None
        docs = await list_documents(scope, invoice_id=invoice_id, kind=kind, limit=limit)
        if invoice_id is not None and kind in (None, "payment"):
            # a payment complement names the invoice among its ``invoice_ids``
            paid = await list_documents(scope, kind="payment", limit=1000)
            seen = {d.id for d in docs}
            docs += [d for d in paid if invoice_id in d.invoice_ids and d.id not in seen]
            docs.sort(key=lambda d: d.id, reverse=True)
            docs = docs[:limit]
        return docs, await _numbers(scope, docs)

    docs, numbers = _call(go)
    rows = [_doc_dict(d, numbers) for d in docs]
    if as_json:
        click.echo(json.dumps({"documents": rows}, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("Sin documentos.")
        return
    for row in rows:
        click.echo(_line(row))


@einvoice.command("cancel")
@click.argument("slug")
@click.argument("document_id", type=int)
@click.option("--reason", type=click.Choice(REASONS), required=True, help="SAT reason 01–04.")
@click.option("--replacement", default="", help="The substituting UUID (reason 01).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def einvoice_cancel(
    slug: str, document_id: int, reason: str, replacement: str, as_json: bool
) -> None:
    """Cancel document DOCUMENT_ID with a reason (01 needs --replacement)."""
    from recaudo.core.einvoicing.service import cancel_document

    if reason == "01" and not replacement.strip():
        _fail("reason 01 needs --replacement UUID (the substituting document)")

    async def go() -> Any:
        scope = await _scope(slug)
        doc = await cancel_document(
            scope, document_id, reason=reason, replacement=replacement, actor="cli"
        )
        return doc, await _numbers(scope, [doc])

    doc, numbers = _call(go)
    data = _doc_dict(doc, numbers)
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else _line(data))


@einvoice.command("status")
@click.argument("slug")
@click.argument("document_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def einvoice_status(slug: str, document_id: int, as_json: bool) -> None:
    """Ask the authority for document DOCUMENT_ID's status now and show it."""
    from recaudo.core.einvoicing.service import refresh_document

    async def go() -> Any:
        scope = await _scope(slug)
        doc = await refresh_document(scope, document_id)
        return doc, await _numbers(scope, [doc])

    doc, numbers = _call(go)
    data = _doc_dict(doc, numbers)
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else _line(data))
