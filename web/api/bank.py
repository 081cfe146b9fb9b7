"""Bank statements host-to-host: an ERP or treasury system pushes its statements and reads what
became of each movement.

``POST /api/v1/bank-statements`` imports one file (base64 in JSON) through
:func:`recaudo.core.reconciliation.service.import_statement`, exactly as the back office's upload
does (``background=True``: a file of thousands of credits is matched by the
``reconcile_statement`` job and counted ``pending`` until it ran), audited with the API key as
actor. A new file is 201; the same file again is 200 with ``duplicate_file`` and adds nothing. A
file the parsers refuse is a 400 naming ``content_base64`` with the parser's line or element.
That route alone takes bodies up to :data:`MAX_STATEMENT_BODY`.

``GET /api/v1/bank-statements[/{id}]`` and ``GET /api/v1/bank-lines`` read them back, newest
first with the API's cursor paging; another tenant's ids are not found.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, Parameter
from litestar.response import Response

from recaudo.core.access.apikeys import ApiCaller
from recaudo.core.common.jsonfield import loads
from recaudo.core.reconciliation.csv_profiles import csv_profile as saved_csv_profile
from recaudo.core.reconciliation.formats import MAX_STATEMENT_BYTES, StatementError
from recaudo.core.reconciliation.service import ImportSummary, import_statement
from recaudo.core.tables import BankLine, BankStatement
from recaudo.tenants.scoped import MAX_ID, TenantScope
from recaudo.web.api.common import IdempotencyKey, check_text, idempotent_post, page
from recaudo.web.api.customers import Cursor, Limit
from recaudo.web.api.documents import FIELD, decode_content
from recaudo.web.api.errors import ERROR_RESPONSES, POST_RESPONSES, field_error
from recaudo.web.api.schemas import (
    BankImportOut,
    BankLineOut,
    BankLinePage,
    BankStatementIn,
    BankStatementOut,
    BankStatementPage,
    ErrorBody,
    StatementCounts,
)

NOT_FOUND = "bank statement: not found"
#: The base64 of a 20 MB statement (27,962,028 characters), the file name and the JSON around.
MAX_STATEMENT_BODY = 28 * 1024 * 1024
MAX_MB = MAX_STATEMENT_BYTES // 2**20

IMPORT_RESPONSES: dict[int, ResponseSpec] = {
    **POST_RESPONSES,
    200: ResponseSpec(
        data_container=BankImportOut,
        description="This very file was imported before: nothing was added.",
    ),
    413: ResponseSpec(
        data_container=ErrorBody, description=f"File over {MAX_MB} MB, or body over 28 MiB."
    ),
}

LineStatus = Annotated[
    Literal["matched", "review", "unmatched", "ignored", "debit"] | None,
    Parameter(description="Only lines in this state."),
]
StatementFilter = Annotated[
    int | None, Parameter(ge=1, le=MAX_ID, description="Only this statement's lines.")
]


def _counts(values: dict[str, Any]) -> StatementCounts:
    def n(name: str) -> int:
        value = values.get(name)
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0

    return StatementCounts(
        lines=n("lines"),
        new=n("new"),
        already_imported=n("already_imported"),
        matched=n("matched"),
        review=n("review"),
        unmatched=n("unmatched"),
        debits=n("debits"),
        pending=n("pending"),
    )


def import_out(summary: ImportSummary) -> BankImportOut:
    pk = summary.statement_id
    return BankImportOut(
        statement_id=pk,
        duplicate_file=summary.duplicate_file,
        format=summary.format,
        account=summary.account,
        currency=summary.currency,
        applied=summary.applied,
        counts=_counts(summary.as_dict()),
        statement_url=f"/api/v1/bank-statements/{pk}" if pk is not None else None,
    )


def statement_out(row: BankStatement) -> BankStatementOut:
    counts = loads(row.counts, {})
    counts = counts if isinstance(counts, dict) else {}
    applied = counts.get("applied")
    pk = int(row.id)
    return BankStatementOut(
        id=pk,
        format=str(row.format),
        account=str(row.account or ""),
        currency=str(row.currency),
        reference=str(row.statement_id or ""),
        opening_balance=None if row.opening_balance is None else int(row.opening_balance),
        closing_balance=None if row.closing_balance is None else int(row.closing_balance),
        filename=str(row.filename or ""),
        source=str(row.source or ""),
        applied=applied if isinstance(applied, int) and not isinstance(applied, bool) else 0,
        counts=_counts(counts),
        created_at=row.created_at,
        lines_url=f"/api/v1/bank-lines?statement_id={pk}",
    )


def line_out(row: BankLine) -> BankLineOut:
    return BankLineOut(
        id=int(row.id),
        statement_id=int(row.statement),  # type: ignore[arg-type]
        booked_on=row.booked_on,
        amount=int(row.amount),
        currency=str(row.currency),
        reference=str(row.reference or ""),
        description=str(row.description or ""),
        payer_name=str(row.payer_name or ""),
        status=str(row.status),
        rule=str(row.rule or ""),
        confidence=float(row.confidence) if row.confidence is not None else None,
        customer_id=int(row.customer) if row.customer is not None else None,  # type: ignore[arg-type]
        payment_id=int(row.payment) if row.payment is not None else None,  # type: ignore[arg-type]
    )


@post(
    "/bank-statements",
    responses=IMPORT_RESPONSES,
    summary="Import a bank statement",
    description=(
        "An MT940, CAMT.053, OFX or CSV statement as base64 in JSON (a CSV needs the name of a "
        "layout saved in the back office, `csv_profile`). Confident matches are applied to "
        "invoices through the ledger at once; doubtful ones wait in the back office's review "
        f"queue. At most {MAX_MB} MB decoded; this route takes bodies up to 28 MiB. A new file "
        "is 201; the same file again is 200 with `duplicate_file: true` and adds nothing. A "
        "file that cannot be read is a 400 naming the line or element; nothing is stored. A "
        "file of thousands of credits is matched in the background: its `pending` count drops "
        "to 0 on `GET /bank-statements/{id}` once done."
    ),
    status_code=201,
    request_max_body_size=MAX_STATEMENT_BODY,
)
async def import_bank_statement(
    request: Request[Any, Any, Any],
    writer: NamedDependency[ApiCaller],
    idempotency_key: IdempotencyKey,
    api_scope: NamedDependency[TenantScope],
    data: JSONBody[BankStatementIn],
) -> Response[BankImportOut]:
    check_text(data, "")

    async def action() -> BankImportOut:
        content = decode_content(data.content_base64, MAX_STATEMENT_BYTES)
        profile = data.csv_profile
        if profile is not None and await saved_csv_profile(api_scope, profile) is None:
            raise field_error(400, "csv_profile", "no CSV layout of this tenant has this name")
        if data.format == "csv" and profile is None:
            raise field_error(400, "csv_profile", "a CSV statement needs its saved layout's name")
        try:
            summary = await import_statement(
                api_scope,
                content,
                filename=data.filename,
                fmt=data.format,
                csv_profile=profile,
                actor=writer.actor,
                source="api",
                background=True,
            )
        except StatementError as exc:
            raise field_error(400, FIELD, f"not a statement we can read: {exc}") from None
        return import_out(summary)

    def status(out: BankImportOut) -> int:
        return 200 if out.duplicate_file else 201

    return await idempotent_post(request, writer, api_scope, action, status=status)


@get(
    "/bank-statements",
    responses=ERROR_RESPONSES,
    summary="List bank statements",
    description="Imported statements (from the API, the back office or the CLI), newest first; "
    "cursor-paginated.",
)
async def list_bank_statements(
    api_scope: NamedDependency[TenantScope], limit: Limit = 50, cursor: Cursor = None
) -> BankStatementPage:
    rows, nxt = await page(api_scope.objects(BankStatement), BankStatement.id, limit, cursor)
    return BankStatementPage([statement_out(r) for r in rows], nxt)


@get(
    "/bank-statements/{statement_id:int}",
    responses=ERROR_RESPONSES,
    summary="Get a bank statement",
    description="With what its movements became (`counts` as stored; `pending` reaches 0 when "
    "the background matching ran).",
)
async def get_bank_statement(
    api_scope: NamedDependency[TenantScope], statement_id: FromPath[int]
) -> BankStatementOut:
    row = await api_scope.get(BankStatement, statement_id)
    if row is None:
        raise NotFoundException(NOT_FOUND)
    return statement_out(row)


@get(
    "/bank-lines",
    responses=ERROR_RESPONSES,
    summary="List bank statement lines",
    description="Each movement and what became of it (matched to a payment, in review, "
    "unmatched, ignored, or a debit), newest first; cursor-paginated.",
)
async def list_bank_lines(
    api_scope: NamedDependency[TenantScope],
    limit: Limit = 50,
    cursor: Cursor = None,
    status: LineStatus = None,
    statement_id: StatementFilter = None,
) -> BankLinePage:
    query = api_scope.objects(BankLine)
    if status is not None:
        query = query.where(BankLine.status == status)
    if statement_id is not None:
        query = query.where(BankLine.statement == statement_id)
    rows, nxt = await page(query, BankLine.id, limit, cursor)
    return BankLinePage([line_out(r) for r in rows], nxt)


ROUTES: list[Any] = [
    import_bank_statement,
    list_bank_statements,
    get_bank_statement,
    list_bank_lines,
]
