"""Import customers and invoices from a file: upload, map columns, dry run, import (``/importar``).

The page is a thin adapter over :mod:`recaudo.core.billing.import_runs`: the upload becomes an
``import_run``, the confirmed column mapping is saved as the tenant's, and a job checks (dry run)
and then imports the file, writing its progress into the run. The run's status block polls itself
with htmx every second while the job works; without JavaScript a refresh link does the same.
Everyone on the team can look; owners and collectors (``acting_staff``) can import.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.billing import import_runs, imports
from recaudo.core.casework import review as inbox
from recaudo.core.common.jsonfield import loads
from recaudo.core.tables import ImportRun, StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.web.backoffice.common import staff_base, staff_page
from recaudo.web.uploads import TOO_LARGE_OPT

#: The body limit: the file cap plus room for the form fields, so a file just over the cap still
#: arrives and gets a clear message; beyond it web/uploads.py sends a browser back to the form.
MAX_BODY = import_runs.MAX_UPLOAD_BYTES + 1024 * 1024
TOO_BIG = "El archivo pesa más de 20 MiB. Divídelo en partes o usa «recaudo import»."
EDITABLE = ("new", "checked", "failed")  # statuses whose column mapping can still be changed
KIND_LABELS = {"invoices": "Facturas", "customers": "Clientes"}
FIELD_LABELS = {
    "number": "Número",
    "customer": "Cliente (su número)",
    "issue_date": "Fecha de emisión",
    "due_date": "Vencimiento",
    "currency": "Moneda",
    "amount": "Importe (antes de impuestos)",
    "tax": "Impuesto",
    "description": "Descripción",
    "external_id": "ID externo",
    "name": "Nombre",
    "email": "Correo",
    "phone": "Teléfono",
    "tax_id": "Identificación fiscal",
    "tax_country": "País fiscal",
    "preferred_channel": "Canal preferido",
}


#: The import service words row problems in English (the CLI's language); the page shows the
#: usual ones in Spanish. Anything not listed here is shown as it is.
_V = r"(?P<v>\"[^\"]*\"|'[^']*')"
REASONS_ES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(f"^{pattern}$"), spanish)
    for pattern, spanish in (
        ("required", "obligatorio"),
        ("required, at most (?P<n>\\d+) characters", "obligatorio, máximo {n} caracteres"),
        (f"{_V} is not an amount", "{v} no es un importe"),
        (f"{_V} is negative", "{v} es negativo"),
        (f"{_V} is too large", "{v} es demasiado grande"),
        (
            f"{_V} has more than (?P<n>\\d+) decimal digits for (?P<c>\\w+)",
            "{v} tiene más de {n} decimales para {c}",
        ),
        (
            f"{_V} is not a date \\(use YYYY-MM-DD or DD/MM/YYYY\\)",
            "{v} no es una fecha (usa AAAA-MM-DD o DD/MM/AAAA)",
        ),
        (f"{_V} already exists", "{v} ya existe"),
        (f"{_V} repeats line (?P<n>\\d+)", "{v} repite la línea {n}"),
        (f"{_V} is not a customer number", "{v} no es un número de cliente"),
        ("before issue_date", "anterior a la fecha de emisión"),
        ("must be more than zero", "debe ser mayor que cero"),
        ("at most (?P<n>\\d+) characters", "máximo {n} caracteres"),
        ("contains binary data \\(NUL\\)", "contiene datos binarios (NUL)"),
        (
            "has (?P<n>\\d+) values, the header has (?P<m>\\d+) columns",
            "tiene {n} valores y el encabezado {m} columnas",
        ),
        (f"{_V} not an email address", "{v} no es un correo electrónico"),
        (f"{_V} is not a two-letter country code", "{v} no es un código de país de dos letras"),
        (f"{_V} is not one of (?P<l>.+)", "{v} no es uno de: {l}"),
    )
)


def reason_es(reason: str) -> str:
    """A row problem in Spanish when it is one of the usual ones, else as the service said it."""
    for pattern, spanish in REASONS_ES:
        found = pattern.match(reason)
        if found:
            values = found.groupdict()
            if "v" in values:
                values["v"] = "«" + values["v"][1:-1] + "»"
            return spanish.format(**values)
    return reason


async def _recent(scope: TenantScope) -> list[dict[str, Any]]:
    return list(
        await scope.select(
            ImportRun,
            ImportRun.id,
            ImportRun.kind,
            ImportRun.filename,
            ImportRun.mode,
            ImportRun.status,
            ImportRun.rows_total,
            ImportRun.created_at,
        )
        .order_by(ImportRun.id, ascending=False)
        .limit(10)
    )


async def _upload_page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    staff: StaffUser,
    error: str = "",
    status_code: int = 200,
    kind: str = "invoices",
) -> Template:
    return await staff_page(
        request,
        "staff/imports.html",
        tenant,
        staff,
        status_code=status_code,
        error=error,
        kind=kind,
        kinds=KIND_LABELS,
        columns=imports.COLUMNS,
        required=imports.REQUIRED,
        runs=await _recent(scope),
        max_mib=import_runs.MAX_UPLOAD_BYTES // (1024 * 1024),
    )


@get("/importar", name="staff:imports", operation_id="staff_imports")
async def imports_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    if request.query_params.get("aviso") == "grande":
        return await _upload_page(request, tenant, tenant_scope, staff, TOO_BIG, 413)
    return await _upload_page(request, tenant, tenant_scope, staff)


@post(
    "/importar",
    name="staff:imports_upload",
    operation_id="staff_imports_upload",
    request_max_body_size=MAX_BODY,
    opt={TOO_LARGE_OPT: "/staff/importar?aviso=grande"},
)
async def imports_upload(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    form = await request.form()
    kind = str(form.get("kind") or "")
    upload = form.get("archivo")

    async def fail(message: str, status: int = 400) -> Template:
        shown = kind if kind in imports.KINDS else "invoices"
        return await _upload_page(
            request, tenant, tenant_scope, acting_staff, message, status, shown
        )

    if kind not in imports.KINDS:
        return await fail("kind: elige qué importar (clientes o facturas).")
    if not isinstance(upload, UploadFile):
        return await fail("archivo: adjunta un archivo CSV o XLSX.")
    content = await upload.read(import_runs.MAX_UPLOAD_BYTES + 1)
    if len(content) > import_runs.MAX_UPLOAD_BYTES:
        return await fail(TOO_BIG, 413)
    try:
        run, _header = await import_runs.create_run(
            tenant_scope, kind, upload.filename or "", content, f"staff:{acting_staff.id}"
        )
    except imports.ImportFileError as exc:
        return await fail(f"archivo: {str(exc).removeprefix('file: ')}")
    return Redirect(f"{staff_base(request)}/importar/{run.id}", status_code=303)


async def _run(scope: TenantScope, run_id: int) -> ImportRun:
    run = await scope.get(ImportRun, run_id)
    if run is None:
        raise inbox.NotFound("No existe esa importación.")
    return run


async def _mapping_rows(scope: TenantScope, run: ImportRun) -> list[dict[str, Any]]:
    """One row per file column with the field it feeds now (saved mapping, else defaults)."""
    header = import_runs.header_of(run)
    chosen = loads(run.mapping, {}) or {}
    saved = await imports.saved_mapping(scope, str(run.kind))
    try:
        pairs, _, _ = imports.resolve_mapping(str(run.kind), header, saved, chosen)
        by_index = dict(pairs)
    except imports.ImportFileError:
        by_index = {}
        taken: set[str] = set()
        for index, name in enumerate(header):
            key = imports.normalise(name)
            target = chosen.get(key, saved.get(key)) if key else None
            if target is None and key:
                target = imports.default_field(str(run.kind), name)
            if target and target not in taken and target in imports.COLUMNS[str(run.kind)]:
                by_index[index] = target
                taken.add(target)
    return [
        {"index": i, "name": name, "field": by_index.get(i, "")}
        for i, name in enumerate(header)
        if name
    ]


async def _run_page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    staff: StaffUser,
    run: ImportRun,
    error: str = "",
    status_code: int = 200,
) -> Template:
    fragment = request.headers.get("hx-request") == "true"
    return await staff_page(
        request,
        "staff/_import_status.html" if fragment else "staff/import_run.html",
        tenant,
        staff,
        status_code=status_code,
        run=run,
        error=error,
        kinds=KIND_LABELS,
        fields=imports.COLUMNS[str(run.kind)],
        field_labels=FIELD_LABELS,
        required=imports.REQUIRED[str(run.kind)],
        mapping=await _mapping_rows(scope, run) if run.status in EDITABLE else [],
        errors=loads(run.errors, []) or [],
        result=loads(run.result, {}) or {},
        active=run.status in import_runs.ACTIVE,
        reason_es=reason_es,
    )


@get("/importar/{run_id:int}", name="staff:import_run", operation_id="staff_import_run")
async def import_run_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    run_id: FromPath[int],
) -> Template:
    run = await _run(tenant_scope, run_id)
    return await _run_page(request, tenant, tenant_scope, staff, run)


@post(
    "/importar/{run_id:int}/revisar",
    name="staff:import_check",
    operation_id="staff_import_check",
)
async def import_check(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    run_id: FromPath[int],
) -> Template | Redirect:
    run = await _run(tenant_scope, run_id)
    form = await request.form()
    header = import_runs.header_of(run)
    mapping: dict[str, str] = {}
    for index, name in enumerate(header):
        if not name:
            continue
        value = form.get(f"col{index}")
        mapping[name] = value if isinstance(value, str) else ""
    try:
        await import_runs.queue_run(
            tenant_scope, run, "dry_run", f"staff:{acting_staff.id}", mapping
        )
    except imports.ImportFileError as exc:
        return await _run_page(request, tenant, tenant_scope, acting_staff, run, str(exc), 400)
    except import_runs.RunError as exc:
        return await _run_page(request, tenant, tenant_scope, acting_staff, run, str(exc), 409)
    return Redirect(f"{staff_base(request)}/importar/{run.id}", status_code=303)


@post(
    "/importar/{run_id:int}/importar",
    name="staff:import_start",
    operation_id="staff_import_start",
)
async def import_start(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    run_id: FromPath[int],
) -> Template | Redirect:
    run = await _run(tenant_scope, run_id)
    try:
        await import_runs.queue_run(tenant_scope, run, "import", f"staff:{acting_staff.id}", None)
    except import_runs.RunError as exc:
        return await _run_page(request, tenant, tenant_scope, acting_staff, run, str(exc), 409)
    return Redirect(f"{staff_base(request)}/importar/{run.id}", status_code=303)


ROUTES: list[Any] = [imports_page, imports_upload, import_run_page, import_check, import_start]
