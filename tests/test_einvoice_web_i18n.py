"""Every Spanish string of e-invoicing on the web has its English translation: the templates'
``_("…")``, the labels the back office words documents with (SAT's cancellation reasons, kinds,
statuses) and the messages its routes answer with."""

from __future__ import annotations

import re
from pathlib import Path

from recaudo.core.messaging.i18n import translations
from recaudo.web.backoffice import einvoices
from recaudo.web.backoffice.records_common import FIELD_LABELS

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [
    *(ROOT / "web/templates/staff/einvoices").glob("*.html"),
    ROOT / "web/templates/staff/customer_form.html",
    ROOT / "web/templates/staff/customer.html",
    ROOT / "web/templates/portal/invoice.html",
    ROOT / "web/templates/portal/payments.html",
    ROOT / "web/templates/staff/layout.html",
]
CALL = re.compile(r"""(?<![\w.])_\(\s*(["'])(.+?)\1\s*\)""", re.S)
MESSAGE = re.compile(r'(?:InboxError|NotFound|detail=str\(exc\) or)\(?\s*"([^"]+)"')


def strings() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES:
        found |= {m.group(2) for m in CALL.finditer(path.read_text())}
    for table in (einvoices.REASONS, einvoices.KINDS, einvoices.STATUSES):
        found |= {text for _code, text in table}
    found |= {einvoices.NOT_FOUND, einvoices.INVOICE_NOT_FOUND}
    found |= set(MESSAGE.findall((ROOT / "web/backoffice/einvoices.py").read_text()))
    found |= {FIELD_LABELS[f] for f in FIELD_LABELS if f.startswith("fiscal_")}
    return found


def test_every_string_is_translated() -> None:
    en = translations("en")
    found = strings()
    assert "Emitir CFDI" in found and "No se llevó a cabo la operación" in found
    assert "Elige el motivo de cancelación (01 a 04)." in found
    missing = sorted(
        s for s in found if en.gettext(s) == s and s not in ("C.P.", "Chat", "Subtotal", "Total")
    )  # same in English
    assert not missing, "add to core/messaging/locale/en/LC_MESSAGES/einvoices.po:\n" + "\n".join(
        missing
    )
    assert en.gettext("Factura electrónica (CFDI)") == "Electronic invoice (CFDI)"
