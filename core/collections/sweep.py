"""The reminder sweep's decision: which open invoices reached a stage they have not had yet.

One SQL statement per tenant, whatever the number of invoices (the issue forbids a query per
invoice, and ``bench/dunning.py`` holds it under 10 s for 1,000,000). Stages are relative to the
due date, so "the latest stage whose ``offset_days`` ≤ days overdue" is the same as "the stage
whose cut-off date ``local_date − offset_days`` is on or after the due date". Policies have a few
stages each, so the cut-offs are computed here and the SQL only compares dates — portable
between SQLite and PostgreSQL, which disagree on date arithmetic. A ``CASE`` on the customer's
segment picks the policy (its segment's, else the default ``""`` one).

Only the *current* stage is proposed: a stage missed while the invoice was paused (promise,
dispute, plan) is not sent late. The ``dunning_mark`` anti-join makes a stage go out once.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from recaudo.core.collections.policies import PolicySpec, StageSpec
from recaudo.tenants.scoped import TenantScope


class DueInvoice(NamedTuple):
    """An invoice and the stage it is due for (a tuple: a first sweep builds hundreds of
    thousands of them)."""

    invoice_id: int
    number: str
    customer_id: int
    due_date: date
    currency: str
    balance: int
    stage_id: int


@dataclass
class CustomerDue:
    """One customer's invoices due for a reminder; the most advanced stage speaks for all."""

    customer_id: int
    stage: StageSpec
    invoices: list[DueInvoice] = field(default_factory=list)

    @property
    def invoice_ids(self) -> list[int]:
        return sorted(inv.invoice_id for inv in self.invoices)


def _stage_case(policy: PolicySpec, today: date, args: list[object]) -> str:
    """``CASE WHEN i.due_date <= cutoff THEN stage_id … END`` for one policy, latest first."""
    stages = sorted(policy.stages, key=lambda s: s.offset_days, reverse=True)
    if not stages:
        return "NULL"
    whens = []
    for stage in stages:
        args.append(today - timedelta(days=stage.offset_days))
        whens.append(f"WHEN i.due_date <= {{}} THEN {int(stage.id)}")
    return "CASE " + " ".join(whens) + " END"


def decision_sql(policies: dict[str, PolicySpec], today: date) -> tuple[str, list[object]]:
    """The sweep's statement and its arguments (exposed for the benchmark)."""
    args: list[object] = []
    segments = [p for seg, p in sorted(policies.items()) if seg != ""]
    default = policies.get("")
    parts = []
    for policy in segments:
        args.append(policy.segment)
        parts.append(f"WHEN c.segment = {{}} THEN {_stage_case(policy, today, args)}")
    default_case = _stage_case(default, today, args) if default is not None else "NULL"
    stage_expr = "CASE " + " ".join(parts) + f" ELSE {default_case} END" if parts else default_case
    args.append(False)  # not disputed
    args.append(today)  # a promise covers the invoice until its date has passed
    sql = f"""
        SELECT x.id, x.number, x.customer, x.due_date, x.currency, x.balance, x.stage_id
        FROM (
            SELECT i.id, i.number, i.customer, i.due_date, i.currency,
                   i.total - i.amount_applied AS balance,
                   {stage_expr} AS stage_id
            FROM invoice i
            JOIN customer c ON c.id = i.customer AND c.tenant = {{tenant}}
            WHERE i.tenant = {{tenant}}
              AND i.status IN ('open', 'partially_paid')
              AND i.total > i.amount_applied
              AND i.disputed = {{}}
              AND i.plan_id IS NULL
              AND NOT EXISTS (
                  SELECT 1 FROM promise_invoice pi
                  JOIN payment_promise pp ON pp.id = pi.promise AND pp.tenant = {{tenant}}
                  WHERE pi.tenant = {{tenant}} AND pi.invoice = i.id
                    AND pp.status = 'pending' AND pp.promised_date >= {{}}
              )
        ) x
        WHERE x.stage_id IS NOT NULL
          AND NOT EXISTS (
              SELECT 1 FROM dunning_mark m
              WHERE m.tenant = {{tenant}} AND m.invoice = x.id AND m.stage = x.stage_id
          )
        ORDER BY x.customer, x.id
    """
    return sql, args


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def due_invoices(
    scope: TenantScope, policies: dict[str, PolicySpec], today: date
) -> list[DueInvoice]:
    """Every invoice of the tenant that is due for a stage on ``today`` (the tenant's date)."""
    if not any(p.stages for p in policies.values()):
        return []
    sql, args = decision_sql(policies, today)
    # Hundreds of thousands of small objects at once: the cyclic collector would walk them
    # again and again (half the time of a first sweep over 1M invoices); none of them is cyclic.
    collecting = gc.isenabled()
    gc.disable()
    try:
        rows = await scope.raw(sql, *args)
        return [
            DueInvoice(
                int(r["id"]),
                str(r["number"]),
                int(r["customer"]),
                _as_date(r["due_date"]),
                str(r["currency"]),
                int(r["balance"]),
                int(r["stage_id"]),
            )
            for r in rows
        ]
    finally:
        if collecting:
            gc.enable()


def group_by_customer(
    invoices: list[DueInvoice], policies: dict[str, PolicySpec]
) -> list[CustomerDue]:
    """One entry per customer; the stage with the largest offset decides the message."""
    stages = {s.id: s for p in policies.values() for s in p.stages}
    grouped: dict[int, CustomerDue] = {}
    for inv in invoices:
        stage = stages[inv.stage_id]
        entry = grouped.get(inv.customer_id)
        if entry is None:
            entry = grouped[inv.customer_id] = CustomerDue(inv.customer_id, stage)
        elif stage.offset_days > entry.stage.offset_days:
            entry.stage = stage
        entry.invoices.append(inv)
    return list(grouped.values())
