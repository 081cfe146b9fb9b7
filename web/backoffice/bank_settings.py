"""Conciliación → Ajustes (owners): which matching rules run and in what order, the confidence
needed to apply a match without a person, the bank-fee tolerance and the date window; and the
tenant's CSV profiles (how each bank's CSV export is read).

Thin adapters over :mod:`recaudo.core.reconciliation.settings` and ``.csv_profiles``: bad input
comes back as the form with a message next to each field (400) and nothing is stored. Like every
settings page, only owners (``owner_staff``) may see or change it.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from recaudo.core.casework.review.common import actor
from recaudo.core.common.money import Money
from recaudo.core.common.money_input import input_text
from recaudo.core.reconciliation import csv_profiles as profiles
from recaudo.core.reconciliation.engine import available_rules
from recaudo.core.reconciliation.formats import CsvProfile, StatementError, guess_csv_profile
from recaudo.core.reconciliation.settings import reconcile_settings, save_reconcile_settings
from recaudo.core.tables import StaffUser
from recaudo.core.tenant_settings.errors import FormErrors
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.amounts import page_locale
from recaudo.web.backoffice.common import staff_base, staff_page
from recaudo.web.uploads import TOO_LARGE_OPT

BASE = "/conciliacion/ajustes"
#: A sample to guess a CSV profile from: the first rows are enough.
MAX_SAMPLE = 1024 * 1024
#: CsvProfile's fields, in the form's order, with their labels and hints (Spanish source text).
PROFILE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("name", "Nombre del perfil", "por ejemplo: BBVA empresas"),
    ("delimiter", "Separador", "una coma, punto y coma o «tab»"),
    ("encoding", "Codificación", "utf-8, latin-1 o cp1252"),
    ("skip_rows", "Filas a saltar antes del encabezado", ""),
    ("date_column", "Columna de fecha", ""),
    ("date_format", "Formato de fecha", "por ejemplo %d/%m/%Y o %Y-%m-%d"),
    ("amount_column", "Columna de monto (con signo)", "o usa abonos y cargos"),
    ("credit_column", "Columna de abonos", ""),
    ("debit_column", "Columna de cargos", ""),
    ("decimal_separator", "Separador decimal", ""),
    ("thousands_separator", "Separador de miles", ""),
    ("currency", "Moneda", "código ISO, por ejemplo MXN o COP"),
    ("currency_column", "Columna de moneda", "si el archivo la trae"),
    ("reference_column", "Columna de referencia", ""),
    ("description_column", "Columna de concepto", ""),
    ("payer_name_column", "Columna del nombre de quien paga", ""),
    ("payer_account_column", "Columna de la cuenta de quien paga", ""),
    ("id_column", "Columna del identificador del banco", "hace única cada operación"),
)
PROFILE_NOT_FOUND = "No existe ese perfil CSV."
NOT_GUESSED = (
    "No se reconocieron las columnas de fecha y monto en la muestra: llena el perfil a mano."
)
NO_SAMPLE = "Elige un archivo de muestra."
SAMPLE_TOO_BIG = "La muestra pesa más de 1 MiB: basta con las primeras filas."


def _percent(value: float) -> str:
    return f"{value * 100:.0f}"


async def _page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    owner: StaffUser,
    *,
    errors: FormErrors | None = None,
    typed: dict[str, str] | None = None,
    profile_errors: list[str] | None = None,
    profile_values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    current = await reconcile_settings(scope)
    rules = available_rules()
    labels = dict(rules)
    order = [n for n in current.rules if n in labels] + [
        n for n, _label in rules if n not in current.rules
    ]
    values = typed or {
        "auto_threshold": _percent(current.auto_threshold),
        "fee_tolerance": input_text(
            Money(str(tenant.currency), current.fee_tolerance), page_locale(request, tenant)
        ),
        "date_window_days": str(current.date_window_days),
        **{f"rule_{n}": "1" for n in current.rules},
        **{f"position_{n}": str(i + 1) for i, n in enumerate(order)},
    }
    saved_profiles = await profiles.csv_profiles(scope)
    editing = str(request.query_params.get("perfil") or "")
    if profile_values is None:
        chosen = next((p for p in saved_profiles if p.name == editing), None)
        profile_values = _profile_form(chosen or CsvProfile(name=""))
    return await staff_page(
        request,
        "staff/bank/settings.html",
        tenant,
        owner,
        status_code=status_code,
        rules=[(n, labels[n]) for n in order],
        values=values,
        errors=errors,
        profiles=saved_profiles,
        profile_fields=PROFILE_FIELDS,
        profile_values=profile_values,
        profile_errors=profile_errors or [],
        notice=str(request.query_params.get("aviso") or ""),
    )


def _profile_form(profile: CsvProfile) -> dict[str, str]:
    data = profile.to_dict()
    return {name: str(data.get(name, "")) for name, _l, _h in PROFILE_FIELDS}


@get(BASE, name="staff:bank_settings", operation_id="staff_bank_settings")
async def bank_settings_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template:
    return await _page(request, tenant, tenant_scope, owner_staff)


@post(BASE, name="staff:bank_settings_save", operation_id="staff_bank_settings_save")
async def bank_settings_save(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    raw = await request.form()
    form = {k: str(v)[:200] for k, v in raw.items() if isinstance(v, str)}
    try:
        # The fee is read by the service in the tenant's locale, the one the page wrote it in.
        await save_reconcile_settings(tenant_scope, form, actor=actor(owner_staff))
    except FormErrors as exc:
        return await _page(
            request, tenant, tenant_scope, owner_staff, errors=exc, typed=form, status_code=400
        )
    return Redirect(f"{staff_base(request)}{BASE}?aviso=guardado", status_code=303)


def _profile_data(form: dict[str, str]) -> dict[str, Any]:
    known = {f.name: f for f in fields(CsvProfile)}
    data: dict[str, Any] = {}
    for name, _label, _hint in PROFILE_FIELDS:
        if name not in known:
            continue
        value = form.get(name, "")
        if name == "delimiter" and value.strip().lower() in ("tab", "\\t"):
            value = "\t"
        data[name] = value if name in ("delimiter", "thousands_separator") else value.strip()
    return data


@post(
    f"{BASE}/perfiles",
    name="staff:bank_profile_save",
    operation_id="staff_bank_profile_save",
    request_max_body_size=MAX_SAMPLE + 256 * 1024,
    opt={TOO_LARGE_OPT: f"/staff{BASE}?aviso=muestra-grande#perfiles"},
)
async def bank_profile_save(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    raw = await request.form()
    form = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
    sample = raw.get("muestra")

    async def again(problems: list[str], values: dict[str, str], status: int = 400) -> Template:
        return await _page(
            request,
            tenant,
            tenant_scope,
            owner_staff,
            profile_errors=problems,
            profile_values=values,
            status_code=status,
        )

    if form.get("adivinar") == "1":
        if not isinstance(sample, UploadFile) or not sample.filename:
            return await again([NO_SAMPLE], form)
        content = await sample.read(MAX_SAMPLE + 1)
        if len(content) > MAX_SAMPLE:
            return await again([SAMPLE_TOO_BIG], form)
        guessed = guess_csv_profile(content, name=form.get("name", "").strip()[:60])
        if guessed is None:
            return await again([NOT_GUESSED], form)
        # A guess only fills the form: the owner checks it and saves it.
        values = _profile_form(guessed)
        return await again([], values, 200)
    try:
        profile = CsvProfile.from_dict(_profile_data(form))
    except StatementError as exc:
        return await again([str(exc)], form)
    problems = profile.errors()
    if problems:
        return await again(problems, form)
    await profiles.save_csv_profile(tenant_scope, profile, actor=actor(owner_staff))
    return Redirect(
        f"{staff_base(request)}{BASE}?aviso=perfil-guardado&perfil={quote(profile.name)}#perfiles",
        status_code=303,
    )


@post(
    f"{BASE}/perfiles/eliminar",
    name="staff:bank_profile_delete",
    operation_id="staff_bank_profile_delete",
)
async def bank_profile_delete(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    owner_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    raw = await request.form()
    name = str(raw.get("name") or "").strip()
    if name not in {p.name for p in await profiles.csv_profiles(tenant_scope)}:
        return await _page(
            request,
            tenant,
            tenant_scope,
            owner_staff,
            profile_errors=[PROFILE_NOT_FOUND],
            status_code=404,
        )
    await profiles.delete_csv_profile(tenant_scope, name, actor=actor(owner_staff))
    return Redirect(f"{staff_base(request)}{BASE}?aviso=perfil-eliminado#perfiles", status_code=303)


ROUTES: list[Any] = [
    bank_settings_page,
    bank_settings_save,
    bank_profile_save,
    bank_profile_delete,
]
