"""Editing reminder policies from the back office: validation, changes and the message preview.

Every change is checked completely before anything is written, then written in one transaction
together with its audit event, so a refused edit (a 400 with a Spanish message naming the field)
leaves the policy exactly as it was. Stage templates are tenant text: they are stored as typed
and only ever filled by :func:`~recaudo.core.collections.policies.render_template` (never Jinja).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from recaudo.core.billing.errors import actor_name
from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.collections.policies import (
    ACTIONS,
    ADDRESS_FORMS,
    LANGUAGES,
    PLACEHOLDERS,
    StageSpec,
    _stage,
    ensure_default_policy,
    render_template,
    stage_text,
    unknown_placeholders,
)
from recaudo.core.common.atomic import locked
from recaudo.core.common.audit import record
from recaudo.core.common.jsonfield import loads
from recaudo.core.db import transaction
from recaudo.core.tables import Customer, DunningPolicy, DunningStage, Invoice, StaffUser
from recaudo.tenants.scoped import TenantScope

CHANNELS = ("email", "whatsapp", "sms")
MIN_OFFSET, MAX_OFFSET = -60, 365
MAX_NAME = 100
MAX_SEGMENT = 40
MAX_SUBJECT = 200
MAX_BODY = 2000
MAX_STAGES = 20
#: Spanish labels of the actions (the template translates them for English pages).
ACTION_LABELS = {
    "": "Ninguna",
    "call": "Marcar para llamada",
    "late_fee": "Cargar interés o recargo",
    "letter": "Adjuntar carta formal",
    "pause_autopay": "Pausar reintentos de cargo automático",
    "handoff": "Pasar a gestión personal",
}


class PolicyError(Exception):
    """Bad input for a policy or stage; ``field`` names the form field, the message is Spanish."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class PolicyNotFound(Exception):
    """No such policy or stage in this tenant (another tenant's ids land here too)."""


@dataclass(frozen=True)
class StageForm:
    """A stage as submitted by the editor, validated: what gets stored."""

    name: str
    offset_days: int
    channels: tuple[str, ...]
    action: str
    fallback: bool
    templates: dict[str, dict[str, dict[str, str]]]


def text_key(language: str, form: str, part: str) -> str:
    """The form field of one template text, e.g. ``es_tu_body``."""
    return f"{language}_{form}_{part}"


def form_values(stage: StageSpec) -> dict[str, str]:
    """The editor's field values for a stored stage."""
    values = {
        "name": stage.name,
        "offset_days": str(stage.offset_days),
        "action": stage.action,
        "fallback": "1" if stage.fallback else "",
    }
    for position in range(len(CHANNELS)):
        values[f"channel_{position + 1}"] = (
            stage.channels[position] if position < len(stage.channels) else ""
        )
    for language in LANGUAGES:
        for form in ADDRESS_FORMS:
            text = stage.templates.get(language, {}).get(form) or {}
            values[text_key(language, form, "subject")] = str(text.get("subject") or "")
            values[text_key(language, form, "body")] = str(text.get("body") or "")
    return values


def parse_offset(raw: str) -> int:
    text = (raw or "").strip().replace("−", "-")
    try:
        offset = int(text)
    except ValueError:
        raise PolicyError("offset_days", "Escribe los días como un número entero.") from None
    if not MIN_OFFSET <= offset <= MAX_OFFSET:
        raise PolicyError("offset_days", "Los días deben estar entre −60 y 365.")
    return offset


def parse_stage(values: dict[str, str]) -> StageForm:
    """Validate the editor's fields; raises :class:`PolicyError` on the first bad one."""
    name = (values.get("name") or "").strip()
    if not name:
        raise PolicyError("name", "Escribe un nombre para la etapa.")
    if len(name) > MAX_NAME:
        raise PolicyError("name", "El nombre de la etapa admite hasta 100 caracteres.")
    offset = parse_offset(values.get("offset_days", ""))
    channels: list[str] = []
    for position in range(len(CHANNELS)):
        channel = (values.get(f"channel_{position + 1}") or "").strip()
        if not channel:
            continue
        if channel not in CHANNELS:
            raise PolicyError("channels", "Canal desconocido.")
        if channel in channels:
            raise PolicyError("channels", "Cada canal puede aparecer una sola vez.")
        channels.append(channel)
    action = (values.get("action") or "").strip()
    if action not in ACTIONS:
        raise PolicyError("action", "Acción desconocida.")
    if not channels and action not in ("call", "handoff"):
        raise PolicyError("channels", "Elige al menos un canal.")
    templates: dict[str, dict[str, dict[str, str]]] = {}
    for language in LANGUAGES:
        for form in ADDRESS_FORMS:
            subject = (values.get(text_key(language, form, "subject")) or "").strip()
            body = (values.get(text_key(language, form, "body")) or "").strip()
            body = body.replace("\r\n", "\n")
            field = text_key(language, form, "body")
            if len(subject) > MAX_SUBJECT:
                raise PolicyError(
                    text_key(language, form, "subject"),
                    "El asunto admite hasta 200 caracteres.",
                )
            if len(body) > MAX_BODY:
                raise PolicyError(field, "El mensaje admite hasta 2000 caracteres.")
            if language == "es" and not body:
                raise PolicyError(field, "Escribe el mensaje en español (tú y usted).")
            if body:
                templates.setdefault(language, {})[form] = {"subject": subject, "body": body}
    return StageForm(
        name=name,
        offset_days=offset,
        channels=tuple(channels),
        action=action,
        fallback=bool(values.get("fallback")),
        templates=templates,
    )


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyView:
    id: int
    segment: str
    name: str
    stages: tuple[StageSpec, ...]


async def policies_for_editor(scope: TenantScope) -> list[PolicyView]:
    """Every policy of the tenant (default first, then by segment), stages by offset."""
    await ensure_default_policy(scope)
    policies = await scope.select(DunningPolicy).order_by(DunningPolicy.segment)
    stages = await scope.select(DunningStage).order_by(DunningStage.offset_days)
    by_policy: dict[int, list[StageSpec]] = {}
    for row in stages:
        by_policy.setdefault(int(row["policy"]), []).append(_stage(row))
    return [
        PolicyView(
            int(p["id"]),
            str(p["segment"]),
            str(p["name"]),
            tuple(by_policy.get(int(p["id"]), ())),
        )
        for p in policies
    ]


async def get_policy(scope: TenantScope, policy_id: int) -> DunningPolicy:
    policy = await scope.get(DunningPolicy, policy_id)
    if policy is None:
        raise PolicyNotFound("Política no encontrada.")
    return policy


async def get_stage(scope: TenantScope, stage_id: int) -> tuple[StageSpec, DunningPolicy]:
    rows = await scope.select(DunningStage).where(DunningStage.id == stage_id)
    if not rows:
        raise PolicyNotFound("Etapa no encontrada.")
    policy = await get_policy(scope, int(rows[0]["policy"]))
    return _stage(rows[0]), policy


async def _offset_taken(scope: TenantScope, policy_id: int, offset: int, but: int = 0) -> bool:
    query = scope.exists(DunningStage).where(
        (DunningStage.policy == policy_id) & (DunningStage.offset_days == offset)
    )
    if but:
        query = query.where(DunningStage.id != but)
    return bool(await query)


async def _renumber(scope: TenantScope, policy_id: int) -> None:
    """Keep ``position`` equal to the order by offset (what the engine and the editor show)."""
    rows = (
        await scope.select(DunningStage, DunningStage.id)
        .where(DunningStage.policy == policy_id)
        .order_by(DunningStage.offset_days)
    )
    for position, row in enumerate(rows):
        await scope.update(DunningStage, {DunningStage.position: position}).where(
            DunningStage.id == row["id"]
        )


async def _lock(scope: TenantScope, policy_id: int) -> None:
    """Serialise edits of one policy (PostgreSQL row lock; SQLite's write transaction already
    does), so two owners cannot both give a new stage the same number of days."""
    await locked(scope.objects(DunningPolicy).where(DunningPolicy.id == policy_id)).first()


async def _touch(scope: TenantScope, policy_id: int) -> None:
    await scope.update(DunningPolicy, {DunningPolicy.updated_at: datetime.now(UTC)}).where(
        DunningPolicy.id == policy_id
    )


# --- changes ------------------------------------------------------------------------------------


async def update_stage(
    scope: TenantScope, stage_id: int, values: dict[str, str], actor: StaffUser
) -> StageSpec:
    current, policy = await get_stage(scope, stage_id)
    form = parse_stage(values)
    async with transaction():
        await _lock(scope, int(policy.id))
        if await _offset_taken(scope, int(policy.id), form.offset_days, but=stage_id):
            raise PolicyError("offset_days", "Ya hay otra etapa con esos días en esta política.")
        await scope.update(
            DunningStage,
            {
                DunningStage.name: form.name,
                DunningStage.offset_days: form.offset_days,
                DunningStage.channels: list(form.channels),
                DunningStage.templates: form.templates,
                DunningStage.action: form.action,
                DunningStage.fallback: form.fallback,
            },
        ).where(DunningStage.id == stage_id)
        await _renumber(scope, int(policy.id))
        await _touch(scope, int(policy.id))
        await record(
            scope,
            actor_name(actor),
            "reminders.stage_updated",
            f"dunning_stage:{stage_id}",
            policy=int(policy.id),
            segment=str(policy.segment),
            before={
                "name": current.name,
                "offset_days": current.offset_days,
                "channels": list(current.channels),
                "action": current.action,
                "fallback": current.fallback,
            },
            after={
                "name": form.name,
                "offset_days": form.offset_days,
                "channels": list(form.channels),
                "action": form.action,
                "fallback": form.fallback,
            },
            texts_changed=form.templates != current.templates,
        )
    stage, _policy = await get_stage(scope, stage_id)
    return stage


def _free_offset(taken: set[int]) -> int:
    for offset in range(1, MAX_OFFSET + 1):
        if offset not in taken:
            return offset
    return 0


async def add_stage(scope: TenantScope, policy_id: int, raw_offset: str, actor: StaffUser) -> int:
    """A new stage in a policy, at ``raw_offset`` days (default texts of the nearest default
    stage, so it sends something sensible until edited)."""
    policy = await get_policy(scope, policy_id)
    rows = await scope.select(DunningStage, DunningStage.offset_days).where(
        DunningStage.policy == policy_id
    )
    taken = {int(r["offset_days"]) for r in rows}
    if len(taken) >= MAX_STAGES:
        raise PolicyError("offset_days", "Una política admite hasta 20 etapas.")
    offset = parse_offset(raw_offset) if (raw_offset or "").strip() else _free_offset(taken)
    from recaudo.core.collections.policies import DEFAULT_STAGES

    model = min(DEFAULT_STAGES, key=lambda s: abs(s.offset_days - offset))
    async with transaction():
        await _lock(scope, policy_id)
        if await _offset_taken(scope, policy_id, offset):
            raise PolicyError("offset_days", "Ya hay otra etapa con esos días en esta política.")
        stage = DunningStage(
            policy=policy_id,
            position=0,
            offset_days=offset,
            name="Nueva etapa",
            channels=["email"],
            templates=model.templates,
            action="",
            fallback=True,
            created_at=datetime.now(UTC),
        )
        await scope.add(stage)
        await _renumber(scope, policy_id)
        await _touch(scope, policy_id)
        await record(
            scope,
            actor_name(actor),
            "reminders.stage_added",
            f"dunning_stage:{stage.id}",
            policy=policy_id,
            segment=str(policy.segment),
            offset_days=offset,
        )
    return int(stage.id)


async def delete_stage(scope: TenantScope, stage_id: int, actor: StaffUser) -> int:
    """Remove a stage; returns its policy's id. Contacts already made keep their history."""
    stage, policy = await get_stage(scope, stage_id)
    async with transaction():
        await scope.delete(DunningStage).where(DunningStage.id == stage_id)
        await _renumber(scope, int(policy.id))
        await _touch(scope, int(policy.id))
        await record(
            scope,
            actor_name(actor),
            "reminders.stage_deleted",
            f"dunning_stage:{stage_id}",
            policy=int(policy.id),
            segment=str(policy.segment),
            name=stage.name,
            offset_days=stage.offset_days,
        )
    return int(policy.id)


async def create_segment_policy(scope: TenantScope, raw_segment: str, actor: StaffUser) -> int:
    """A policy for a customer segment, starting as a copy of the default policy."""
    segment = (raw_segment or "").strip()
    if not segment:
        raise PolicyError("segment", "Escribe el segmento de clientes.")
    if len(segment) > MAX_SEGMENT:
        raise PolicyError("segment", "El segmento admite hasta 40 caracteres.")
    default_id = await ensure_default_policy(scope)
    stages = await scope.select(DunningStage).where(DunningStage.policy == default_id)
    now = datetime.now(UTC)
    async with transaction():
        policy = DunningPolicy(name=f"Segmento {segment}", segment=segment, active=True)
        policy.created_at = policy.updated_at = now  # type: ignore[assignment]
        # the unique (tenant, segment) index decides, also between two owners at once
        policy_id = await scope.add_unless_exists(policy)
        if policy_id is None:
            raise PolicyError("segment", "Ese segmento ya tiene su política.")
        for row in stages:
            await scope.add(
                DunningStage(
                    policy=policy_id,
                    position=int(row["position"]),
                    offset_days=int(row["offset_days"]),
                    name=str(row["name"]),
                    channels=loads(row["channels"], []),
                    templates=loads(row["templates"], {}),
                    action=str(row["action"] or ""),
                    fallback=bool(row["fallback"]),
                    created_at=now,
                )
            )
        await record(
            scope,
            actor_name(actor),
            "reminders.policy_created",
            f"dunning_policy:{policy_id}",
            segment=segment,
        )
    return policy_id


async def delete_segment_policy(scope: TenantScope, policy_id: int, actor: StaffUser) -> None:
    """Remove a segment's policy (its customers go back to the default one). The default policy
    cannot be removed: every customer needs one."""
    policy = await get_policy(scope, policy_id)
    if not str(policy.segment):
        raise PolicyError("_", "La política general no se puede eliminar.")
    async with transaction():
        await scope.delete(DunningPolicy).where(DunningPolicy.id == policy_id)
        await record(
            scope,
            actor_name(actor),
            "reminders.policy_deleted",
            f"dunning_policy:{policy_id}",
            segment=str(policy.segment),
        )


# --- preview ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    subject: str
    body: str
    unknown: tuple[str, ...]
    customer_name: str  # "" for the sample
    customer_missing: bool = False


def sample_values(business: str, formatter: Any, currency: str, offset: int) -> dict[str, str]:
    """Values of a made-up customer, so a preview reads like a real message."""
    due = date.today()
    return {
        "nombre": "Ana Pérez",
        "negocio": business,
        "facturas": f"F-1024: {formatter.money(125_000, currency)}\n"
        f"F-1031: {formatter.money(48_500, currency)}",
        "total": formatter.money(173_500, currency),
        "vencimiento": formatter.date(due),
        "dias": str(abs(offset)),
        "enlace": "https://…/pagar",
        "contacto": business,
    }


async def customer_values(
    scope: TenantScope,
    customer: Customer,
    business: str,
    formatter: Any,
    today: date,
    offset: int,
) -> dict[str, str]:
    """Values for one real customer of this tenant: their open invoices (at most five)."""
    rows = await (
        scope.select(
            Invoice,
            Invoice.number,
            Invoice.total,
            Invoice.amount_applied,
            Invoice.due_date,
            Invoice.currency,
        )
        .where(Invoice.customer == customer.id)
        .where(Invoice.status.is_in(list(OPEN_STATUSES)))
        .order_by(Invoice.due_date)
        .limit(5)
    )
    currency = str(rows[0]["currency"]) if rows else ""
    lines = [
        f"{r['number']}: {formatter.money(int(r['total']) - int(r['amount_applied']), currency)}"
        for r in rows
    ]
    total = sum(int(r["total"]) - int(r["amount_applied"]) for r in rows)
    oldest = rows[0]["due_date"] if rows else today
    days = (today - oldest).days if rows else offset
    return {
        "nombre": str(customer.name),
        "negocio": business,
        "facturas": "\n".join(lines),
        "total": formatter.money(total, currency) if currency else "",
        "vencimiento": formatter.date(oldest),
        "dias": str(abs(days)),
        "enlace": "https://…/pagar",
        "contacto": business,
    }


def preview_text(
    values: dict[str, str], language: str, form: str, filled: dict[str, str]
) -> tuple[str, str, tuple[str, ...]]:
    """The subject and body of the submitted (unsaved) texts for a language and form, rendered
    with ``filled``; plus the unknown placeholders they use."""
    language = language if language in LANGUAGES else "es"
    form = form if form in ADDRESS_FORMS else "tu"
    templates: dict[str, dict[str, dict[str, str]]] = {}
    for lang in LANGUAGES:
        for f in ADDRESS_FORMS:
            body = (values.get(text_key(lang, f, "body")) or "")[:MAX_BODY]
            subject = (values.get(text_key(lang, f, "subject")) or "")[:MAX_SUBJECT]
            if body.strip():
                templates.setdefault(lang, {})[f] = {"subject": subject, "body": body}
    offset = 0
    try:
        offset = parse_offset(values.get("offset_days", "0"))
    except PolicyError:
        pass
    spec = StageSpec(offset_days=offset, name="", channels=(), templates=templates)
    text = stage_text(spec, language, form)
    unknown = unknown_placeholders(text["subject"]) + unknown_placeholders(text["body"])
    return (
        render_template(text["subject"], filled),
        render_template(text["body"], filled).replace("\r\n", "\n"),
        tuple(sorted(set(unknown))),
    )


__all__ = [
    "ACTION_LABELS",
    "CHANNELS",
    "PLACEHOLDERS",
    "PolicyError",
    "PolicyNotFound",
    "Preview",
]
