"""Every Spanish string of credit evaluation and the forecast has its English translation: the
templates' ``_("…")``, the score's reasons, the limit warning, the decision labels and the
messages the credit routes answer with."""

from __future__ import annotations

import re
from pathlib import Path

from recaudo.core.messaging.i18n import translations
from recaudo.core.workspace import credit
from recaudo.web.backoffice import credit as credit_web

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [
    ROOT / "web/templates/staff/workspace/credit.html",
    ROOT / "web/templates/staff/workspace/forecast.html",
    ROOT / "web/templates/staff/invoice.html",
    ROOT / "web/templates/staff/customer.html",
]
CALL = re.compile(r"""(?<![\w.])_\(\s*(["'])(.+?)\1\s*\)""", re.S)
# Reason("…" "…", …): the sentence templates of the score, possibly split over lines
REASON = re.compile(r'Reason\(\s*((?:"[^"]*"\s*)+),', re.S)
ERROR = re.compile(r'CreditError\(\s*"([^"]+)"')


def strings() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES:
        found |= {m.group(2) for m in CALL.finditer(path.read_text())}
    source = (ROOT / "core/workspace/credit.py").read_text()
    for match in REASON.finditer(source):
        found.add("".join(re.findall(r'"([^"]*)"', match.group(1))))
    found |= set(ERROR.findall(source))
    found |= set(credit.DECISION_LABELS.values())
    found |= {credit.LIMIT_WARNING, credit_web.NOT_FOUND, credit_web.BAD_TERMS}
    return found


def test_every_string_is_translated() -> None:
    en = translations("en")
    found = strings()
    assert "Sin historial de pagos todavía: puntaje neutral de %(score)d." in found
    assert "Pronóstico de cobranza" in found and "Rechazar crédito" in found
    assert "El plazo debe ser de 0 a 365 días." in found
    missing = sorted(
        s for s in found if en.gettext(s) == s and s not in ("Chat", "Subtotal", "Total")
    )
    assert not missing, "add to core/messaging/locale/en/LC_MESSAGES/credit.po:\n" + "\n".join(
        missing
    )


def test_reasons_keep_their_numbers_in_english() -> None:
    en = translations("en")
    reason = credit.Reason(
        "Pagó %(on_time)d de %(settled)d facturas a tiempo; en promedio %(days)d días tarde "
        "(−%(points)d puntos).",
        {"on_time": 8, "settled": 10, "days": 12, "points": 12},
    )
    assert reason.text.startswith("Pagó 8 de 10 facturas a tiempo; en promedio 12 días tarde")
    english = en.gettext(reason.template) % reason.values
    assert english == "Paid 8 of 10 invoices on time; 12 days late on average (−12 points)."
