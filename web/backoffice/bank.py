"""Conciliación: upload bank statements, review the movements the engine could not decide, undo.

Thin adapters over :mod:`recaudo.core.reconciliation` (``service.import_statement`` and the
review functions). Everyone signed in may look; owners and collectors (``acting_staff``) upload
and decide. A file that is not a statement gets a 400 page with the parser's message (naming the
line or element) and stores nothing; another tenant's line ids are 404 because every read goes
through the tenant's scope. Texts of a statement come from the bank (and from whoever wrote the
transfer) and are only ever shown escaped.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from recaudo.core.billing.listing import CustomerFilters, customer_page
from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.casework import review as inbox
from recaudo.core.casework.review.common import actor
from recaudo.core.reconciliation import review
from recaudo.core.reconciliation.csv_profiles import csv_profiles
from recaudo.core.reconciliation.engine import available_rules
from recaudo.core.reconciliation.formats import MAX_STATEMENT_BYTES, StatementError
from recaudo.core.reconciliation.service import ImportSummary, import_statement
from recaudo.core.tables import Customer, Invoice, StaffUser
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope, as_id
from recaudo.web.backoffice.common import form_data, staff_base, staff_page
from recaudo.web.portal.common import tenant_today
from recaudo.web.uploads import TOO_LARGE_OPT

BASE = "/conciliacion"
#: The body limit: the statement cap plus room for the form fields, so a file just over the cap
#: still arrives and gets a clear message; beyond it web/uploads.py sends a browser to the form.
MAX_BODY = MAX_STATEMENT_BYTES + 1024 * 1024
TOO_BIG = "El archivo pesa más de 20 MiB. Divídelo por fechas o usa «recaudo bank import»."
NO_FILE = "archivo: adjunta el estado de cuenta (MT940, CAMT.053, OFX o CSV)."
BAD_FORMAT = "formato: elige uno de la lista."
LINE_NOT_FOUND = "Movimiento no encontrado."
FORMAT_LABELS = {
    "": "Detectar automáticamente",
    "mt940": "MT940",
    "camt053": "CAMT.053",
    "ofx": "OFX",
    "csv": "CSV",
}
#: ``estado`` in the address (Spanish, what staff see and share) -> the service's status.
STATUS_PARAMS = {
    "revision": "review",
    "matched": "matched",
    "unmatched": "unmatched",
    "ignored": "ignored",
    "debit": "debit",
}
STATUS_LABELS = {
    "review": "Por revisar",
    "matched": "Conciliados",
    "unmatched": "Sin identificar",
    "ignored": "Ignorados",
    "debit": "Cargos",
}
PAGE_SIZE = 50
#: The numbers of an import, carried to the page after the redirect (``?resumen=…``).
SUMMARY_FIELDS = (
    "lines",
    "new",
    "already_imported",
    "matched",
    "review",
    "unmatched",
    "debits",
    "applied",
    "pending",
)
MAX_REASON = 500
NOTICES = ("aplicado", "asignado", "ignorado", "deshecho", "reabierto")


def _status_param(status: str) -> str:
    return next((k for k, v in STATUS_PARAMS.items() if v == status), "revision")


def _summary_query(summary: ImportSummary) -> str:
    numbers = ",".join(str(int(getattr(summary, name))) for name in SUMMARY_FIELDS)
    params = {"resumen": numbers, "formato": summary.format, "moneda": summary.currency}
    if summary.duplicate_file:
        params["repetido"] = "1"
    if summary.statement_id is not None:
        params["estado_cuenta"] = str(summary.statement_id)
    return urlencode(params)


def _summary_from_query(request: Request) -> dict[str, Any] | None:
    """The import's numbers from the address; anything odd there is simply not shown."""
    text = str(request.query_params.get("resumen") or "")
    parts = text.split(",")
    if len(parts) != len(SUMMARY_FIELDS) or not all(p.isdigit() and len(p) < 16 for p in parts):
        return None
    out: dict[str, Any] = dict(zip(SUMMARY_FIELDS, map(int, parts), strict=True))
    fmt = str(request.query_params.get("formato") or "")
    currency = str(request.query_params.get("moneda") or "")
    out["format"] = FORMAT_LABELS.get(fmt, "") if fmt else ""
    out["currency"] = currency if len(currency) == 3 and currency.isalpha() else ""
    out["duplicate_file"] = request.query_params.get("repetido") == "1"
    out["statement_id"] = as_id(request.query_params.get("estado_cuenta"))
    return out


# --- upload and statements ----------------------------------------------------------------------


async def _home(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    staff: StaffUser,
    error: str = "",
    status_code: int = 200,
    values: dict[str, str] | None = None,
) -> Template:
    return await staff_page(
        request,
        "staff/bank/index.html",
        tenant,
        staff,
        status_code=status_code,
        error=error,
        values=values or {},
        formats=FORMAT_LABELS,
        profiles=[p.name for p in await csv_profiles(scope)],
        statements=await review.list_statements(scope),
        counts={s: await review.count_lines(scope, s) for s in STATUS_LABELS},
        status_labels=STATUS_LABELS,
        status_param=_status_param,
        summary=_summary_from_query(request) if not error else None,
        is_owner=str(staff.role) == "owner",
        rematched=_rematched(request),
        max_mib=MAX_STATEMENT_BYTES // (1024 * 1024),
    )


def _rematched(request: Request) -> dict[str, int] | None:
    if request.query_params.get("aviso") != "rebuscado":
        return None
    values = {k: as_id(request.query_params.get(k)) or 0 for k in ("aplicados", "revision")}
    return values


@get(BASE, name="staff:bank", operation_id="staff_bank")
async def bank_page(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    if request.query_params.get("aviso") == "grande":
        return await _home(request, tenant, tenant_scope, staff, TOO_BIG, 413)
    return await _home(request, tenant, tenant_scope, staff)


@post(
    BASE,
    name="staff:bank_upload",
    operation_id="staff_bank_upload",
    request_max_body_size=MAX_BODY,
    opt={TOO_LARGE_OPT: f"/staff{BASE}?aviso=grande"},
)
async def bank_upload(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
) -> Template | Redirect:
    form = await request.form()
    fmt = str(form.get("formato") or "")
    profile = str(form.get("perfil") or "").strip()[:80]
    upload = form.get("archivo")
    values = {"formato": fmt, "perfil": profile}

    async def fail(message: str, status: int = 400) -> Template:
        return await _home(
            request, tenant, tenant_scope, acting_staff, message, status, values=values
        )

    if fmt not in FORMAT_LABELS:
        return await fail(BAD_FORMAT)
    if not isinstance(upload, UploadFile):
        return await fail(NO_FILE)
    content = await upload.read(MAX_STATEMENT_BYTES + 1)
    if len(content) > MAX_STATEMENT_BYTES:
        return await fail(TOO_BIG, 413)
    if not content:
        return await fail("archivo: el archivo está vacío.")
    try:
        summary = await import_statement(
            tenant_scope,
            content,
            filename=(upload.filename or "")[:200],
            fmt=fmt or None,
            csv_profile=profile or None,
            actor=actor(acting_staff),
            source="web",
            background=True,
        )
    except (StatementError, review.ReconcileError) as exc:
        return await fail(str(exc))
    return Redirect(f"{staff_base(request)}{BASE}?{_summary_query(summary)}", status_code=303)


@post(f"{BASE}/rebuscar", name="staff:bank_rematch", operation_id="staff_bank_rematch")
async def bank_rematch(
    request: Request,
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
) -> Redirect:
    """Run the rules again over lines still open (after new invoices or changed settings)."""
    result = await review.rematch_open_lines(tenant_scope, actor=actor(acting_staff))
    query = urlencode(
        {
            "aviso": "rebuscado",
            "aplicados": int(result.get("matched", 0)),
            "revision": int(result.get("review", 0)),
        }
    )
    return Redirect(f"{staff_base(request)}{BASE}?{query}", status_code=303)


# --- the movements ------------------------------------------------------------------------------


@get(f"{BASE}/movimientos", name="staff:bank_lines", operation_id="staff_bank_lines")
async def bank_lines(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
) -> Template:
    q = request.query_params
    param = str(q.get("estado") or "revision")
    param = param if param in STATUS_PARAMS else "revision"
    status = STATUS_PARAMS[param]
    statement_id = as_id(q.get("estado_cuenta")) if q.get("estado_cuenta") else None
    page_number = as_id(q.get("pagina") or "1") or 1
    page_number = min(page_number, 10_000)
    rows = await review.list_lines(
        tenant_scope,
        status=status,
        statement_id=statement_id,
        limit=PAGE_SIZE + 1,
        offset=(page_number - 1) * PAGE_SIZE,
    )

    def link(page: int) -> str:
        params = {"estado": param, "pagina": str(page)}
        if statement_id is not None:
            params["estado_cuenta"] = str(statement_id)
        return f"{staff_base(request)}{BASE}/movimientos?{urlencode(params)}"

    return await staff_page(
        request,
        "staff/bank/lines.html",
        tenant,
        staff,
        rule_labels=dict(available_rules()),
        lines=rows[:PAGE_SIZE],
        status=status,
        param=param,
        statement_id=statement_id,
        counts={s: await review.count_lines(tenant_scope, s) for s in STATUS_LABELS},
        status_labels=STATUS_LABELS,
        status_param=_status_param,
        page_number=page_number,
        previous_link=link(page_number - 1) if page_number > 1 else "",
        next_link=link(page_number + 1) if len(rows) > PAGE_SIZE else "",
    )


async def _line(scope: TenantScope, line_id: int) -> review.LineView:
    try:
        return await review.get_line(scope, line_id)
    except review.LineNotFound:
        raise inbox.NotFound(LINE_NOT_FOUND) from None


async def _open_invoices(scope: TenantScope, customer_id: int, currency: str) -> list[Invoice]:
    return (
        await scope.objects(Invoice)
        .where(
            Invoice.customer == customer_id,
            Invoice.currency == currency,
            Invoice.status.is_in(list(OPEN_STATUSES)),
        )
        .order_by(Invoice.due_date, Invoice.id)
        .limit(200)
    )


async def _line_page(
    request: Request,
    tenant: Tenant,
    scope: TenantScope,
    staff: StaffUser,
    line_id: int,
    status_code: int = 200,
    error: str = "",
    error_field: str = "",
    values: dict[str, Any] | None = None,
) -> Template:
    line = await _line(scope, line_id)
    values = values or {}
    search = str(values.get("buscar", request.query_params.get("buscar") or "")).strip()[:100]
    chosen_id = as_id(values.get("cliente", request.query_params.get("cliente") or ""))
    chosen = await scope.get(Customer, chosen_id) if chosen_id else None
    found = []
    if search and chosen is None:
        page = await customer_page(
            scope, CustomerFilters(q=search), tenant_today(tenant), line.currency, page_size=10
        )
        found = page.rows
    names: dict[int, str] = {}
    if line.customer_id:
        named = await scope.get(Customer, line.customer_id)
        names = {line.customer_id: str(named.name)} if named is not None else {}
    notice = str(request.query_params.get("aviso") or "")
    fragment = request.headers.get("hx-request") == "true" and request.query_params.get("parte")
    return await staff_page(
        request,
        "staff/bank/_assign.html" if fragment == "asignar" else "staff/bank/line.html",
        tenant,
        staff,
        rule_labels=dict(available_rules()),
        status_code=status_code,
        line=line,
        status_labels=STATUS_LABELS,
        status_param=_status_param,
        search=search,
        found=found,
        chosen=chosen,
        invoices=await _open_invoices(scope, int(chosen.id), line.currency) if chosen else [],
        picked={str(v) for v in values.get("facturas", [])},
        error=error,
        error_field=error_field,
        values=values,
        open_statuses=("review", "unmatched"),
        customer_names=names,
        request_notice=notice if notice in NOTICES and not error else "",
    )


@get(f"{BASE}/movimientos/{{line_id:int}}", name="staff:bank_line", operation_id="staff_bank_line")
async def bank_line(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    staff: NamedDependency[StaffUser],
    line_id: FromPath[int],
) -> Template:
    return await _line_page(request, tenant, tenant_scope, staff, line_id)


def _line_url(request: Request, line_id: int, notice: str) -> str:
    return f"{staff_base(request)}{BASE}/movimientos/{line_id}?aviso={notice}"


@post(
    f"{BASE}/movimientos/{{line_id:int}}/aplicar",
    name="staff:bank_line_accept",
    operation_id="staff_bank_line_accept",
)
async def bank_line_accept(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    line_id: FromPath[int],
) -> Template | Redirect:
    await _line(tenant_scope, line_id)
    form = await form_data(request)
    index = form.get("candidato", "")
    if not index.isdigit() or len(index) > 3:
        return await _line_page(
            request,
            tenant,
            tenant_scope,
            acting_staff,
            line_id,
            400,
            "Elige una de las propuestas.",
        )
    try:
        await review.accept_candidate(tenant_scope, line_id, int(index), actor=actor(acting_staff))
    except review.LineNotFound:
        raise inbox.NotFound(LINE_NOT_FOUND) from None
    except review.ReconcileError as exc:
        return await _line_page(request, tenant, tenant_scope, acting_staff, line_id, 409, str(exc))
    return Redirect(_line_url(request, line_id, "aplicado"), status_code=303)


@post(
    f"{BASE}/movimientos/{{line_id:int}}/asignar",
    name="staff:bank_line_assign",
    operation_id="staff_bank_line_assign",
)
async def bank_line_assign(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    line_id: FromPath[int],
) -> Template | Redirect:
    await _line(tenant_scope, line_id)
    form = await request.form()
    values: dict[str, Any] = {"cliente": str(form.get("cliente") or "").strip()}
    values["facturas"] = [str(v) for v in form.getall("facturas", []) if isinstance(v, str)]

    async def again(message: str, field: str, status: int = 400) -> Template:
        return await _line_page(
            request, tenant, tenant_scope, acting_staff, line_id, status, message, field, values
        )

    customer_id = as_id(values["cliente"])
    customer = await tenant_scope.get(Customer, customer_id) if customer_id else None
    if customer is None:
        return await again("Busca y elige el cliente que pagó.", "cliente")
    ids = [as_id(v) for v in values["facturas"]]
    if any(i is None for i in ids) or len(ids) > 200:
        return await again("Factura no encontrada.", "facturas")
    try:
        await review.assign_line(
            tenant_scope,
            line_id,
            customer_id=int(customer.id),
            invoice_ids=[i for i in ids if i is not None],
            actor=actor(acting_staff),
        )
    except review.LineNotFound:
        raise inbox.NotFound(LINE_NOT_FOUND) from None
    except review.ReconcileError as exc:
        return await again(str(exc), "facturas")
    return Redirect(_line_url(request, line_id, "asignado"), status_code=303)


def _reason(form: dict[str, str]) -> str:
    return " ".join(form.get("motivo", "").split())


@post(
    f"{BASE}/movimientos/{{line_id:int}}/ignorar",
    name="staff:bank_line_ignore",
    operation_id="staff_bank_line_ignore",
)
async def bank_line_ignore(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    line_id: FromPath[int],
) -> Template | Redirect:
    await _line(tenant_scope, line_id)
    form = await form_data(request)
    reason = _reason(form)

    async def again(message: str, status: int = 400) -> Template:
        return await _line_page(
            request,
            tenant,
            tenant_scope,
            acting_staff,
            line_id,
            status,
            message,
            "motivo-ignorar",
            {"motivo_ignorar": form.get("motivo", "")[:MAX_REASON]},
        )

    if not reason or len(reason) > MAX_REASON:
        return await again("Escribe por qué se ignora el movimiento (máximo 500 caracteres).")
    try:
        await review.ignore_line(tenant_scope, line_id, actor=actor(acting_staff), reason=reason)
    except review.LineNotFound:
        raise inbox.NotFound(LINE_NOT_FOUND) from None
    except review.ReconcileError as exc:
        return await again(str(exc), 409)
    return Redirect(_line_url(request, line_id, "ignorado"), status_code=303)


@post(
    f"{BASE}/movimientos/{{line_id:int}}/deshacer",
    name="staff:bank_line_undo",
    operation_id="staff_bank_line_undo",
)
async def bank_line_undo(
    request: Request,
    tenant: NamedDependency[Tenant],
    tenant_scope: NamedDependency[TenantScope],
    acting_staff: NamedDependency[StaffUser],
    line_id: FromPath[int],
) -> Template | Redirect:
    before = await _line(tenant_scope, line_id)
    form = await form_data(request)
    reason = _reason(form)

    async def again(message: str, field: str, status: int = 400) -> Template:
        return await _line_page(
            request,
            tenant,
            tenant_scope,
            acting_staff,
            line_id,
            status,
            message,
            field,
            {"motivo_deshacer": form.get("motivo", "")[:MAX_REASON]},
        )

    if form.get("confirmar") != "1":
        return await again("Marca la casilla para confirmar que quieres deshacerlo.", "confirmar")
    if len(reason) > MAX_REASON:
        return await again("El motivo es demasiado largo (máximo 500 caracteres).", "motivo")
    try:
        await review.undo_match(tenant_scope, line_id, actor=actor(acting_staff), reason=reason)
    except review.LineNotFound:
        raise inbox.NotFound(LINE_NOT_FOUND) from None
    except review.ReconcileError as exc:
        return await again(str(exc), "", 409)
    notice = "reabierto" if before.status == "ignored" else "deshecho"
    return Redirect(_line_url(request, line_id, notice), status_code=303)


ROUTES: list[Any] = [
    bank_page,
    bank_upload,
    bank_rematch,
    bank_lines,
    bank_line,
    bank_line_accept,
    bank_line_assign,
    bank_line_ignore,
    bank_line_undo,
]
