"""Storing the plugin's documents: idempotent rows, consecutive folios, the public mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from recaudo.api import EInvoiceDocument, Money, PluginContext
from recaudo.plugins.sat_mx.tables import SatDocument, SatFolio

BACKEND = "sat_mx"
#: A ``pending`` row untouched this long belongs to a crashed attempt: a retry takes it over.
STALE_PENDING = timedelta(minutes=2)


def loads(raw: Any, default: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw else default
        except ValueError:
            return default
    return default if raw is None else raw


async def next_folio(ctx: PluginContext, series: str) -> str:
    """The next folio of ``series``: one atomic UPDATE … RETURNING, so two documents issued at
    the same moment never share one and none is skipped (SQLite ≥ 3.35 and PostgreSQL)."""
    await ctx.db.add_unless_exists(SatFolio(series=series, next=1))
    rows = await ctx.db.raw(
        'UPDATE sat_folio SET "next" = "next" + 1 WHERE tenant = {tenant} AND series = {} '
        'RETURNING "next"',
        series,
    )
    return str(int(rows[0]["next"]) - 1)


async def by_key(ctx: PluginContext, key: str) -> SatDocument | None:
    return await ctx.db.objects(SatDocument).where(SatDocument.key == key).first()


async def by_uuid(ctx: PluginContext, fiscal_id: str) -> SatDocument | None:
    if not fiscal_id:
        return None
    return await ctx.db.objects(SatDocument).where(SatDocument.uuid == fiscal_id.upper()).first()


async def claim(ctx: PluginContext, row: SatDocument) -> tuple[SatDocument, bool]:
    """Insert ``row`` (status ``pending``) unless its key exists: ``(row, True)`` when this
    caller owns the attempt, ``(existing, False)`` when another one does or did."""
    new_id = await ctx.db.add_unless_exists(row)
    if new_id is not None:
        stored = await ctx.db.get(SatDocument, new_id)
        assert stored is not None
        return stored, True
    existing = await by_key(ctx, str(row.key))
    if existing is None:  # pragma: no cover - the unique index said it exists
        raise LookupError(f"sat_document {row.key} vanished")
    return existing, False


def is_stale(row: SatDocument) -> bool:
    created = row.created_at
    if created is None:
        return True
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return datetime.now(UTC) - created > STALE_PENDING


async def mark_failed(ctx: PluginContext, row: SatDocument, error: str) -> SatDocument:
    row.status = "failed"
    row.error = error[:4000]
    await ctx.db.save(row)
    return row


def to_document(row: SatDocument) -> EInvoiceDocument:
    return EInvoiceDocument(
        id=int(row.id),
        backend=BACKEND,
        kind=str(row.kind),
        type_code=str(row.type_code),
        status=str(row.status),
        fiscal_id=str(row.uuid or ""),
        series=str(row.series or ""),
        folio=str(row.folio or ""),
        invoice_id=int(row.invoice_id) if row.invoice_id is not None else None,
        payment_id=int(row.payment_id) if row.payment_id is not None else None,
        customer_id=int(row.customer_id) if row.customer_id is not None else None,
        invoice_ids=tuple(int(i) for i in loads(row.invoice_ids, [])),
        total=Money(str(row.currency), int(row.total or 0)),
        payment_terms=str(row.payment_terms or ""),
        issued_at=row.issued_at,
        cancelled_at=row.cancelled_at,
        cancel_reason=str(row.cancel_reason or ""),
        replaces=str(row.replaces or ""),
        replaced_by=str(row.replaced_by or ""),
        error=str(row.error or ""),
        files=("xml", "pdf") if row.uuid else (),
    )


async def search(
    ctx: PluginContext,
    *,
    invoice_id: int | None = None,
    payment_id: int | None = None,
    customer_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[SatDocument]:
    """Newest first. ``invoice_id`` finds the invoice's own documents and the payment
    complements that relate it."""
    query = ctx.db.objects(SatDocument).order_by(SatDocument.id, ascending=False)
    if invoice_id is not None:
        candidates = await ctx.db.raw(
            "SELECT id, invoice_ids FROM sat_document WHERE tenant = {tenant} "
            "AND CAST(invoice_ids AS TEXT) LIKE {}",
            f"%{int(invoice_id)}%",
        )
        ids = [int(r["id"]) for r in candidates if int(invoice_id) in loads(r["invoice_ids"], [])]
        clause = SatDocument.invoice_id == invoice_id
        query = query.where(clause | SatDocument.id.is_in(ids) if ids else clause)
    if payment_id is not None:
        query = query.where(SatDocument.payment_id == payment_id)
    if customer_id is not None:
        query = query.where(SatDocument.customer_id == customer_id)
    if kind:
        query = query.where(SatDocument.kind == kind)
    if status:
        query = query.where(SatDocument.status == status)
    if before_id is not None:
        query = query.where(SatDocument.id < before_id)
    return list(await query.limit(max(1, min(int(limit), 500))))
