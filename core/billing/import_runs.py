"""Back-office import runs: an uploaded file, checked (dry run) and then imported by a job.

The page stores the upload as an ``import_run`` row, the staff member confirms the column
mapping, and :func:`queue_run` enqueues the ``import_run`` job (``default`` queue) in the same
transaction. The job (:func:`process_run`) calls :func:`~recaudo.core.billing.imports.run_import`
and writes its progress into the row (``rows_done`` of ``rows_total``) for the page to poll.

Progress during the checking phase is written as it goes. The import itself is one transaction:
on PostgreSQL progress is written beside it on another connection; SQLite has one writer at a time,
so there the bar shows the import starting and then done. The run becomes ``done`` in the import's
own transaction, so a job run twice never imports twice.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from datetime import UTC, datetime
from typing import Any

from recaudo.core.billing import imports
from recaudo.core.common.atomic import is_postgres
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.common.outbox import enqueue
from recaudo.core.db import engine, transaction
from recaudo.core.tables import ImportRun
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope

#: The largest file the back office takes (the CLI has no limit: it streams from disk).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
ACTIVE = ("queued", "running")
FINISHED = ("checked", "done", "failed")


class RunError(ValueError):
    """The run cannot do that now (e.g. import before a clean dry run); nothing changed."""


def now() -> datetime:
    return datetime.now(UTC)


async def create_run(
    scope: TenantScope, kind: str, filename: str, content: bytes, actor: str
) -> tuple[ImportRun, list[str]]:
    """Store an upload as a new run; returns it and the file's header (its columns).

    An unreadable file raises :class:`~recaudo.core.billing.imports.ImportFileError` and is not
    stored.
    """
    imports.check_kind(kind)
    if len(content) > MAX_UPLOAD_BYTES:
        raise imports.ImportFileError(
            f"file: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB; "
            "split it or use 'recaudo import'"
        )
    sheet = imports.open_sheet(content, filename)
    header = sheet.header
    sheet.rows.close()  # type: ignore[attr-defined]
    if not any(header):
        raise imports.ImportFileError("file: the first line must name the columns")
    run = ImportRun(
        kind=kind,
        filename=("".join(ch for ch in filename if ch.isprintable()) or "archivo")[:200],
        content=content,
        mapping={},
        mode="dry_run",
        status="new",
        rows_total=sheet.total_estimate,
        errors=[],
        result={"header": header},
        actor=actor,
        created_at=now(),
        updated_at=now(),
    )
    await scope.add(run)
    return run, header


def header_of(run: ImportRun) -> list[str]:
    result = loads(run.result, {}) or {}
    return [str(h) for h in result.get("header", [])]


async def queue_run(
    scope: TenantScope, run: ImportRun, mode: str, actor: str, mapping: dict[str, str] | None
) -> None:
    """Start a dry run (``mode="dry_run"``, with the confirmed ``mapping``, saved as the
    tenant's) or the import of a run whose dry run found no bad row."""
    if run.status in ACTIVE:
        raise RunError("Esta importación ya está en curso.")
    if mode == "import":
        if run.status != "checked" or loads(run.errors, []):
            raise RunError("Primero revisa el archivo (simulación) sin filas con errores.")
    elif mode != "dry_run" or run.status not in ("new", "checked", "failed"):
        raise RunError("Esta importación ya terminó; sube el archivo de nuevo.")
    async with transaction():
        if mapping is not None:
            header = header_of(run)
            # Refused here (a 400 naming the field) before anything is saved or queued.
            imports.resolve_mapping(run.kind, header, overrides=mapping)
            await imports.save_mapping(scope, run.kind, mapping, actor)
            run.mapping = imports.clean_mapping(run.kind, mapping)
        run.mode = mode
        run.status = "queued"
        run.rows_done = 0
        run.errors = "[]"
        run.updated_at = now()
        await scope.save(run)
        attempt = int(time.time() * 1000)
        await enqueue(
            scope,
            "import_run",
            {"run_id": int(run.id), "mode": mode},
            key=f"import_run:{run.id}:{mode}:{attempt}",
        )
        await record(scope, actor, f"import.{mode}_requested", f"import_run:{run.id}")


async def _set(scope: TenantScope, run_id: int, **values: Any) -> None:
    columns = {getattr(ImportRun, k): v for k, v in values.items()}
    columns[ImportRun.updated_at] = now()
    await scope.update(ImportRun, columns).where(ImportRun.id == run_id)


async def _beside_transaction(scope: TenantScope, run_id: int, **values: Any) -> None:
    """Write progress on another connection while the import's transaction is open."""
    if engine().current_transaction.get() is None:
        await _set(scope, run_id, **values)
        return
    if not is_postgres():
        return  # SQLite: one writer at a time, and the import is it
    task = asyncio.get_running_loop().create_task(
        _set(scope, run_id, **values), context=contextvars.Context()
    )
    await task


async def process_run(scope: TenantScope, payload: dict[str, Any]) -> None:
    """The ``import_run`` job: check or import the run's file, reporting progress."""
    run = await scope.get(ImportRun, payload.get("run_id"))
    if run is None or run.status not in ACTIVE or run.mode != payload.get("mode"):
        return  # finished already (a job delivered twice) or superseded
    tenant = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    if tenant is None:
        return
    run_id = int(run.id)
    await _set(scope, run_id, status="running", rows_done=0)
    last: list[Any] = [0.0, ""]

    async def progress(done: int, total: int, phase: str) -> None:
        if last[1] == "finished":
            return  # finish() holds the run's row lock: another connection would wait on us
        moment = time.monotonic()
        if moment - last[0] < 0.5 and done < total and phase == last[1]:
            return
        last[0], last[1] = moment, phase
        await _beside_transaction(
            scope, run_id, rows_done=done, rows_total=total, result={"phase": phase, **_head(run)}
        )

    dry_run = run.mode == "dry_run"

    async def finish(result: imports.ImportResult) -> None:
        # Inside the import's transaction: the run is done exactly when the rows are stored.
        last[1] = "finished"
        await _set(
            scope,
            run_id,
            status="done",
            rows_done=result.rows,
            rows_total=result.rows,
            content=b"",
            result={**_head(run), **result.as_json(), "phase": "done"},
        )

    try:
        result = await imports.run_import(
            scope,
            run.kind,
            bytes(run.content or b""),
            filename=str(run.filename),
            default_country=str(tenant.country),
            default_currency=str(tenant.currency),
            dry_run=dry_run,
            overrides=loads(run.mapping, {}) or {},
            saved=None,
            progress=progress,
            actor=str(run.actor) or "staff",
            finish=None if dry_run else finish,
        )
    except imports.ImportFileError as exc:
        await _set(
            scope, run_id, status="failed", errors=[{"line": 0, "field": "", "reason": str(exc)}]
        )
        return
    errors = [e.as_dict() for e in result.errors]
    if result.more_errors:
        errors.append({"line": 0, "field": "", "reason": f"+{result.more_errors}"})
    if dry_run or result.errors:
        await _set(
            scope,
            run_id,
            status="checked" if dry_run else "failed",
            rows_done=result.rows,
            rows_total=result.rows,
            errors=errors,
            result={**_head(run), **result.as_json(), "phase": "checked"},
        )


def _head(run: ImportRun) -> dict[str, Any]:
    return {"header": header_of(run)}
