"""Staff's side of reconciliation: the lines, the review queue and the decisions on them.

Every decision locks the line row first (:func:`~recaudo.core.reconciliation.apply.lock_line`),
so two people (or a person and the daily rematch) deciding on one line at once end with one
decision; the other gets :class:`ReconcileError`. Ids of another tenant are simply not found.

* :func:`accept_candidate` applies one of the line's proposals through the ledger;
* :func:`assign_line` applies the line to invoices staff chose, in their order (the rest is
  credit);
* :func:`ignore_line` sets a line aside with a reason (a transfer between own accounts, a refund);
* :func:`undo_match` takes back exactly what the line's payment applied (or unlinks a payment that
  was recorded by hand) and puts the line back in review with its candidates; re-applying it later
  records a new payment (the line's ``generation`` is part of the payment's key). Undoing an
  ignored line reopens it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.common.atomic import atomic
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.payments import settlement
from recaudo.core.payments.allocation import plan_allocation
from recaudo.core.payments.errors import PaymentError
from recaudo.core.platform.values import MatchCandidate
from recaudo.core.reconciliation.apply import (
    OPEN_LINE_STATUSES,
    Refused,
    apply_match,
    lock_line,
    stored_candidates,
)
from recaudo.core.reconciliation.errors import LineNotFound, ReconcileError
from recaudo.core.reconciliation.service import match_and_apply
from recaudo.core.reconciliation.settings import reconcile_settings
from recaudo.core.tables import BankLine, BankStatement, Customer, Invoice, Payment
from recaudo.tenants.scoped import TenantScope, as_id

LINE_STATUSES = ("matched", "review", "unmatched", "ignored", "debit")
MAX_REASON = 500
MAX_PAGE = 500


@dataclass(frozen=True)
class CandidateView:
    rule: str
    confidence: float
    customer_id: int
    customer_name: str
    allocations: tuple[tuple[int, str, int], ...]  # (invoice_id, number, amount)
    reason: str


@dataclass(frozen=True)
class LineView:
    id: int
    statement_id: int
    booked_on: date
    amount: int
    currency: str
    reference: str
    description: str
    payer_name: str
    payer_account: str
    status: str
    rule: str
    confidence: float | None
    candidates: tuple[CandidateView, ...]
    customer_id: int | None
    payment_id: int | None
    decided_by: str
    note: str


# --- reading ------------------------------------------------------------------------------------


async def list_statements(scope: TenantScope, limit: int = 50) -> list[dict[str, Any]]:
    """Imported statements, newest first, with what their import found (``counts``)."""
    rows = await (
        scope.select(
            BankStatement,
            BankStatement.id,
            BankStatement.format,
            BankStatement.account,
            BankStatement.currency,
            BankStatement.statement_id,
            BankStatement.filename,
            BankStatement.source,
            BankStatement.imported_by,
            BankStatement.counts,
            BankStatement.created_at,
        )
        .order_by(BankStatement.id, ascending=False)
        .limit(max(1, min(int(limit), MAX_PAGE)))
    )
    for row in rows:
        row["counts"] = loads(row["counts"], {}) or {}
    return rows


async def _views(scope: TenantScope, rows: Sequence[BankLine]) -> list[LineView]:
    """Lines as staff read them: candidates with the customer's name and invoice numbers
    (looked up in two queries for the whole page)."""
    parsed = {int(row.id): stored_candidates(row.candidates) for row in rows}
    customer_ids = {c.customer_id for cs in parsed.values() for c in cs}
    invoice_ids = {i for cs in parsed.values() for c in cs for i, _ in c.allocations}
    names: dict[int, str] = {}
    numbers: dict[int, str] = {}
    if customer_ids:
        found = await scope.select(Customer, Customer.id, Customer.name).where(
            Customer.id.is_in(sorted(customer_ids))
        )
        names = {int(r["id"]): str(r["name"]) for r in found}
    if invoice_ids:
        found = await scope.select(Invoice, Invoice.id, Invoice.number).where(
            Invoice.id.is_in(sorted(invoice_ids))
        )
        numbers = {int(r["id"]): str(r["number"]) for r in found}
    out: list[LineView] = []
    for row in rows:
        candidates = tuple(
            CandidateView(
                rule=c.rule,
                confidence=c.confidence,
                customer_id=c.customer_id,
                customer_name=names.get(c.customer_id, ""),
                allocations=tuple((i, numbers.get(i, ""), a) for i, a in c.allocations),
                reason=c.reason,
            )
            for c in parsed[int(row.id)]
            if c.customer_id in names  # a customer deleted since is no longer proposed
        )
        out.append(
            LineView(
                id=int(row.id),
                statement_id=int(row.statement),
                booked_on=row.booked_on,
                amount=int(row.amount),
                currency=str(row.currency),
                reference=str(row.reference or ""),
                description=str(row.description or ""),
                payer_name=str(row.payer_name or ""),
                payer_account=str(row.payer_account or ""),
                status=str(row.status),
                rule=str(row.rule or ""),
                confidence=float(row.confidence) if row.confidence is not None else None,
                candidates=candidates,
                customer_id=int(row.customer) if row.customer is not None else None,
                payment_id=int(row.payment) if row.payment is not None else None,
                decided_by=str(row.decided_by or ""),
                note=str(row.note or ""),
            )
        )
    return out


def _status(status: str | None) -> str | None:
    if status in (None, ""):
        return None
    if status not in LINE_STATUSES:
        raise ReconcileError(f"Estado desconocido: {str(status)[:30]}.")
    return status


async def list_lines(
    scope: TenantScope,
    *,
    status: str | None = None,
    statement_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[LineView]:
    """Lines, newest statement first then in file order; filtered by status and statement."""
    query = scope.objects(BankLine)
    wanted = _status(status)
    if wanted is not None:
        query = query.where(BankLine.status == wanted)
    if statement_id is not None:
        query = query.where(BankLine.statement == (as_id(statement_id) or 0))
    rows = await (
        query.order_by(BankLine.statement, ascending=False)
        .order_by(BankLine.line_no, BankLine.id)
        .limit(max(1, min(int(limit), MAX_PAGE)))
        .offset(max(0, int(offset)))
    )
    return await _views(scope, rows)


async def count_lines(scope: TenantScope, status: str) -> int:
    """How many lines have ``status`` (the back office's inbox counts ``review``)."""
    wanted = _status(status)
    return int(await scope.count(BankLine).where(BankLine.status == wanted))


async def get_line(scope: TenantScope, line_id: int) -> LineView:
    row = await scope.get(BankLine, line_id)
    if row is None:
        raise LineNotFound("Movimiento no encontrado.")
    return (await _views(scope, [row]))[0]


# --- deciding -----------------------------------------------------------------------------------


def _actor(actor: str) -> str:
    if not isinstance(actor, str) or not actor.strip():
        raise ReconcileError("Falta quién toma la decisión.")
    return actor.strip()[:100]


def _reason(reason: str | None, required: bool) -> str:
    text = " ".join(str(reason or "").split())
    if required and not text:
        raise ReconcileError("Escribe el motivo.")
    if len(text) > MAX_REASON:
        raise ReconcileError("El motivo es demasiado largo (máximo 500 caracteres).")
    return text


async def _decided(scope: TenantScope, line_id: int) -> ReconcileError:
    row = await scope.get(BankLine, line_id)
    if row is None:
        return LineNotFound("Movimiento no encontrado.")
    return ReconcileError(
        "Este movimiento ya fue decidido por otra persona; recarga la página."
        if row.status == "matched"
        else "Este movimiento no está pendiente de revisión."
    )


async def _apply(
    scope: TenantScope, line_id: int, candidate: MatchCandidate, actor: str, *, link: bool
) -> LineView:
    settings = await reconcile_settings(scope)
    try:
        done = await apply_match(
            scope,
            line_id,
            candidate,
            tolerance=settings.fee_tolerance,
            window=settings.date_window_days,
            actor=actor,
            link_recorded=link,
        )
    except Refused as exc:
        raise ReconcileError(exc.message) from None
    if done.status != "matched" or done.payment_id is None:
        raise await _decided(scope, line_id)
    return await get_line(scope, line_id)


async def accept_candidate(scope: TenantScope, line_id: int, index: int, *, actor: str) -> LineView:
    """Apply the line's candidate number ``index`` (0 is the best) through the ledger."""
    who = _actor(actor)
    row = await scope.get(BankLine, line_id)
    if row is None:
        raise LineNotFound("Movimiento no encontrado.")
    candidates = stored_candidates(row.candidates)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(candidates):
        raise ReconcileError("Esa propuesta no existe para este movimiento.")
    return await _apply(scope, int(row.id), candidates[index], who, link=True)


async def assign_line(
    scope: TenantScope,
    line_id: int,
    *,
    customer_id: int,
    invoice_ids: Sequence[int],
    actor: str,
) -> LineView:
    """Apply the line to the customer's ``invoice_ids`` in that order (each filled before the
    next; what is left is the customer's credit). Staff decided, so the line is applied even if
    a payment recorded by hand looks the same."""
    who = _actor(actor)
    row = await scope.get(BankLine, line_id)
    if row is None:
        raise LineNotFound("Movimiento no encontrado.")
    if row.status not in OPEN_LINE_STATUSES:
        raise await _decided(scope, int(row.id))
    if int(row.amount) <= 0:
        raise ReconcileError("Solo el dinero recibido puede aplicarse a facturas.")
    customer = await scope.get(Customer, customer_id)
    if customer is None:
        raise ReconcileError("Cliente no encontrado.")
    ids: list[int] = []
    for raw in invoice_ids or []:
        pk = as_id(raw)
        if pk is None:
            raise ReconcileError("Factura no encontrada.")
        if pk not in ids:
            ids.append(pk)
    invoices = (
        {
            int(i.id): i
            for i in await scope.objects(Invoice).where(
                Invoice.id.is_in(ids), Invoice.customer == customer.id
            )
        }
        if ids
        else {}
    )
    balances: list[tuple[int, int]] = []
    for pk in ids:
        invoice = invoices.get(pk)
        if invoice is None:
            raise ReconcileError("Factura no encontrada para este cliente.")
        if invoice.currency != row.currency:
            raise ReconcileError(
                f"La factura {invoice.number} está en {invoice.currency}; el movimiento en "
                f"{row.currency}."
            )
        if invoice.status not in OPEN_STATUSES or invoice.balance <= 0:
            raise ReconcileError(f"La factura {invoice.number} no tiene saldo pendiente.")
        balances.append((pk, invoice.balance))
    plan = plan_allocation(int(row.amount), balances)
    candidate = MatchCandidate(
        rule="manual",
        confidence=1.0,
        customer_id=int(customer.id),
        allocations=plan.allocations,
        reason="Asignado por el personal",
    )
    return await _apply(scope, int(row.id), candidate, who, link=False)


async def ignore_line(scope: TenantScope, line_id: int, *, actor: str, reason: str) -> LineView:
    """Set an open line aside (status ``ignored``) with the reason staff gave."""
    who = _actor(actor)
    text = _reason(reason, required=True)

    async def work(_tx: Any) -> None:
        row = await lock_line(scope, line_id)
        if row.status not in OPEN_LINE_STATUSES:
            raise ReconcileError("Solo un movimiento pendiente puede ignorarse.")
        await scope.update(
            BankLine,
            {
                BankLine.status: "ignored",
                BankLine.decided_by: who,
                BankLine.decided_at: datetime.now(UTC),
                BankLine.note: text,
            },
        ).where(BankLine.id == row.id)
        await record(scope, who, "bank_line.ignored", f"bank_line:{row.id}", reason=text)

    await atomic(work)
    return await get_line(scope, line_id)


async def undo_match(scope: TenantScope, line_id: int, *, actor: str, reason: str = "") -> LineView:
    """Take back what the line did and put it back in review (see the module)."""
    who = _actor(actor)
    text = _reason(reason, required=False)

    async def work(_tx: Any) -> None:
        row = await lock_line(scope, line_id)
        now = datetime.now(UTC)
        reopened = "review" if stored_candidates(row.candidates) else "unmatched"
        if row.status == "ignored":
            await scope.update(
                BankLine,
                {
                    BankLine.status: reopened,
                    BankLine.decided_by: who,
                    BankLine.decided_at: now,
                    BankLine.note: text,
                },
            ).where(BankLine.id == row.id)
            await record(scope, who, "bank_line.reopened", f"bank_line:{row.id}", reason=text)
            return
        if row.status != "matched" or row.payment is None:
            raise ReconcileError("Este movimiento no tiene una conciliación que deshacer.")
        payment_id = int(row.payment)
        if row.applied_as != "linked":
            payment = await scope.get(Payment, payment_id)
            details = loads(payment.checkout, {}) if payment is not None else {}
            bank = details.get("bank_line") if isinstance(details, dict) else None
            write_off = bank.get("fee_write_off") if isinstance(bank, dict) else None
            try:
                await settlement.undo_payment(
                    scope,
                    payment_id,
                    reason=text or f"bank line {row.id}",
                    write_off_ids=[int(write_off)] if isinstance(write_off, int) else [],
                )
            except PaymentError:
                raise ReconcileError(
                    "El pago de este movimiento ya cambió (reembolso o anulación) y no puede "
                    "deshacerse aquí."
                ) from None
        await scope.update(
            BankLine,
            {
                BankLine.status: reopened,
                BankLine.payment: None,
                BankLine.customer: None,
                BankLine.applied_as: "",
                BankLine.generation: int(row.generation) + 1,
                BankLine.decided_by: who,
                BankLine.decided_at: now,
                BankLine.note: text,
            },
        ).where(BankLine.id == row.id)
        await record(
            scope,
            who,
            "bank_line.undone",
            f"bank_line:{row.id}",
            payment_id=payment_id,
            applied_as=str(row.applied_as),
            generation=int(row.generation),
            reason=text,
        )

    await atomic(work)
    return await get_line(scope, line_id)


async def rematch_open_lines(scope: TenantScope, *, actor: str) -> dict[str, int]:
    """Match the tenant's open lines again (invoices may have arrived after the money).

    Confident matches are applied only for lines nobody decided on: a line staff reopened or
    undid gets fresh candidates and stays in review.
    """
    rows = (
        await scope.objects(BankLine)
        .where(BankLine.status.is_in(list(OPEN_LINE_STATUSES)), BankLine.amount > 0)
        .order_by(BankLine.id)
    )
    counts = await match_and_apply(
        scope,
        rows,
        actor=_actor(actor),
        may_apply=lambda row: int(row.generation) == 0 and not row.decided_by,
    )
    return {"lines": len(rows), **counts.as_dict()}


__all__ = [
    "LINE_STATUSES",
    "CandidateView",
    "LineNotFound",
    "LineView",
    "ReconcileError",
    "accept_candidate",
    "assign_line",
    "count_lines",
    "get_line",
    "ignore_line",
    "list_lines",
    "list_statements",
    "rematch_open_lines",
    "undo_match",
]
