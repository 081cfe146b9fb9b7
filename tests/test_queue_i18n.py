"""Every Spanish string of the work queue and the tasks pages has its English translation: the
templates' ``_("…")``, the task kinds and the messages the services and routes answer with."""

from __future__ import annotations

import re
from pathlib import Path

from recaudo.core.messaging.i18n import translations
from recaudo.core.workspace import tasks

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [
    *(ROOT / "web/templates/staff/workspace").glob("queue*.html"),
    *(ROOT / "web/templates/staff/workspace").glob("tasks*.html"),
    ROOT / "web/templates/staff/workspace/_queue_macros.html",
]
SOURCES = [
    ROOT / "core/workspace/queue.py",
    ROOT / "core/workspace/tasks.py",
    ROOT / "web/backoffice/queue.py",
]
CALL = re.compile(r"""(?<![\w.])_\(\s*(["'])(.+?)\1\s*\)""", re.S)
MESSAGE = re.compile(r'(?:TaskError|TaskNotFound|InboxError|NotFound|Conflict)\(\s*"([^"]+)"')


def strings() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES:
        found |= {m.group(2) for m in CALL.finditer(path.read_text())}
    for path in SOURCES:
        found |= set(MESSAGE.findall(path.read_text()))
    return found | set(tasks.KINDS.values())


def test_every_string_is_translated() -> None:
    en = translations("en")
    found = strings()
    assert "Cola de trabajo" in found and "Esperan a una persona" in found
    assert "Escribe qué hay que hacer." in found and "Persona del equipo no encontrada." in found
    missing = sorted(s for s in found if en.gettext(s) == s)
    assert not missing, "add to core/messaging/locale/en/LC_MESSAGES/queue.po:\n" + "\n".join(
        missing
    )
    assert en.gettext("Mis cuentas") == "My accounts"
