"""What the customers and invoices pages share: the core's errors as HTTP answers.

Core services name the field first in their messages (``tax_id: 'X' is not a valid RFC``); the
pages show that field's Spanish label (translated) before the detail, so a 400 always says which
field to fix.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from recaudo.core.billing.errors import RecordConflict, RecordNotFound
from recaudo.core.casework import review as inbox
from recaudo.core.messaging.i18n import translations
from recaudo.tenants.models import Tenant
from recaudo.web.templating import request_language

FIELD_LABELS = {
    "number": "Número",
    "name": "Nombre",
    "tax_id": "Identificación fiscal (RFC, NIT…)",
    "tax_country": "País de la identificación fiscal",
    "email": "Correo electrónico",
    "phone": "Teléfono",
    "preferred_channel": "Canal preferido",
    "locale": "Idioma",
    "segment": "Segmento",
    "tags": "Etiquetas",
    "body": "Nota",
    "customer_id": "Cliente",
    "customer": "Cliente",
    "issue_date": "Fecha de emisión",
    "due_date": "Fecha de vencimiento",
    "terms": "Plazo de pago",
    "currency": "Moneda",
    "description": "Descripción",
    "lines": "Conceptos",
    "line": "Concepto",
    "tax": "Impuestos",
    "tax_rate": "Tasa de impuesto",
    "total": "Total",
    "amount": "Monto",
    "reason": "Motivo",
    "external_id": "Referencia externa",
    "fiscal_name": "Nombre fiscal (razón social)",
    "fiscal_regime": "Régimen fiscal",
    "fiscal_postal_code": "Código postal fiscal",
    "fiscal_use": "Uso del CFDI",
}


def field_of(message: str) -> str:
    """The field a core message starts with (``tax_id: …``, ``number 'X': …``, ``line 2: …``)."""
    head = message.split(":", 1)[0].split(" ", 1)[0].strip()
    return head if head in FIELD_LABELS else ""


def explain(request: Request, tenant: Tenant, message: str) -> str:
    """``Identificación fiscal (RFC, NIT…): 'X' is not a valid RFC for MX`` in the page's
    language (the label is translated; the detail is the service's own)."""
    trans = translations(request_language(request, tenant.locale))
    name = field_of(message)
    if not name:
        return message
    label = trans.gettext(FIELD_LABELS[name])
    detail = message.split(":", 1)[1].strip() if ":" in message else message
    prefix = message.split(":", 1)[0]
    extra = prefix[len(name) :].strip()
    return f"{label}{' ' + extra if extra else ''}: {detail} [{name}]"


def as_http(request: Request, tenant: Tenant, exc: Exception) -> Exception:
    """A core error as the staff area's own (400, 404 or 409 page)."""
    if isinstance(exc, RecordNotFound):
        return inbox.NotFound(str(exc))
    if isinstance(exc, RecordConflict):
        return inbox.Conflict(str(exc))
    return inbox.InboxError(explain(request, tenant, str(exc)))


def checked(value: Any) -> bool:
    return str(value or "") in ("1", "on", "true")
