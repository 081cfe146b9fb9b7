"""Every Spanish string the portal shows has an English translation in ``portal.po``.

Strings are collected from the portal's templates (``_("…")``, ``ngettext``) and from the
customer-facing error messages of the portal's Python modules, so a new string without a
translation fails here instead of appearing in Spanish on an English page.
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from recaudo.core.messaging.i18n import translations

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [
    *(ROOT / "web/templates/portal").rglob("*.html"),
    *(ROOT / "web/templates/portal").rglob("*.txt"),
    *(ROOT / "core/messaging/templates").rglob("*.html"),
    *(ROOT / "core/messaging/templates").rglob("*.txt"),
    ROOT / "web/templates/dev/outbox.html",
]
PYTHON = [
    *(ROOT / "web/portal").glob("*.py"),
    ROOT / "core/collections/plans.py",
    ROOT / "core/common/money_input.py",
    ROOT / "core/payments/selection.py",
    ROOT / "core/casework/claims.py",
    ROOT / "core/casework/help.py",
    ROOT / "core/messaging/preferences.py",
    ROOT / "workers/customer_news.py",
]
CALL = re.compile(r"""(?<![\w.])_\(\s*(["'])(.+?)\1\s*\)""", re.S)
NCALL = re.compile(r"""ngettext\(\s*"(.+?)",\s*"(.+?)\"""", re.S)
PY_MESSAGE = re.compile(
    r"(?:PlanError|ClaimError|HelpError|PreferenceError|fail|not_found|gettext|[^\w.]_|__init__)"
    r'\(\s*"([^"]+)"|error="([^"]+)"|preview_error = "([^"]+)"'
)


def template_strings() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES:
        text = path.read_text()
        found |= {m.group(2) for m in CALL.finditer(text)}
        for m in NCALL.finditer(text):
            found |= {m.group(1), m.group(2)}
    return found


def python_strings() -> set[str]:
    found: set[str] = set()
    for path in PYTHON:
        for m in PY_MESSAGE.finditer(path.read_text()):
            found.add(next(g for g in m.groups() if g))
    return found


def catalog() -> set[str]:
    """Every catalog of the folder (merged at start-up; areas such as money.po keep their own)."""
    ids = set()
    for po in sorted((ROOT / "core/messaging/locale/en/LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            cat = read_po(fh, locale="en")
        for message in cat:
            if message.id and message.string:
                ids |= set(message.id) if isinstance(message.id, tuple) else {message.id}
    return ids


def test_every_portal_string_is_translated() -> None:
    with (ROOT / "core/messaging/locale/en/LC_MESSAGES/base.po").open("rb") as fh:
        shared = {m.id for m in read_po(fh, locale="en") if m.id and m.string}
    missing = sorted((template_strings() | python_strings()) - catalog() - shared)
    assert not missing, "add to core/messaging/locale/en/LC_MESSAGES/portal.po:\n" + "\n".join(
        missing
    )


def test_translations_keep_their_placeholders() -> None:
    en = translations("en")
    for msgid in template_strings() | python_strings():
        names = set(re.findall(r"%\((\w+)\)", msgid))
        assert names == set(re.findall(r"%\((\w+)\)", en.gettext(msgid))), msgid
