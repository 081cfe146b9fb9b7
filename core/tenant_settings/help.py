"""Ajustes → Ayuda: the portal's FAQ per language (add, edit, reorder, delete) and the advice
links "No puedo pagar" shows, per language (``Tenant.policy["advice_links"]``).

Everything here is tenant text shown to customers: stored as typed, escaped by the templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recaudo.core.collections.plans import policy_of
from recaudo.core.common.audit import record
from recaudo.core.messaging.i18n import LANGUAGES
from recaudo.core.tables import FaqEntry
from recaudo.core.tenant_settings.errors import FormErrors, SettingNotFound
from recaudo.core.tenant_settings.tenant_rows import fresh_tenant, json_dict, write_tenant_json
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope, as_id

MAX_QUESTION = 300
MAX_ANSWER = 4000
MAX_ENTRIES = 100
MAX_LINKS = 10
MAX_LABEL = 120
MAX_URL = 500


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise FormErrors({"locale": "Elige un idioma de la lista."})
    return value


def _entry_text(form: Mapping[str, str]) -> tuple[str, str]:
    question = str(form.get("question") or "").strip()
    answer = str(form.get("answer") or "").strip()
    errors: dict[str, str] = {}
    if not question or len(question) > MAX_QUESTION:
        errors["question"] = "Escribe la pregunta (máximo 300 caracteres)."
    if not answer or len(answer) > MAX_ANSWER:
        errors["answer"] = "Escribe la respuesta (máximo 4000 caracteres)."
    if errors:
        raise FormErrors(errors)
    return question, answer


async def faq_entries(scope: TenantScope) -> dict[str, list[FaqEntry]]:
    """Every entry, by language, in the order the portal shows them."""
    rows = await scope.objects(FaqEntry).order_by(FaqEntry.position, FaqEntry.id)
    out: dict[str, list[FaqEntry]] = {code: [] for code in LANGUAGES}
    for row in rows:
        out.setdefault(str(row.locale or "es").split("_")[0], []).append(row)
    return out


async def _entry(scope: TenantScope, entry_id: int) -> FaqEntry:
    row = await scope.get(FaqEntry, entry_id) if as_id(entry_id) is not None else None
    if row is None:
        raise SettingNotFound("Esa pregunta no existe en esta cuenta.")
    return row


async def add_entry(scope: TenantScope, form: Mapping[str, str], actor: str) -> FaqEntry:
    locale = _language(str(form.get("locale") or ""))
    question, answer = _entry_text(form)
    if await scope.count(FaqEntry) >= MAX_ENTRIES:
        raise FormErrors({"question": "Llegaste al máximo de 100 preguntas."})
    rows = await scope.select(FaqEntry, FaqEntry.position).where(FaqEntry.locale == locale)
    position = max((int(r["position"]) for r in rows), default=-1) + 1
    row = FaqEntry(locale=locale, question=question, answer=answer, position=position)
    await scope.add(row)
    await record(scope, actor, "settings.faq.added", f"faq_entry:{row.id}", locale=locale)
    return row


async def edit_entry(
    scope: TenantScope, entry_id: int, form: Mapping[str, str], actor: str
) -> FaqEntry:
    row = await _entry(scope, entry_id)
    row.question, row.answer = _entry_text(form)
    await scope.save(row)
    await record(scope, actor, "settings.faq.edited", f"faq_entry:{row.id}")
    return row


async def delete_entry(scope: TenantScope, entry_id: int, actor: str) -> None:
    row = await _entry(scope, entry_id)
    await scope.delete(FaqEntry).where(FaqEntry.id == row.id)
    await record(scope, actor, "settings.faq.deleted", f"faq_entry:{row.id}", question=row.question)


async def move_entry(scope: TenantScope, entry_id: int, direction: str, actor: str) -> None:
    """Swap the entry with its neighbour (``up`` or ``down``) among its language's entries."""
    if direction not in ("up", "down"):
        raise FormErrors({"direction": "Dirección no válida."})
    row = await _entry(scope, entry_id)
    siblings = (await faq_entries(scope)).get(str(row.locale or "es").split("_")[0], [])
    ids = [int(r.id) for r in siblings]
    at = ids.index(int(row.id))
    other = at - 1 if direction == "up" else at + 1
    if not 0 <= other < len(siblings):
        return
    siblings[at], siblings[other] = siblings[other], siblings[at]
    for position, entry in enumerate(siblings):  # renumber: positions may have had ties
        if int(entry.position) != position:
            await scope.update(FaqEntry, {FaqEntry.position: position}).where(
                FaqEntry.id == entry.id
            )
    await record(scope, actor, "settings.faq.moved", f"faq_entry:{row.id}", direction=direction)


# --- advice links -------------------------------------------------------------------------------


def advice_text(tenant: Tenant) -> dict[str, str]:
    """Each language's links as the form's text: one ``Etiqueta | https://…`` per line."""
    policy = policy_of(tenant.policy)
    out = {"es": "\n".join(f"{label} | {url}" for label, url in policy.advice_links)}
    for code, links in policy.advice_links_by_language:
        if code in LANGUAGES:
            out[code] = "\n".join(f"{label} | {url}" for label, url in links)
    return {code: out.get(code, "") for code in LANGUAGES}


def parse_links(text: str, field: str) -> list[list[str]]:
    links: list[list[str]] = []
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(lines) > MAX_LINKS:
        raise FormErrors({field: "Máximo 10 enlaces por idioma."})
    for number, line in enumerate(lines, 1):
        label, sep, url = line.rpartition("|")
        label, url = label.strip(), url.strip()
        if not sep or not label or len(label) > MAX_LABEL:
            raise FormErrors(
                {field: "Línea %(line)d: escribe «Etiqueta | https://…»."},
                {field: {"line": number}},
            )
        if (
            not url.startswith("https://")
            or len(url) > MAX_URL
            or len(url) <= len("https://")
            or any(c in url for c in "\"'<> \\")
        ):
            raise FormErrors(
                {field: "Línea %(line)d: el enlace debe empezar con https:// y no tener espacios."},
                {field: {"line": number}},
            )
        links.append([label, url])
    return links


async def save_advice_links(
    scope: TenantScope, tenant: Tenant, form: Mapping[str, str], actor: str
) -> Tenant:
    parsed: dict[str, Any] = {}
    problems = FormErrors({})
    for code in LANGUAGES:
        field = f"advice_{code}"
        try:
            parsed[code] = parse_links(str(form.get(field) or ""), field)
        except FormErrors as exc:
            problems = problems.merged(exc)
    if problems.errors:
        raise problems
    current = json_dict((await fresh_tenant(int(tenant.id))).policy)
    current["advice_links"] = {code: links for code, links in parsed.items() if links}
    updated = await write_tenant_json(int(tenant.id), "policy", current)
    await record(
        scope,
        actor,
        "settings.advice_links.updated",
        f"tenant:{tenant.id}",
        counts={code: len(links) for code, links in parsed.items()},
    )
    return updated
