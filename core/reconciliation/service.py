"""Importing a bank statement: parse, store once, match, apply the confident matches.

* A file that is not a statement we can read raises
  :class:`~recaudo.core.reconciliation.formats.StatementError` before anything is stored.
* The same file again (its SHA-256) is recognised and adds nothing (``duplicate_file``); a
  movement already imported from an earlier, overlapping file (its ``key``) is counted
  ``already_imported`` and not stored twice. Both are unique indexes, so two imports running at
  once store one copy.
* The statement and its new lines are stored in one transaction; then the engine matches the new
  credits against the tenant's open invoices in the statement's currency, and each confident
  match is applied in its own transaction (:func:`~recaudo.core.reconciliation.apply.apply_match`,
  the line being the idempotency key). Doubtful ones go to review with their candidates, the
  rest stay unmatched and visible; money out is stored as ``debit``. A crash after the lines
  were stored leaves them unmatched: the daily rematch picks them up.
* ``background=True`` (the back office's upload) hands a file of more than
  :data:`INLINE_MATCH_LINES` credits to the ``reconcile_statement`` job instead, enqueued in the
  transaction that stores the lines (outbox): a month of a busy account must not hold a web
  request for minutes, and the job cannot be lost. The summary then counts them ``pending``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from recaudo.core.common.atomic import atomic
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.common.outbox import enqueue
from recaudo.core.reconciliation.apply import (
    OPEN_LINE_STATUSES,
    Refused,
    apply_match,
    candidate_dict,
    statement_line,
)
from recaudo.core.reconciliation.book import load_book
from recaudo.core.reconciliation.csv_profiles import csv_profile as saved_csv_profile
from recaudo.core.reconciliation.engine import MatchSettings, load_match_rules, match_lines
from recaudo.core.reconciliation.formats import StatementError, parse_statement
from recaudo.core.reconciliation.settings import settings_from_policy
from recaudo.core.tables import BankLine, BankStatement
from recaudo.core.tenant_settings.tenant_rows import fresh_tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.service import tenant_info

log = logging.getLogger(__name__)

BATCH = 500  # lines per INSERT
#: Credits an upload matches while the person waits; more go to the ``reconcile_statement`` job.
INLINE_MATCH_LINES = 2_000
MATCH_JOB = "reconcile_statement"
SYSTEM_ACTOR = "system:reconciliation"


@dataclass(frozen=True)
class ImportSummary:
    statement_id: int | None
    duplicate_file: bool
    format: str
    account: str
    currency: str
    lines: int
    new: int
    already_imported: int
    matched: int
    review: int
    unmatched: int
    debits: int
    applied: int  # minor units applied to invoices by this import
    pending: int = 0  # new credits the background job will match (large uploads)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MatchCounts:
    matched: int = 0
    review: int = 0
    unmatched: int = 0
    applied: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _now() -> datetime:
    return datetime.now(UTC)


async def import_statement(
    scope: TenantScope,
    data: bytes,
    *,
    filename: str,
    fmt: str | None = None,
    csv_profile: str | None = None,
    actor: str,
    source: str = "",
    background: bool = False,
) -> ImportSummary:
    """Import one statement file for the tenant and apply what matches (see the module).

    ``background``: match a file of more than :data:`INLINE_MATCH_LINES` credits in the
    ``reconcile_statement`` job rather than now."""
    tenant = await fresh_tenant(scope.tenant_id)
    profile = None
    if csv_profile:
        profile = await saved_csv_profile(scope, csv_profile)
        if profile is None:
            raise StatementError(f"no hay un formato CSV guardado llamado «{csv_profile}»")
    parsed = parse_statement(
        data,
        filename=filename,
        fmt=fmt,
        csv_profile=profile,
        default_currency=str(tenant.currency),
    )
    digest = hashlib.sha256(data).hexdigest()
    debits = sum(1 for line in parsed.lines if line.amount < 0)
    deferred = background and len(parsed.lines) - debits > INLINE_MATCH_LINES

    async def store(_tx: Any) -> tuple[int | None, list[int]]:
        statement_id = await scope.add_unless_exists(
            BankStatement(
                format=parsed.format,
                account=parsed.account[:64],
                currency=parsed.currency,
                statement_id=parsed.statement_id[:100],
                opening_balance=parsed.opening_balance,
                closing_balance=parsed.closing_balance,
                file_sha256=digest,
                filename=(filename or "")[-200:],
                source=(source or "")[:20],
                imported_by=actor[:100],
                counts={},
                created_at=_now(),
            )
        )
        if statement_id is None:
            return None, []
        now = _now()
        new_ids: list[int] = []
        rows = [
            BankLine(
                statement=statement_id,
                line_no=line.line_no,
                key=line.key[:100],
                booked_on=line.booked_on,
                amount=line.amount,
                currency=line.currency,
                reference=line.reference[:200],
                description=line.description,
                payer_name=line.payer_name[:200],
                payer_account=line.payer_account[:64],
                status="debit" if line.amount < 0 else "unmatched",
                candidates=[],
                created_at=now,
            )
            for line in parsed.lines
        ]
        for start in range(0, len(rows), BATCH):
            inserted = await scope.add_new(
                *rows[start : start + BATCH], returning=(BankLine.id, BankLine.amount)
            )
            new_ids += [int(r["id"]) for r in inserted if int(r["amount"]) > 0]
        if deferred and new_ids:
            await enqueue(
                scope,
                MATCH_JOB,
                {"statement_id": int(statement_id)},
                key=f"{MATCH_JOB}:{statement_id}",
            )
        return statement_id, new_ids

    statement_id, new_ids = await atomic(store)
    if statement_id is None:
        existing = (
            await scope.objects(BankStatement).where(BankStatement.file_sha256 == digest).first()
        )
        return ImportSummary(
            statement_id=int(existing.id) if existing is not None else None,
            duplicate_file=True,
            format=parsed.format,
            account=parsed.account,
            currency=parsed.currency,
            lines=len(parsed.lines),
            new=0,
            already_imported=len(parsed.lines),
            matched=0,
            review=0,
            unmatched=0,
            debits=debits,
            applied=0,
        )
    stored = await scope.count(BankLine).where(BankLine.statement == statement_id)
    if deferred:
        new_rows: Sequence[BankLine] = []
    elif new_ids:
        new_rows = (
            await scope.objects(BankLine).where(BankLine.id.is_in(new_ids)).order_by(BankLine.id)
        )
    else:
        new_rows = []
    counts = await match_and_apply(scope, new_rows, actor=actor)
    summary = ImportSummary(
        statement_id=statement_id,
        duplicate_file=False,
        format=parsed.format,
        account=parsed.account,
        currency=parsed.currency,
        lines=len(parsed.lines),
        new=int(stored),
        already_imported=len(parsed.lines) - int(stored),
        matched=counts.matched,
        review=counts.review,
        unmatched=counts.unmatched,
        debits=debits,
        applied=counts.applied,
        pending=len(new_ids) if deferred else 0,
    )
    values = summary.as_dict()
    await scope.update(BankStatement, {BankStatement.counts: values}).where(
        BankStatement.id == statement_id
    )
    await record(
        scope,
        actor,
        "bank_statement.imported",
        f"bank_statement:{statement_id}",
        filename=(filename or "")[-200:],
        **{k: v for k, v in values.items() if k != "statement_id"},
    )
    return summary


async def match_statement(scope: TenantScope, statement_id: int, *, actor: str) -> MatchCounts:
    """The ``reconcile_statement`` job: match and apply a deferred statement's credits that nobody
    decided on yet, then store its final counts. Running it twice is harmless: matched lines are
    no longer open, and each line is applied under its own lock and key."""
    statement = await scope.get(BankStatement, statement_id)
    if statement is None:
        return MatchCounts()
    rows = (
        await scope.objects(BankLine)
        .where(
            BankLine.statement == statement_id,
            BankLine.status.is_in(list(OPEN_LINE_STATUSES)),
            BankLine.amount > 0,
        )
        .order_by(BankLine.id)
    )
    counts = await match_and_apply(
        scope,
        rows,
        actor=actor,
        may_apply=lambda row: int(row.generation) == 0 and not row.decided_by,
    )
    stored = loads(statement.counts, {})
    stored = dict(stored) if isinstance(stored, dict) else {}
    # what the statement's lines are now (a second run matches nothing new and changes nothing)
    for status in ("matched", "review", "unmatched"):
        stored[status] = await scope.count(BankLine).where(
            BankLine.statement == statement_id, BankLine.status == status
        )
    stored["applied"] = int(stored.get("applied") or 0) + counts.applied
    stored["pending"] = 0
    await scope.update(BankStatement, {BankStatement.counts: stored}).where(
        BankStatement.id == statement_id
    )
    await record(
        scope, actor, "bank_statement.matched", f"bank_statement:{statement_id}", **counts.as_dict()
    )
    return counts


async def match_and_apply(
    scope: TenantScope,
    rows: Sequence[BankLine],
    *,
    actor: str,
    settings: MatchSettings | None = None,
    may_apply: Callable[[BankLine], bool] = lambda _row: True,
) -> MatchCounts:
    """Match credit lines (review or unmatched) and apply the confident matches of those
    ``may_apply`` allows (the others go to review with their candidates)."""
    counts = MatchCounts()
    rows = [r for r in rows if int(r.amount) > 0 and r.status in OPEN_LINE_STATUSES]
    if not rows:
        return counts
    tenant = await fresh_tenant(scope.tenant_id)
    if settings is None:
        settings = settings_from_policy(tenant.policy)
    rules = await load_match_rules(tenant_info(tenant), settings.rules)
    by_currency: dict[str, list[BankLine]] = {}
    for row in rows:
        by_currency.setdefault(str(row.currency), []).append(row)
    accounts = await known_accounts(scope)
    for currency, group in by_currency.items():
        book = await load_book(scope, currency, accounts=accounts)
        by_key = {str(line.key): line for line in group}
        decisions = match_lines([statement_line(r) for r in group], book, rules, settings)
        for decision in decisions:
            found = by_key.get(decision.line.key)
            if found is None:
                continue
            row = found
            outcome = decision.outcome
            candidates = list(decision.candidates)
            note = ""
            if outcome == "matched" and candidates and may_apply(row):
                try:
                    done = await apply_match(
                        scope,
                        int(row.id),
                        candidates[0],
                        tolerance=settings.fee_tolerance,
                        window=settings.date_window_days,
                        actor=actor,
                        expected_generation=int(row.generation),
                        candidates=candidates,
                    )
                except Refused as exc:
                    note = exc.message
                    outcome = "review"
                else:
                    if done.status == "matched":
                        counts.matched += 1
                        counts.applied += done.applied
                    continue  # decided (by us, or by someone first)
            elif outcome == "matched":
                outcome = "review"
            status = "review" if outcome == "review" and candidates else "unmatched"
            unchanged = status == row.status == "unmatched" and not note and not row.note
            if not unchanged or row.candidates not in ([], "[]", None):
                await _set_open(scope, row, status, candidates, note)
            if status == "review":
                counts.review += 1
            else:
                counts.unmatched += 1
    return counts


async def known_accounts(scope: TenantScope) -> dict[str, int]:
    """Bank accounts customers paid from before (matched lines): account → customer, for the
    accounts only one customer used."""
    rows = await (
        scope.select(BankLine, BankLine.payer_account, BankLine.customer)
        .where(
            BankLine.status == "matched",
            BankLine.payer_account != "",
            BankLine.customer.is_not_null(),
        )
        .distinct()
    )
    seen: dict[str, set[int]] = {}
    for row in rows:
        seen.setdefault(str(row["payer_account"]), set()).add(int(row["customer"]))
    return {account: next(iter(ids)) for account, ids in seen.items() if len(ids) == 1}


async def _set_open(
    scope: TenantScope, row: BankLine, status: str, candidates: list[Any], note: str
) -> None:
    """Store what the engine proposed for a line still open, unless someone decided meanwhile."""
    best = candidates[0] if candidates else None
    await scope.update(
        BankLine,
        {
            BankLine.status: status,
            BankLine.candidates: [candidate_dict(c) for c in candidates],
            BankLine.rule: best.rule[:50] if best is not None else "",
            BankLine.confidence: float(best.confidence) if best is not None else None,
            BankLine.note: note[:500],
        },
    ).where(
        BankLine.id == row.id,
        BankLine.status.is_in(list(OPEN_LINE_STATUSES)),
        BankLine.generation == int(row.generation),
    )


__all__ = ["ImportSummary", "MatchCounts", "import_statement", "match_and_apply"]
