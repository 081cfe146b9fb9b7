"""Ajustes → Planes y promesas: the limits "No puedo pagar" applies (``Tenant.policy``).

Exactly the keys :func:`recaudo.core.collections.plans.policy_of` reads: ``plan_max_installments``
(0–60; 0 = no plans), ``plan_min_down_payment_bp`` (typed as a percentage, stored in basis
points), ``plan_max_days`` (0–1095) and ``promise_max_days`` (1–365). Other keys of the policy
(bank details, advice links) are kept as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from recaudo.core.collections.plans import policy_of
from recaudo.core.common.audit import record
from recaudo.core.tenant_settings.errors import FormErrors
from recaudo.core.tenant_settings.tenant_rows import fresh_tenant, json_dict, write_tenant_json
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope

_WHOLE = re.compile(r"^[0-9]{1,6}$")


@dataclass(frozen=True)
class PolicyValues:
    max_installments: str
    min_down_payment_percent: str
    max_days: str
    promise_max_days: str


def percent_text(basis_points: int) -> str:
    text = f"{Decimal(basis_points) / 100:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def policy_values(tenant: Tenant, typed: Mapping[str, str] | None = None) -> PolicyValues:
    policy = policy_of(tenant.policy)
    typed = typed or {}
    return PolicyValues(
        typed.get("max_installments", str(policy.max_installments)),
        typed.get("min_down_payment", percent_text(policy.min_down_payment_bp)),
        typed.get("max_days", str(policy.max_days)),
        typed.get("promise_max_days", str(policy.promise_max_days)),
    )


def _whole(
    form: Mapping[str, str],
    key: str,
    low: int,
    high: int,
    errors: dict[str, str],
    params: dict[str, dict[str, Any]],
) -> int:
    text = str(form.get(key) or "").strip()
    if not _WHOLE.match(text) or not low <= int(text) <= high:
        errors[key] = "Escribe un número entero entre %(low)d y %(high)d."
        params[key] = {"low": low, "high": high}
        return 0
    return int(text)


def clean_policy(form: Mapping[str, str]) -> dict[str, int]:
    errors: dict[str, str] = {}
    params: dict[str, dict[str, Any]] = {}
    installments = _whole(form, "max_installments", 0, 60, errors, params)
    days = _whole(form, "max_days", 0, 3 * 365, errors, params)
    promise = _whole(form, "promise_max_days", 1, 365, errors, params)
    text = str(form.get("min_down_payment") or "").strip().replace(",", ".").rstrip("%").strip()
    down = 0
    try:
        percent = Decimal(text)
        if (
            not percent.is_finite()
            or not 0 <= percent <= 100
            or percent != percent.quantize(Decimal("0.01"))
        ):
            raise InvalidOperation
        down = int(percent * 100)
    except InvalidOperation:
        errors["min_down_payment"] = "Escribe un porcentaje entre 0 y 100 (hasta dos decimales)."
    if not errors and installments > 0 and days < installments:
        errors["max_days"] = "El plazo en días debe ser al menos el número de cuotas."
    if not errors and installments == 0 and days > 0:
        errors["max_installments"] = "Para ofrecer planes, permite al menos una cuota."
    if errors:
        raise FormErrors(errors, params)
    return {
        "plan_max_installments": installments,
        "plan_min_down_payment_bp": down,
        "plan_max_days": days,
        "promise_max_days": promise,
    }


async def save_policy(
    scope: TenantScope, tenant: Tenant, form: Mapping[str, str], actor: str
) -> Tenant:
    values = clean_policy(form)
    current = json_dict((await fresh_tenant(int(tenant.id))).policy)
    before: dict[str, Any] = {k: current.get(k) for k in values}
    updated = await write_tenant_json(int(tenant.id), "policy", {**current, **values})
    await record(
        scope, actor, "settings.policy.updated", f"tenant:{tenant.id}", before=before, after=values
    )
    return updated
