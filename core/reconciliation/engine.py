"""The matching engine: which customer and invoices each bank statement line pays.

Rules live in plugins (``recaudo_match_rules``; the built-ins in ``match_basics`` and
``banktransfer``); this module only runs them and judges their answers. For each credit line it
asks the tenant's enabled rules in the tenant's order, merges proposals that agree (same customer,
same allocations: two rules agreeing are more sure than either), and decides:

* ``matched`` — the best proposal reaches the tenant's threshold and no proposal for another
  customer comes within :data:`MARGIN` of it; it is applied (the book's balances shrink, so a
  later line paying the same invoice sees what is left);
* ``review`` — there are proposals, but none is sure or two customers are close: a person
  decides, with the candidates best first;
* ``unmatched`` — nobody proposed anything. Debits (money out) are always unmatched: no rule runs.

Rules are tried in order and the run stops at the first confident, unambiguous answer, so a line
paid by its reference never pays for fuzzy name matching. A rule that raises is reported through
the plugin guard and skipped for the rest of the run. :func:`match_lines` does no I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from recaudo.core.platform import guard
from recaudo.core.platform.context import context_for
from recaudo.core.platform.extensions import MatchRule
from recaudo.core.platform.host import get_host
from recaudo.core.platform.values import MatchCandidate, StatementLine, TenantInfo
from recaudo.core.reconciliation.book import Book
from recaudo.tenants.plugin_config import enabled_plugins
from recaudo.tenants.scoped import TenantScope

log = logging.getLogger(__name__)

DEFAULT_RULES = ("bank_reference", "invoice_number", "amount_date_customer", "payer_name")
#: Plugins whose rules run without being switched on: the built-in basics have no settings.
ALWAYS_ON = ("match_basics",)
#: How far ahead of a proposal for another customer the best one must be to be applied.
MARGIN = 0.1
#: The lowest threshold a tenant may choose: below it weak hints would move money.
MIN_AUTO_THRESHOLD = 0.7
#: Rules whose proposals are hints: never applied unless another rule agrees.
HINT_RULES = frozenset({"payer_name"})
#: Candidates kept for review.
MAX_CANDIDATES = 8


@dataclass(frozen=True)
class MatchSettings:
    """A tenant's reconciliation choices (saved by ``core.reconciliation.settings``)."""

    rules: tuple[str, ...] = DEFAULT_RULES  # rule names in order; only these run
    auto_threshold: float = 0.9  # confidence needed to apply without a person
    fee_tolerance: int = 0  # minor units a line may fall short and still close
    date_window_days: int = 15


@dataclass(frozen=True)
class LineDecision:
    line: StatementLine
    outcome: Literal["matched", "review", "unmatched"]
    candidates: tuple[MatchCandidate, ...] = ()  # best first; when matched, [0] is applied


@dataclass(frozen=True)
class LoadedMatchRule:
    plugin: str
    rule: MatchRule
    ctx: Any  # the plugin's PluginContext for this tenant

    @property
    def name(self) -> str:
        return str(self.rule.name)


def _installed() -> list[tuple[str, MatchRule]]:
    found: list[tuple[str, MatchRule]] = []
    names: set[str] = set()
    for plugin, rule in get_host().provided("recaudo_match_rules"):
        if not isinstance(rule, MatchRule):
            log.error("plugin %s: recaudo_match_rules returned %r, not a MatchRule", plugin, rule)
            continue
        if rule.name in names:
            log.error("plugin %s: a match rule named %r already exists", plugin, rule.name)
            continue
        names.add(rule.name)
        found.append((plugin, rule))
    return found


def available_rules() -> list[tuple[str, str]]:
    """``(name, label)`` of every installed match rule, the built-ins first in default order."""
    rules = [(str(r.name), str(r.label)) for _, r in _installed()]
    order = {name: k for k, name in enumerate(DEFAULT_RULES)}
    return sorted(rules, key=lambda r: (order.get(r[0], len(order)), r[0]))


async def load_match_rules(tenant: TenantInfo, names: Sequence[str]) -> list[LoadedMatchRule]:
    """The rules named in ``names`` (that order) that apply to the tenant: installed, for its
    country, and from a plugin it switched on (the built-in basics need no switching on)."""
    wanted = list(dict.fromkeys(names))
    enabled = set(await enabled_plugins(TenantScope(tenant.id)))
    contexts: dict[str, Any] = {}
    by_name: dict[str, LoadedMatchRule] = {}
    for plugin, rule in _installed():
        if rule.name not in wanted:
            continue
        countries = tuple(getattr(rule, "countries", ()) or ())
        if countries and tenant.country.upper() not in {c.upper() for c in countries}:
            continue
        if plugin not in enabled and plugin not in ALWAYS_ON:
            continue
        if plugin not in contexts:
            contexts[plugin] = await context_for(tenant, plugin)
        by_name[rule.name] = LoadedMatchRule(plugin, rule, contexts[plugin])
    return [by_name[name] for name in wanted if name in by_name]


# --- judging proposals ------------------------------------------------------------------------


def _valid(candidate: Any, line: StatementLine, book: Book) -> MatchCandidate | None:
    """The candidate if it is possible money: open invoices of its customer, each within its
    balance, in all no more than the line (plus the fee tolerance). Anything else is dropped."""
    if not isinstance(candidate, MatchCandidate):
        return None
    if not book.has_customer(candidate.customer_id):
        return None
    try:
        confidence = min(1.0, max(0.0, float(candidate.confidence)))
    except (TypeError, ValueError):
        return None
    seen: set[int] = set()
    total = 0
    for invoice_id, amount in candidate.allocations:
        if invoice_id in seen or not isinstance(amount, int) or amount <= 0:
            return None
        if book.customer_of(invoice_id) != candidate.customer_id:
            return None
        if amount > book.balance(invoice_id):
            return None
        seen.add(invoice_id)
        total += amount
    if total > line.amount + book.fee_tolerance:
        return None
    if confidence != candidate.confidence:
        candidate = MatchCandidate(
            candidate.rule,
            confidence,
            candidate.customer_id,
            candidate.allocations,
            candidate.reason,
        )
    return candidate


def _merge(pool: dict[tuple[Any, ...], MatchCandidate], new: MatchCandidate) -> None:
    """Add ``new``; the same customer and allocations from another rule raise the confidence
    (as two independent witnesses: 1 - (1-a)(1-b)); from the same rule keep the surer one."""
    key = (new.customer_id, tuple(sorted(new.allocations)))
    old = pool.get(key)
    if old is None:
        pool[key] = new
        return
    rules = old.rule.split("+")
    if new.rule in rules:
        if new.confidence > old.confidence:
            pool[key] = MatchCandidate(
                old.rule, new.confidence, old.customer_id, old.allocations, new.reason
            )
        return
    confidence = 1 - (1 - old.confidence) * (1 - new.confidence)
    pool[key] = MatchCandidate(
        f"{old.rule}+{new.rule}",
        round(confidence, 4),
        old.customer_id,
        old.allocations,
        f"{old.reason} · {new.reason}" if old.reason and new.reason else old.reason or new.reason,
    )


def _ranked(pool: dict[tuple[Any, ...], MatchCandidate]) -> list[MatchCandidate]:
    return sorted(
        pool.values(),
        key=lambda c: (-c.confidence, -sum(a for _, a in c.allocations), c.customer_id),
    )


def _confident(ranked: list[MatchCandidate], threshold: float) -> bool:
    if not ranked:
        return False
    best = ranked[0]
    if best.confidence < threshold:
        return False
    if set(best.rule.split("+")) <= HINT_RULES:
        return False
    rivals = [c for c in ranked[1:] if c.customer_id != best.customer_id]
    return not rivals or best.confidence - rivals[0].confidence >= MARGIN


def match_lines(
    lines: Sequence[StatementLine],
    book: Book,
    rules: Sequence[LoadedMatchRule],
    settings: MatchSettings,
) -> list[LineDecision]:
    """Decide every line, in order; matched lines take their allocations from ``book``."""
    book.fee_tolerance = max(0, int(settings.fee_tolerance))
    book.date_window_days = max(0, int(settings.date_window_days))
    threshold = max(MIN_AUTO_THRESHOLD, float(settings.auto_threshold))
    order = {name: k for k, name in enumerate(settings.rules)}
    active = sorted((r for r in rules if r.name in order), key=lambda r: order[r.name])
    failed: set[str] = set()
    decisions: list[LineDecision] = []
    for line in lines:
        if line.amount <= 0 or line.currency != book.currency:
            decisions.append(LineDecision(line, "unmatched"))
            continue
        pool: dict[tuple[Any, ...], MatchCandidate] = {}
        ranked: list[MatchCandidate] = []
        for loaded in active:
            if loaded.name in failed:
                continue
            try:
                proposals = loaded.rule.candidates(loaded.ctx, line, book)
            except Exception as exc:  # a plugin's bug must not stop the statement
                failed.add(loaded.name)
                tenant = getattr(getattr(loaded.ctx, "tenant", None), "id", None)
                guard.report(loaded.plugin, "match_rule", exc, tenant)
                continue
            for proposal in proposals or ():
                valid = _valid(proposal, line, book)
                if valid is not None:
                    _merge(pool, valid)
            ranked = _ranked(pool)
            if _confident(ranked, threshold):
                break
        ranked = ranked[:MAX_CANDIDATES]
        if not ranked:
            decisions.append(LineDecision(line, "unmatched"))
        elif _confident(ranked, threshold):
            best = ranked[0]
            book.take(best.allocations)
            if line.payer_account:
                book.remember_account(line.payer_account, best.customer_id)
            decisions.append(LineDecision(line, "matched", tuple(ranked)))
        else:
            decisions.append(LineDecision(line, "review", tuple(ranked)))
    return decisions
