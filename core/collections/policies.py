"""Reminder policies: ordered stages relative to the due date, per customer segment.

A tenant without a stored policy gets :data:`DEFAULT_STAGES` (seeded on first use by
:func:`ensure_default_policy`). A policy for a segment applies to that segment's customers; the
default policy (segment ``""``) to everyone else.

Message templates are tenant text, hence untrusted: they are *not* Jinja. They are plain text with
``{placeholders}`` from :data:`PLACEHOLDERS`, filled by :func:`render_template`, which never
evaluates anything and leaves unknown names as they were (the editor warns about them).
Templates are stored per language and form of address (``tu``/``usted``, the tenant's choice in
branding settings): ``templates = {"es": {"tu": {"subject", "body"}, "usted": {…}}, "en": {…}}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from recaudo.core.common.atomic import atomic
from recaudo.core.common.jsonfield import loads
from recaudo.core.tables import DunningPolicy, DunningStage
from recaudo.tenants.scoped import TenantScope

ACTIONS = ("", "call", "late_fee", "letter", "pause_autopay", "handoff")
ADDRESS_FORMS = ("tu", "usted")
LANGUAGES = ("es", "en")

#: What a template may use. Values are filled by the engine, already formatted for the locale.
PLACEHOLDERS = {
    "nombre": "el nombre del cliente",
    "negocio": "el nombre del negocio",
    "facturas": "la lista de facturas con su saldo",
    "total": "el total a pagar",
    "vencimiento": "la fecha de vencimiento más antigua",
    "dias": "los días de atraso (o que faltan)",
    "enlace": "el enlace para pagar",
    "contacto": "el contacto de cobranza del negocio",
}
_PLACEHOLDER = re.compile(r"\{([a-z_]{1,30})\}")


@dataclass(frozen=True)
class StageSpec:
    """A stage as the engine and the editor see it."""

    offset_days: int
    name: str
    channels: tuple[str, ...]
    templates: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    action: str = ""
    fallback: bool = True
    id: int = 0
    position: int = 0


@dataclass(frozen=True)
class PolicySpec:
    segment: str
    name: str
    stages: tuple[StageSpec, ...]
    id: int = 0
    active: bool = True


def _t(subject: str, body: str) -> dict[str, str]:
    return {"subject": subject, "body": body}


def _texts(
    es_tu: tuple[str, str], es_usted: tuple[str, str], en: tuple[str, str]
) -> dict[str, dict[str, dict[str, str]]]:
    english = _t(*en)
    return {
        "es": {"tu": _t(*es_tu), "usted": _t(*es_usted)},
        "en": {"tu": english, "usted": english},
    }


#: The default policy: friendly before the due date, firmer after it, staff take over at +60.
DEFAULT_STAGES: tuple[StageSpec, ...] = (
    StageSpec(
        -5,
        "Aviso amistoso",
        ("email", "whatsapp"),
        _texts(
            (
                "{negocio}: tu pago vence pronto",
                "Hola, {nombre}. Te recordamos que el {vencimiento} vence tu pago de {total}.\n"
                "{facturas}\nPuedes pagar aquí: {enlace}",
            ),
            (
                "{negocio}: su pago vence pronto",
                "Estimado(a) {nombre}: le recordamos que el {vencimiento} vence su pago de "
                "{total}.\n{facturas}\nPuede pagar aquí: {enlace}",
            ),
            (
                "{negocio}: your payment is due soon",
                "Hello {nombre}. A reminder that your payment of {total} is due on "
                "{vencimiento}.\n{facturas}\nPay here: {enlace}",
            ),
        ),
    ),
    StageSpec(
        0,
        "Vence hoy",
        ("email", "whatsapp", "sms"),
        _texts(
            (
                "{negocio}: tu pago vence hoy",
                "Hola, {nombre}. Hoy vence tu pago de {total}.\n{facturas}\n"
                "Paga en pocos pasos: {enlace}",
            ),
            (
                "{negocio}: su pago vence hoy",
                "Estimado(a) {nombre}: hoy vence su pago de {total}.\n{facturas}\n"
                "Puede pagar en pocos pasos: {enlace}",
            ),
            (
                "{negocio}: your payment is due today",
                "Hello {nombre}. Your payment of {total} is due today.\n{facturas}\n"
                "Pay in a few steps: {enlace}",
            ),
        ),
    ),
    StageSpec(
        3,
        "Recordatorio de atraso",
        ("email", "whatsapp", "sms"),
        _texts(
            (
                "{negocio}: tienes un pago pendiente",
                "Hola, {nombre}. Tu pago de {total} tiene {dias} días de atraso.\n{facturas}\n"
                "Si ya pagaste, ignora este mensaje. Paga aquí: {enlace}",
            ),
            (
                "{negocio}: tiene un pago pendiente",
                "Estimado(a) {nombre}: su pago de {total} tiene {dias} días de atraso.\n"
                "{facturas}\nSi ya pagó, ignore este mensaje. Puede pagar aquí: {enlace}",
            ),
            (
                "{negocio}: you have a payment pending",
                "Hello {nombre}. Your payment of {total} is {dias} days late.\n{facturas}\n"
                "If you already paid, please ignore this message. Pay here: {enlace}",
            ),
        ),
    ),
    StageSpec(
        10,
        "Aviso firme",
        ("email", "whatsapp", "sms"),
        _texts(
            (
                "{negocio}: tu cuenta tiene un saldo vencido",
                "{nombre}, tu saldo vencido es de {total} ({dias} días de atraso).\n{facturas}\n"
                "Paga hoy o, si no puedes, pide un plan de pagos en el mismo enlace: {enlace}",
            ),
            (
                "{negocio}: su cuenta tiene un saldo vencido",
                "{nombre}: su saldo vencido es de {total} ({dias} días de atraso).\n{facturas}\n"
                "Le pedimos pagar hoy o, si no le es posible, solicitar un plan de pagos en el "
                "mismo enlace: {enlace}",
            ),
            (
                "{negocio}: your account is overdue",
                "{nombre}, your overdue balance is {total} ({dias} days late).\n{facturas}\n"
                "Please pay today or, if you cannot, ask for a payment plan at the same link: "
                "{enlace}",
            ),
        ),
        action="call",
    ),
    StageSpec(
        30,
        "Aviso final",
        ("email", "whatsapp", "sms"),
        _texts(
            (
                "{negocio}: aviso final de pago",
                "{nombre}, tu saldo de {total} tiene {dias} días de atraso.\n{facturas}\n"
                "Adjuntamos un aviso formal. Paga o acuerda un plan aquí: {enlace}\n"
                "Dudas: {contacto}",
            ),
            (
                "{negocio}: aviso final de pago",
                "{nombre}: su saldo de {total} tiene {dias} días de atraso.\n{facturas}\n"
                "Adjuntamos un aviso formal. Puede pagar o acordar un plan aquí: {enlace}\n"
                "Dudas: {contacto}",
            ),
            (
                "{negocio}: final payment notice",
                "{nombre}, your balance of {total} is {dias} days late.\n{facturas}\n"
                "A formal notice is attached. Pay or agree a plan here: {enlace}\n"
                "Questions: {contacto}",
            ),
        ),
        action="letter",
    ),
    StageSpec(
        60,
        "Gestión personal",
        ("email",),
        _texts(
            (
                "{negocio}: nos pondremos en contacto contigo",
                "{nombre}, tu saldo de {total} sigue pendiente ({dias} días).\n{facturas}\n"
                "Una persona de nuestro equipo te contactará. Aún puedes pagar aquí: {enlace}",
            ),
            (
                "{negocio}: nos pondremos en contacto con usted",
                "{nombre}: su saldo de {total} sigue pendiente ({dias} días).\n{facturas}\n"
                "Una persona de nuestro equipo le contactará. Aún puede pagar aquí: {enlace}",
            ),
            (
                "{negocio}: our team will contact you",
                "{nombre}, your balance of {total} is still pending ({dias} days).\n{facturas}\n"
                "Someone from our team will contact you. You can still pay here: {enlace}",
            ),
        ),
        action="handoff",
    ),
)


def render_template(template: str, values: dict[str, str]) -> str:
    """Fill ``{placeholders}``; anything else (unknown names, stray braces) stays as written."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def unknown_placeholders(template: str) -> list[str]:
    """Names in ``template`` the engine does not fill (the editor shows them as a warning)."""
    return sorted({m for m in _PLACEHOLDER.findall(template) if m not in PLACEHOLDERS})


def stage_text(stage: StageSpec, language: str, address_form: str) -> dict[str, str]:
    """The stage's subject and body for a language and form of address, falling back to
    Spanish, then to the default stage's text at the same offset."""
    for lang in (language, "es"):
        forms = stage.templates.get(lang) or {}
        text = forms.get(address_form) or forms.get("tu") or forms.get("usted")
        if text and text.get("body"):
            return {"subject": str(text.get("subject") or ""), "body": str(text["body"])}
    for default in DEFAULT_STAGES:
        if default.offset_days == stage.offset_days:
            return default.templates["es"][address_form if address_form in ADDRESS_FORMS else "tu"]
    return DEFAULT_STAGES[2].templates["es"]["tu"]


def _stage(row: dict[str, Any]) -> StageSpec:
    channels = loads(row["channels"], [])
    templates = loads(row["templates"], {})
    return StageSpec(
        offset_days=int(row["offset_days"]),
        name=str(row["name"]),
        channels=tuple(str(c) for c in channels if isinstance(c, str))
        if isinstance(channels, list)
        else (),
        templates=templates if isinstance(templates, dict) else {},
        action=str(row["action"] or ""),
        fallback=bool(row["fallback"]),
        id=int(row["id"]),
        position=int(row["position"]),
    )


async def ensure_default_policy(scope: TenantScope) -> int:
    """The id of the tenant's default policy, creating it from :data:`DEFAULT_STAGES` when the
    tenant has none (idempotent; the unique (tenant, segment) index settles a race)."""
    existing = await scope.objects(DunningPolicy).where(DunningPolicy.segment == "").first()
    if existing is not None:
        return int(existing.id)
    now = datetime.now(UTC)

    async def work(_tx: Any) -> int:
        policy = DunningPolicy(name="Política general", segment="", active=True)
        policy.created_at = policy.updated_at = now  # type: ignore[assignment]
        policy_id = await scope.add_unless_exists(policy)
        if policy_id is None:  # another process created it in the meantime
            return 0
        for position, stage in enumerate(DEFAULT_STAGES):
            await scope.add(
                DunningStage(
                    policy=policy_id,
                    position=position,
                    offset_days=stage.offset_days,
                    name=stage.name,
                    channels=list(stage.channels),
                    templates=stage.templates,
                    action=stage.action,
                    fallback=stage.fallback,
                    created_at=now,
                )
            )
        return policy_id

    created = await atomic(work)
    if created:
        return created
    again = await scope.objects(DunningPolicy).where(DunningPolicy.segment == "").first()
    assert again is not None
    return int(again.id)


async def load_policies(scope: TenantScope) -> dict[str, PolicySpec]:
    """Active policies by segment ("" is the default), stages ordered by offset."""
    await ensure_default_policy(scope)
    policies = await scope.select(DunningPolicy).where(DunningPolicy.active == True)  # noqa: E712
    stages = await scope.select(DunningStage).order_by(DunningStage.offset_days)
    by_policy: dict[int, list[StageSpec]] = {}
    for row in stages:
        by_policy.setdefault(int(row["policy"]), []).append(_stage(row))
    return {
        str(p["segment"]): PolicySpec(
            segment=str(p["segment"]),
            name=str(p["name"]),
            stages=tuple(by_policy.get(int(p["id"]), ())),
            id=int(p["id"]),
            active=bool(p["active"]),
        )
        for p in policies
    }
