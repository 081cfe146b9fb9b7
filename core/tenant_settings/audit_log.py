"""The audit log view (/staff/auditoria): read-only, filtered and paginated.

Filters: actor (exact, e.g. ``staff:3``), action (prefix, e.g. ``settings.`` or
``hardship.approved``), subject (prefix, e.g. ``invoice:12``) and a date range in the tenant's
time zone. Newest first; pages of :data:`PAGE_SIZE` by offset (page numbers in the URL).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from recaudo.core.common.jsonfield import loads
from recaudo.core.tables import AuditEvent, StaffUser
from recaudo.core.tenant_settings.errors import FormErrors
from recaudo.tenants.scoped import TenantScope

PAGE_SIZE = 50
MAX_PAGE = 10_000
_TOKEN = re.compile(r"^[A-Za-z0-9_.:@+-]{1,100}$")


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    subject: str = ""
    since: date | None = None
    until: date | None = None
    page: int = 1

    def query(self, page: int | None = None) -> dict[str, str]:
        """The filter as query parameters (for pagination links)."""
        out = {
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "desde": self.since.isoformat() if self.since else "",
            "hasta": self.until.isoformat() if self.until else "",
        }
        out = {k: v for k, v in out.items() if v}
        out["pagina"] = str(page if page is not None else self.page)
        return out


def _date(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FormErrors({field: "Usa una fecha AAAA-MM-DD."}) from None


def read_filter(params: Mapping[str, str]) -> AuditFilter:
    """The filter from the query string; a bad value raises :class:`FormErrors` naming it."""
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    for key in ("actor", "action", "subject"):
        text = str(params.get(key) or "").strip()
        if text and not _TOKEN.match(text):
            errors[key] = "Solo letras, dígitos y . : _ - @ + (máximo 100)."
        values[key] = text
    since = until = None
    try:
        since = _date(str(params.get("desde") or "").strip(), "desde")
    except FormErrors as exc:
        errors.update(exc.errors)
    try:
        until = _date(str(params.get("hasta") or "").strip(), "hasta")
    except FormErrors as exc:
        errors.update(exc.errors)
    if since and until and since > until:
        errors["hasta"] = "La fecha final es anterior a la inicial."
    page_text = str(params.get("pagina") or "1").strip()
    if not page_text.isdigit() or not 1 <= int(page_text) <= MAX_PAGE:
        errors["pagina"] = "Página no válida."
        page_text = "1"
    if errors:
        raise FormErrors(errors)
    return AuditFilter(
        values["actor"], values["action"], values["subject"], since, until, int(page_text)
    )


@dataclass(frozen=True)
class AuditRow:
    id: int
    created_at: datetime
    actor: str
    actor_label: str
    action: str
    subject: str
    data: dict[str, Any]


async def audit_page(
    scope: TenantScope, wanted: AuditFilter, timezone: str
) -> tuple[list[AuditRow], bool]:
    """One page of events, newest first, and whether there is a next page."""
    zone = ZoneInfo(timezone)
    query = scope.objects(AuditEvent)
    if wanted.actor:
        query = query.where(AuditEvent.actor == wanted.actor)
    if wanted.action:
        query = query.where(AuditEvent.action.like(wanted.action + "%"))
    if wanted.subject:
        query = query.where(AuditEvent.subject.like(wanted.subject + "%"))
    if wanted.since:
        query = query.where(AuditEvent.created_at >= datetime.combine(wanted.since, time(), zone))
    if wanted.until:
        end = datetime.combine(wanted.until + timedelta(days=1), time(), zone)
        query = query.where(AuditEvent.created_at < end)
    rows = await (
        query.order_by(AuditEvent.id, ascending=False)
        .limit(PAGE_SIZE + 1)
        .offset((wanted.page - 1) * PAGE_SIZE)
    )
    names = await staff_names(scope)
    out = [
        AuditRow(
            int(r.id),
            r.created_at,
            str(r.actor),
            names.get(str(r.actor), str(r.actor)),
            str(r.action),
            str(r.subject or ""),
            dict(loads(r.data, {}) or {}) if isinstance(loads(r.data, {}), dict) else {},
        )
        for r in rows[:PAGE_SIZE]
    ]
    return out, len(rows) > PAGE_SIZE


async def staff_names(scope: TenantScope) -> dict[str, str]:
    """``staff:<id>`` → the staff member's email, for showing and filtering by actor."""
    rows = await scope.select(StaffUser, StaffUser.id, StaffUser.email).order_by(StaffUser.email)
    return {f"staff:{r['id']}": str(r["email"]) for r in rows}
