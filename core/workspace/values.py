"""What the workspace's services return: plain frozen dataclasses shared by the dashboard, the
API and ``recaudo kpis`` so the three print the same figures.

Money is integer minor units of ``currency``; rates are ``Decimal`` fractions (0.875 = 87.5 %),
``None`` when the denominator is empty (no sales, no promises due) rather than a made-up zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class KpiFilters:
    """What the dashboard is narrowed to. ``start``/``end`` bound the period (inclusive) whose
    sales and collections DSO and CEI measure; ``at`` is the day the balances are taken."""

    at: date
    start: date
    end: date
    segment: str = ""
    collector_id: int | None = None


@dataclass(frozen=True)
class AgingBucket:
    key: str  # current, 1_30, 31_60, 61_90, 90_plus
    label: str  # Spanish label for people ("Al corriente", "1–30 días", …)
    from_days: int  # days past due, inclusive (current: None-like -inf is shown as 0)
    to_days: int | None  # inclusive; None = open-ended
    amount: int
    count: int


@dataclass(frozen=True)
class AmountBy:
    """An amount recovered, broken down by a dimension (a dunning stage, a channel)."""

    key: str
    label: str
    amount: int
    count: int


@dataclass(frozen=True)
class SeriesPoint:
    """One point of a chart: a period (week or month start) and its values by name."""

    period: date
    values: dict[str, int | Decimal | None]


@dataclass(frozen=True)
class KpiReport:
    currency: str
    filters: KpiFilters
    open_balance: int
    overdue_balance: int
    dso: Decimal | None  # days
    cei: Decimal | None  # fraction
    average_days_delinquent: Decimal | None  # days
    promise_kept_rate: Decimal | None  # fraction
    promises_due: int
    promises_kept: int
    auto_reconciled_share: Decimal | None  # fraction of reconciled payments matched by rules
    aging: tuple[AgingBucket, ...]
    recovered_by_stage: tuple[AmountBy, ...]
    recovered_by_channel: tuple[AmountBy, ...]
    dso_trend: tuple[SeriesPoint, ...] = field(default=())  # monthly, values {"dso": Decimal}
    weekly: tuple[SeriesPoint, ...] = field(default=())  # values {"due": int, "collected": int}
    # What DSO and CEI are computed from, shown next to them so a reader can check the figures.
    sales: int = 0  # totals of the non-void invoices issued in the period
    opening_receivables: int = 0  # receivables at the end of the day before the period
    closing_receivables: int = 0  # receivables at the end of the period
    closing_current: int = 0  # of those, not yet overdue
    reconciled: int = 0  # bank lines booked in the period and matched to a payment
    auto_reconciled: int = 0  # of those, matched by a rule, not by a person
