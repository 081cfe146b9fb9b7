"""Ajustes → Mensajes: the monthly statement switch and the formal letter's text per language.

Stored in ``Tenant.policy`` (other keys are kept): ``messages_statement`` (bool) and
``letter_template`` (``{"es": text, "en": text}``; an empty text means the default letter). The
text is the owner's, untrusted: it is only ever filled with ``{placeholders}`` and escaped
(:mod:`recaudo.core.messaging.letters`), so nothing here needs to sanitise it beyond its length.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recaudo.core.collections.policies import unknown_placeholders
from recaudo.core.common.audit import record
from recaudo.core.messaging import letters
from recaudo.core.messaging.customer_messages import statement_enabled
from recaudo.core.tenant_settings.errors import FormErrors
from recaudo.core.tenant_settings.tenant_rows import fresh_tenant, json_dict, write_tenant_json
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope

TOO_LONG = "El texto es demasiado largo (máximo 5000 caracteres)."


@dataclass(frozen=True)
class MessageValues:
    statement: bool
    letters: dict[str, str]  # language -> the owner's text ("" = default)
    defaults: dict[str, str]  # language -> the default text, shown as the placeholder
    unknown: dict[str, list[str]]  # language -> placeholders the letter does not fill


def message_values(tenant: Tenant, typed: Mapping[str, str] | None = None) -> MessageValues:
    stored = letters.stored_bodies(tenant)
    form_form = "usted" if json_dict(tenant.branding).get("address_form") == "usted" else "tu"
    texts = {}
    for language in letters.LANGUAGES:
        key = f"letter_{language}"
        texts[language] = str(typed[key]) if typed and key in typed else stored.get(language, "")
    statement = bool(typed.get("statement")) if typed is not None else statement_enabled(tenant)
    return MessageValues(
        statement=statement,
        letters=texts,
        defaults={lang: letters.default_body(lang, form_form) for lang in letters.LANGUAGES},
        unknown={lang: unknown_placeholders(text) for lang, text in texts.items()},
    )


def clean_messages(form: Mapping[str, str]) -> dict[str, Any]:
    """What the owner typed, checked; :class:`FormErrors` names each bad field."""
    errors: dict[str, str] = {}
    bodies: dict[str, str] = {}
    for language in letters.LANGUAGES:
        text = str(form.get(f"letter_{language}") or "").replace("\r\n", "\n").strip()
        if len(text) > letters.MAX_BODY:
            errors[f"letter_{language}"] = TOO_LONG
        elif text:
            bodies[language] = text
    if errors:
        raise FormErrors(errors)
    return {"messages_statement": form.get("statement") == "1", letters.POLICY_KEY: bodies}


async def save_messages(
    scope: TenantScope, tenant: Tenant, form: Mapping[str, str], actor: str
) -> Tenant:
    values = clean_messages(form)
    current = json_dict((await fresh_tenant(int(tenant.id))).policy)
    before = {k: current.get(k) for k in values}
    updated = await write_tenant_json(int(tenant.id), "policy", {**current, **values})
    await record(
        scope,
        actor,
        "settings.messages.updated",
        f"tenant:{tenant.id}",
        before=before,
        after=values,
    )
    return updated
