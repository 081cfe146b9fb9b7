"""Formal reminder letters as PDF (a dunning stage's ``letter`` action, and the settings preview).

The letter is our own HTML template (``templates/letters/letter.html``: letterhead with the
tenant's name, logo and colours, date, customer, invoices with balances and days late, how to
pay, contact) around a body the owner writes in Ajustes → Mensajes, one per language. That body is
untrusted text: its ``{placeholders}`` are filled by
:func:`recaudo.core.collections.policies.render_template` and the result is escaped by the
template — tenant text is never evaluated as Jinja.

WeasyPrint renders it with a URL fetcher that refuses everything but ``data:`` URLs we embed
ourselves (the logo, read from the database): a letter never makes a network request, whatever
the tenant's text says.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from weasyprint import HTML
from weasyprint.urls import URLFetcher

from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.collections.policies import PLACEHOLDERS, render_template
from recaudo.core.config import active
from recaudo.core.messaging.i18n import Formatter, formatter_for, translations
from recaudo.core.messaging.rendering import make_environment
from recaudo.core.platform.values import Attachment
from recaudo.core.tables import Customer, Invoice, TenantLogo
from recaudo.core.tenant_settings.branding import BrandValues, brand_values
from recaudo.core.tenant_settings.tenant_rows import json_dict
from recaudo.tenants.models import Tenant
from recaudo.tenants.scoped import TenantScope
from recaudo.tenants.urls import portal_base_url

LANGUAGES = ("es", "en")
MAX_BODY = 5000
#: ``Tenant.policy`` key holding ``{"es": body, "en": body}``; a missing language uses the default.
POLICY_KEY = "letter_template"

DEFAULT_BODY: dict[str, dict[str, str]] = {
    "es": {
        "tu": (
            "Estimado/a {nombre}:\n\n"
            "Según nuestros registros, a la fecha tienes un saldo vencido de {total} "
            "con {negocio}, correspondiente a las facturas que se detallan abajo. "
            "La más antigua venció el {vencimiento} ({dias} días de atraso).\n\n"
            "Te pedimos regularizar este saldo a la brevedad. Si ya pagaste, por favor "
            "ignora esta carta; si no puedes pagar el total, escríbenos y buscaremos una "
            "solución juntos.\n\n"
            "Atentamente,\n{negocio}"
        ),
        "usted": (
            "Estimado/a {nombre}:\n\n"
            "Según nuestros registros, a la fecha usted tiene un saldo vencido de {total} "
            "con {negocio}, correspondiente a las facturas que se detallan abajo. "
            "La más antigua venció el {vencimiento} ({dias} días de atraso).\n\n"
            "Le pedimos regularizar este saldo a la brevedad. Si ya pagó, por favor "
            "ignore esta carta; si no puede pagar el total, escríbanos y buscaremos una "
            "solución juntos.\n\n"
            "Atentamente,\n{negocio}"
        ),
    },
    "en": {
        "tu": (
            "Dear {nombre},\n\n"
            "According to our records, you have an overdue balance of {total} with {negocio} "
            "for the invoices listed below. The oldest one was due on {vencimiento} "
            "({dias} days late).\n\n"
            "Please settle this balance as soon as possible. If you have already paid, please "
            "disregard this letter; if you cannot pay in full, write to us and we will find a "
            "solution together.\n\n"
            "Sincerely,\n{negocio}"
        ),
    },
}


class OwnDataOnly(URLFetcher):
    """WeasyPrint's fetcher limited to ``data:`` URLs: no file, no network, ever.

    ``refused`` keeps what the document asked for and did not get (tests check it).
    """

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data",), allow_redirects=False, timeout=1)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> Any:
        if not url.startswith("data:"):
            self.refused.append(url)
            raise ValueError("letters only use data embedded by Recaudo")
        return super().fetch(url, headers)


@dataclass(frozen=True)
class LetterLine:
    number: str
    due_date: date
    currency: str
    balance: int
    days_late: int


@dataclass(frozen=True)
class LetterData:
    """Everything a letter shows, already read from the database (or made up for the preview)."""

    language: str
    today: date
    customer_name: str
    customer_number: str
    lines: tuple[LetterLine, ...]
    portal_url: str
    brand: BrandValues
    logo: str = ""  # a data: URL, or ""
    body: str = ""  # the owner's template; "" = the default
    extra: dict[str, str] = field(default_factory=dict)


def stored_bodies(tenant: Tenant) -> dict[str, str]:
    value = json_dict(tenant.policy).get(POLICY_KEY)
    if not isinstance(value, dict):
        return {}
    return {k: str(v) for k, v in value.items() if k in LANGUAGES and isinstance(v, str)}


def default_body(language: str, address_form: str) -> str:
    forms = DEFAULT_BODY.get(language) or DEFAULT_BODY["es"]
    return forms.get(address_form) or forms["tu"]


def body_for(tenant: Tenant, language: str) -> str:
    """The owner's letter text in ``language``, or the default in the tenant's form of address."""
    stored = stored_bodies(tenant).get(language, "").strip()
    return stored or default_body(language, brand_values(tenant).address_form)


def _values(data: LetterData, fmt: Formatter) -> dict[str, str]:
    totals: dict[str, int] = {}
    for line in data.lines:
        totals[line.currency] = totals.get(line.currency, 0) + line.balance
    oldest = min((line.due_date for line in data.lines), default=None)
    late = max((line.days_late for line in data.lines), default=0)
    contact = (
        " · ".join(v for v in (data.brand.support_email, data.brand.support_phone) if v)
        or data.portal_url
    )
    values = {
        "nombre": data.customer_name,
        "negocio": data.brand.display_name,
        "facturas": ", ".join(
            f"{line.number} ({fmt.money(line.balance, line.currency)})" for line in data.lines
        ),
        "total": " + ".join(fmt.money(amount, cur) for cur, amount in sorted(totals.items())),
        "vencimiento": fmt.date(oldest, "long") if oldest else "",
        "dias": str(max(late, 0)),
        "enlace": data.portal_url,
        "contacto": contact,
    }
    return {k: v for k, v in {**values, **data.extra}.items() if k in PLACEHOLDERS}


def letter_html(data: LetterData, tenant_locale: str, timezone: str) -> str:
    """The letter as HTML, ready for WeasyPrint (tests read it to check what the PDF says)."""
    trans = translations(data.language)
    fmt = formatter_for(data.language, tenant_locale, timezone)
    body = render_template(
        data.body or default_body(data.language, data.brand.address_form), _values(data, fmt)
    )
    totals: dict[str, int] = {}
    for line in data.lines:
        totals[line.currency] = totals.get(line.currency, 0) + line.balance
    usted = data.brand.address_form == "usted"

    def tu(tu_text: str, usted_text: str) -> str:
        return str(trans.gettext(usted_text if usted else tu_text))

    template = make_environment().get_template("letters/letter.html")
    return template.render(
        _=trans.gettext,
        tu=tu,
        fmt=fmt,
        data=data,
        brand=data.brand,
        paragraphs=[p.strip() for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()],
        totals=sorted(totals.items()),
    )


def html_to_pdf(html: str) -> bytes:
    """Render with WeasyPrint, fetching nothing from outside the document."""
    return HTML(string=html, base_url="data:,", url_fetcher=OwnDataOnly()).write_pdf() or b""


async def logo_data(scope: TenantScope) -> str:
    """The tenant's logo as a data: URL (the letter fetches nothing), or "" without one."""
    row = await scope.objects(TenantLogo).first()
    if row is None:
        return ""
    encoded = base64.b64encode(bytes(row.content)).decode()
    return f"data:{row.content_type};base64,{encoded}"


async def _lines(
    scope: TenantScope, customer_id: int, invoice_ids: list[int], today: date
) -> tuple[LetterLine, ...]:
    where = [Invoice.customer == customer_id, Invoice.status.is_in(list(OPEN_STATUSES))]
    if invoice_ids:
        where.append(Invoice.id.is_in(sorted({int(i) for i in invoice_ids})))
    rows = await scope.objects(Invoice).where(*where).order_by(Invoice.due_date)
    return tuple(
        LetterLine(
            str(r.number),
            r.due_date,
            str(r.currency),
            int(r.balance),
            max((today - r.due_date).days, 0),
        )
        for r in rows
        if r.balance > 0
    )


async def letter_data(
    scope: TenantScope,
    tenant: Tenant,
    customer: Customer,
    invoice_ids: list[int],
    language: str,
    today: date | None = None,
) -> LetterData:
    today = today or datetime.now(ZoneInfo(str(tenant.timezone))).date()
    language = language if language in LANGUAGES else "es"
    return LetterData(
        language=language,
        today=today,
        customer_name=str(customer.name),
        customer_number=str(customer.number or ""),
        lines=await _lines(scope, int(customer.id), invoice_ids, today),
        portal_url=portal_base_url(str(tenant.slug), active()),
        brand=brand_values(tenant),
        logo=await logo_data(scope),
        body=body_for(tenant, language),
    )


async def render_pdf(data: LetterData, tenant: Tenant) -> bytes:
    html = letter_html(data, str(tenant.locale), str(tenant.timezone))
    return await asyncio.to_thread(html_to_pdf, html)


def filename_for(data: LetterData) -> str:
    stem = "carta-de-cobranza" if data.language == "es" else "payment-reminder-letter"
    number = "".join(c for c in data.customer_number if c.isalnum() or c in "-_")[:40]
    return f"{stem}-{number or 'cliente'}-{data.today.isoformat()}.pdf"


async def letter_attachment(
    scope: TenantScope,
    tenant: Any,
    customer: Any,
    invoice_ids: list[int],
    language: str,
) -> Attachment:
    """The formal letter for ``invoice_ids`` of ``customer`` as a PDF attachment.

    ``tenant`` and ``customer`` may be rows, value objects or ids: the letter always reads the
    current rows of ``scope``'s tenant (its branding, logo and letter text).
    """
    row = await Tenant.objects().where(Tenant.id == scope.tenant_id).first()
    if row is None:
        raise LookupError("tenant not found")
    customer_id = int(customer if isinstance(customer, int) else customer.id)
    person = await scope.get(Customer, customer_id)
    if person is None:
        raise LookupError("customer not found")
    data = await letter_data(scope, row, person, list(invoice_ids), language)
    return Attachment(filename_for(data), "application/pdf", await render_pdf(data, row))


def sample_data(tenant: Tenant, language: str, body: str, today: date | None = None) -> LetterData:
    """A made-up customer and invoices for the settings preview ("Descargar ejemplo")."""
    today = today or datetime.now(UTC).date()
    currency = str(tenant.currency)
    lines = (
        LetterLine("F-0001", today - timedelta(days=45), currency, 125_000, 45),
        LetterLine("F-0002", today - timedelta(days=15), currency, 80_000, 15),
    )
    name = "Cliente de ejemplo" if language == "es" else "Sample customer"
    return LetterData(
        language=language,
        today=today,
        customer_name=name,
        customer_number="C-0001",
        lines=lines,
        portal_url=portal_base_url(str(tenant.slug), active()),
        brand=brand_values(tenant),
        body=body,
    )
