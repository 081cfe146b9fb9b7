"""Reconciliation jobs: matching a large uploaded statement, and the daily rematch of
statement lines still open.

``reconcile_statement`` matches the credits of a statement the back office stored without
matching (more than ``INLINE_MATCH_LINES``); it is enqueued through the outbox with the lines.

Money often arrives before its invoice is loaded (or before the customer's reference is known):
``reconcile_rematch`` runs daily per tenant and matches the tenant's ``review`` and ``unmatched``
lines again. Confident matches are applied only for lines nobody decided on
(:func:`recaudo.core.reconciliation.review.rematch_open_lines`); the line lock makes a run that
overlaps an import or a staff decision harmless.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from recaudo.core.platform.jobs import Job, Schedule
from recaudo.core.reconciliation.apply import OPEN_LINE_STATUSES
from recaudo.core.tables import BankLine
from recaudo.tenants.scoped import TenantScope

log = logging.getLogger(__name__)
ACTOR = "system:reconciliation"


async def reconcile_rematch(scope: TenantScope, _payload: dict[str, Any]) -> None:
    from recaudo.core.reconciliation.review import rematch_open_lines

    if not await scope.exists(BankLine).where(BankLine.status.is_in(list(OPEN_LINE_STATUSES))):
        return  # most tenants: nothing imported, or nothing open
    counts = await rematch_open_lines(scope, actor=ACTOR)
    log.info("tenant %s: rematched %s", scope.tenant_id, counts)


async def reconcile_statement(scope: TenantScope, payload: dict[str, Any]) -> None:
    from recaudo.core.reconciliation.service import match_statement

    statement_id = payload.get("statement_id")
    if isinstance(statement_id, bool) or not isinstance(statement_id, int):
        log.error("reconcile_statement: bad payload %r", payload)
        return
    counts = await match_statement(scope, statement_id, actor=ACTOR)
    log.info("tenant %s: statement %s matched %s", scope.tenant_id, statement_id, counts)


JOBS = [
    Job("reconcile_rematch", reconcile_rematch, time_limit=timedelta(minutes=30)),
    Job("reconcile_statement", reconcile_statement, time_limit=timedelta(minutes=60)),
]
SCHEDULES = [Schedule("reconcile_rematch", "reconcile_rematch", every=timedelta(days=1))]
