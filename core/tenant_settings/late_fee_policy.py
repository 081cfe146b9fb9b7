"""Ajustes → Recargos por atraso: the late-fee policy (``Tenant.policy`` keys ``late_fee_*``,
read by :func:`recaudo.core.collections.late_fees.late_fee_policy`). Off by default.

Rates are typed as percentages with at most two decimals and stored in basis points; the
minimum fee arrives in minor units (the page reads it as money in the tenant's currency).
Other keys of the policy are kept as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from recaudo.core.collections.late_fees import late_fee_policy
from recaudo.core.common.audit import record
from recaudo.core.tenant_settings.errors import FormErrors
from recaudo.core.tenant_settings.policy import percent_text
from recaudo.core.tenant_settings.tenant_rows import fresh_tenant, json_dict, write_tenant_json
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope

_WHOLE = re.compile(r"^[0-9]{1,6}$")
MAX_RATE_BP = 10_000  # 100 % a month: no real policy comes near; usury laws cap far lower


@dataclass(frozen=True)
class LateFeeValues:
    enabled: bool
    rate_percent: str
    grace_days: str
    cap_percent: str
    min_amount: int  # minor units (the page formats it)
    min_amount_text: str = ""


def late_fee_values(tenant: Tenant, typed: Mapping[str, str] | None = None) -> LateFeeValues:
    policy = late_fee_policy(tenant.policy)
    if typed is not None:
        return LateFeeValues(
            enabled=str(typed.get("enabled") or "") in ("1", "on", "true"),
            rate_percent=str(typed.get("rate") or ""),
            grace_days=str(typed.get("grace_days") or ""),
            cap_percent=str(typed.get("cap") or ""),
            min_amount=policy.min_amount,
            min_amount_text=str(typed.get("min_amount") or ""),
        )
    return LateFeeValues(
        enabled=policy.enabled,
        rate_percent=percent_text(policy.rate_bp),
        grace_days=str(policy.grace_days),
        cap_percent=percent_text(policy.cap_bp),
        min_amount=policy.min_amount,
    )


def _percent(form: Mapping[str, str], key: str, errors: dict[str, str]) -> int:
    text = str(form.get(key) or "").strip().replace(",", ".").rstrip("%").strip()
    try:
        value = Decimal(text)
        if (
            not value.is_finite()
            or not 0 <= value <= 100
            or value != value.quantize(Decimal("0.01"))
        ):
            raise InvalidOperation
    except InvalidOperation:
        errors[key] = "Escribe un porcentaje entre 0 y 100 (hasta dos decimales)."
        return 0
    return int(value * 100)


def clean_late_fees(form: Mapping[str, str], min_amount: int | None) -> dict[str, Any]:
    """The policy keys from the form; :class:`FormErrors` names every bad field."""
    errors: dict[str, str] = {}
    params: dict[str, dict[str, Any]] = {}
    enabled = str(form.get("enabled") or "") in ("1", "on", "true")
    rate = _percent(form, "rate", errors)
    cap = _percent(form, "cap", errors)
    grace_text = str(form.get("grace_days") or "").strip()
    grace = 0
    if not _WHOLE.match(grace_text) or not 0 <= int(grace_text) <= 365:
        errors["grace_days"] = "Escribe un número entero entre %(low)d y %(high)d."
        params["grace_days"] = {"low": 0, "high": 365}
    else:
        grace = int(grace_text)
    if min_amount is None or min_amount < 0:
        errors["min_amount"] = "Escribe el monto con números, por ejemplo 1500.50."
    if not errors and enabled and rate <= 0:
        errors["rate"] = "Para cobrar recargos, la tasa mensual debe ser mayor que cero."
    if not errors and enabled and cap <= 0:
        errors["cap"] = "Para cobrar recargos, el tope debe ser mayor que cero."
    if errors:
        raise FormErrors(errors, params)
    return {
        "late_fee_enabled": enabled,
        "late_fee_rate_bp": rate,
        "late_fee_grace_days": grace,
        "late_fee_cap_bp": cap,
        "late_fee_min_amount": int(min_amount or 0),
    }


async def save_late_fees(
    scope: TenantScope,
    tenant: Tenant,
    form: Mapping[str, str],
    min_amount: int | None,
    actor: str,
) -> Tenant:
    values = clean_late_fees(form, min_amount)
    current = json_dict((await fresh_tenant(int(tenant.id))).policy)
    before: dict[str, Any] = {k: current.get(k) for k in values}
    updated = await write_tenant_json(int(tenant.id), "policy", {**current, **values})
    await record(
        scope,
        actor,
        "settings.late_fees.updated",
        f"tenant:{tenant.id}",
        before=before,
        after=values,
    )
    return updated
