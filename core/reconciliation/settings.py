"""A tenant's reconciliation settings: which match rules run and in which order, the confidence a
match needs to be applied without a person, the bank-fee tolerance and the date window.

Stored as ``reconcile_*`` keys of ``Tenant.policy`` (like the late-fee policy): one small JSON
object per tenant needs no table, and other policy keys are kept as they are. A tenant that never
saved them gets the engine's defaults (:class:`~recaudo.core.reconciliation.engine.MatchSettings`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from recaudo.core.common.audit import record
from recaudo.core.common.money import MoneyError
from recaudo.core.common.money_input import parse_amount
from recaudo.core.reconciliation.engine import MatchSettings, available_rules
from recaudo.core.tenant_settings.errors import FormErrors
from recaudo.core.tenant_settings.tenant_rows import fresh_tenant, json_dict, write_tenant_json
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope

MIN_THRESHOLD = 0.5
MAX_WINDOW_DAYS = 90
MAX_FEE = 10**9  # minor units; a "fee" beyond this is not a fee
_WHOLE = re.compile(r"^[0-9]{1,3}$")
_SPLIT = re.compile(r"[\s,;]+")


def settings_from_policy(policy: Any) -> MatchSettings:
    """The tenant's settings from its policy JSON; anything missing or unreadable is the default."""
    data = json_dict(policy)
    default = MatchSettings()
    rules = data.get("reconcile_rules")
    names = (
        tuple(str(n) for n in rules if isinstance(n, str))
        if isinstance(rules, list)
        else default.rules
    )
    threshold = data.get("reconcile_auto_threshold")
    fee = data.get("reconcile_fee_tolerance")
    window = data.get("reconcile_date_window_days")
    return MatchSettings(
        rules=names,
        auto_threshold=float(threshold)
        if isinstance(threshold, int | float) and not isinstance(threshold, bool)
        else default.auto_threshold,
        fee_tolerance=int(fee)
        if isinstance(fee, int) and not isinstance(fee, bool) and fee >= 0
        else default.fee_tolerance,
        date_window_days=int(window)
        if isinstance(window, int) and not isinstance(window, bool)
        else default.date_window_days,
    )


async def reconcile_settings(scope: TenantScope) -> MatchSettings:
    return settings_from_policy((await fresh_tenant(scope.tenant_id)).policy)


def _rule_names(form: Mapping[str, str], known: list[str]) -> list[str] | None:
    """Enabled rules in order: ``rules`` (names separated by commas or spaces, in order), or a
    checkbox ``rule_<name>`` per rule with an optional ``position_<name>`` number."""
    if "rules" in form:
        return [n for n in _SPLIT.split(str(form.get("rules") or "").strip()) if n]
    chosen: list[tuple[int, int, str]] = []
    for index, name in enumerate(known):
        if str(form.get(f"rule_{name}") or "") not in ("1", "on", "true"):
            continue
        text = str(form.get(f"position_{name}") or "").strip()
        if text and not _WHOLE.match(text):
            return None
        chosen.append((int(text) if text else index + 1, index, name))
    return [name for _, _, name in sorted(chosen)]


def clean_settings(form: Mapping[str, str], currency: str, locale: str) -> MatchSettings:
    """Settings from a form; :class:`FormErrors` names every bad field (Spanish)."""
    errors: dict[str, str] = {}
    params: dict[str, dict[str, Any]] = {}
    known = [name for name, _label in available_rules()]
    names = _rule_names(form, known)
    if names is None:
        errors["rules"] = "El orden de cada regla debe ser un número entero."
        names = []
    unknown = [n for n in names if n not in known]
    if unknown:
        errors["rules"] = "Regla desconocida: %(names)s."
        params["rules"] = {"names": ", ".join(unknown)[:200]}
    elif len(set(names)) != len(names):
        errors["rules"] = "Cada regla puede aparecer una sola vez."
    threshold = 0.0
    text = str(form.get("auto_threshold") or "").strip().replace(",", ".").rstrip("%").strip()
    try:
        value = Decimal(text)
        if value > 1:  # typed as a percentage, 90 for 0.9
            value = value / 100
        if not value.is_finite() or not Decimal("0.5") <= value <= 1:
            raise InvalidOperation
        threshold = float(value)
    except InvalidOperation:
        errors["auto_threshold"] = "Escribe un número entre 0.5 y 1 (o entre 50 y 100 %)."
    fee = 0
    fee_text = str(form.get("fee_tolerance") or "").strip() or "0"
    try:
        fee = parse_amount(fee_text, currency, locale).amount
        if not 0 <= fee <= MAX_FEE:
            raise MoneyError("fee")
    except (MoneyError, ValueError):
        errors["fee_tolerance"] = "Escribe la comisión máxima como monto, por ejemplo 15.00."
    window = 0
    window_text = str(form.get("date_window_days") or "").strip()
    if not _WHOLE.match(window_text) or not 0 <= int(window_text) <= MAX_WINDOW_DAYS:
        errors["date_window_days"] = "Escribe un número entero de días entre %(low)d y %(high)d."
        params["date_window_days"] = {"low": 0, "high": MAX_WINDOW_DAYS}
    else:
        window = int(window_text)
    if errors:
        raise FormErrors(errors, params)
    return MatchSettings(
        rules=tuple(names),
        auto_threshold=threshold,
        fee_tolerance=fee,
        date_window_days=window,
    )


def policy_values(settings: MatchSettings) -> dict[str, Any]:
    return {
        "reconcile_rules": list(settings.rules),
        "reconcile_auto_threshold": settings.auto_threshold,
        "reconcile_fee_tolerance": settings.fee_tolerance,
        "reconcile_date_window_days": settings.date_window_days,
    }


async def save_reconcile_settings(
    scope: TenantScope, form: Mapping[str, str], *, actor: str
) -> MatchSettings:
    """Validate and store the settings (audited as ``settings.reconciliation.updated``)."""
    tenant: Tenant = await fresh_tenant(scope.tenant_id)
    settings = clean_settings(form, str(tenant.currency), str(tenant.locale))
    current = json_dict(tenant.policy)
    values = policy_values(settings)
    before = {k: current.get(k) for k in values}
    await write_tenant_json(scope.tenant_id, "policy", {**current, **values})
    await record(
        scope,
        actor,
        "settings.reconciliation.updated",
        f"tenant:{scope.tenant_id}",
        before=before,
        after=values,
    )
    return settings


__all__ = [
    "clean_settings",
    "reconcile_settings",
    "save_reconcile_settings",
    "settings_from_policy",
]
