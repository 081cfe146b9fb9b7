"""Every Spanish string of the dashboard has its English translation: the templates' ``_("…")``,
the labels and messages of its Python modules, the download headers; and the page switches to
English with ``?lang=en``."""

from __future__ import annotations

import re
from pathlib import Path

from recaudo.core.messaging.i18n import translations
from recaudo.core.workspace import kpis
from recaudo.core.workspace.definitions import DEFINITIONS
from recaudo.web.backoffice import dashboard

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "web/templates/staff/workspace").glob("dashboard*.html"))
MODULES = [ROOT / "web/backoffice/dashboard.py", ROOT / "web/backoffice/dashboard_export.py"]
SAME = {"DSO", "CEI", "WhatsApp", "SMS"}  # the same in English
CALL = re.compile(r"""(?<![\w.])_\(\s*(["'])(.+?)\1\s*\)""", re.S)


def strings() -> set[str]:
    found: set[str] = set()
    for path in [*TEMPLATES, *MODULES]:
        found |= {m.group(2) for m in CALL.finditer(path.read_text())}
    found |= set(dashboard.MESSAGES)
    found |= {label for _key, label, _attr, _kind in dashboard.CARDS}
    found |= {t for t in dashboard.BUCKET_TICKS.values() if any(c.isalpha() for c in t)}
    # What the page passes through _() from the KPI engine: bucket, channel and "none" labels,
    # and the definitions it shows.
    found |= {label for _key, label, _lo, _hi in kpis.BUCKETS}
    found |= set(kpis.CHANNEL_LABELS.values()) | {kpis.NO_STAGE[1], kpis.NO_CONTACT[1]}
    for d in DEFINITIONS.values():
        found |= {d.title, d.definition, d.formula}
    return found


def test_every_string_is_translated() -> None:
    en = translations("en")
    found = strings()
    assert len(TEMPLATES) == 2
    assert {"Antigüedad de saldos", "Ver los datos", "Importe", "Al día"} <= found
    assert dashboard.BAD_SEGMENT in found
    missing = sorted(s for s in found if en.gettext(s) == s and s not in SAME)
    assert not missing, "add to core/messaging/locale/en/LC_MESSAGES/dashboard.po:\n" + "\n".join(
        missing
    )
    assert en.gettext("Ver los datos") == "See the data"
    assert en.gettext("%(n)s días") % {"n": "4.5"} == "4.5 days"
