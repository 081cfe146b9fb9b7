"""Every Spanish string of the customer messages, the letter and Ajustes → Mensajes has an English
translation (``messages.po`` or an earlier catalog), and tú/usted pairs share one English text."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from recaudo.core.collections.policies import PLACEHOLDERS
from recaudo.core.messaging.i18n import translations

ROOT = Path(__file__).resolve().parent.parent
FILES = [
    ROOT / "core/messaging/templates/email/customer_message.txt",
    ROOT / "core/messaging/templates/email/customer_message.html",
    ROOT / "core/messaging/templates/letters/letter.html",
    ROOT / "web/templates/staff/settings/messages.html",
]
CALL = re.compile(r'(?<![\w.])_\("([^"]+)"\)')
PAIR = re.compile(r'(?<![\w.])tu\("([^"]+)", "([^"]+)"\)')


def pairs() -> list[tuple[str, str]]:
    return [m.groups() for path in FILES for m in PAIR.finditer(path.read_text())]


def wanted() -> set[str]:
    found = {m for path in FILES for m in CALL.findall(path.read_text())}
    found |= {s for pair in pairs() for s in pair}
    source = (ROOT / "workers/customer_messages.py").read_text()
    found |= set(re.findall(r'"((?:Su|Tu|Le|Te) [^"]+)"', source))
    return found | set(PLACEHOLDERS.values())


def test_the_scan_finds_the_strings() -> None:
    strings = wanted()
    assert "Emitimos su factura %(number)s por %(amount)s, con vencimiento el %(date)s." in strings
    assert "Días de atraso" in strings and "Mensajes y cartas" in strings
    assert len(pairs()) >= 10


def test_every_string_has_an_english_translation() -> None:
    english = translations("en")
    same = {"Total"}  # reads the same in English (translated to itself in staff.po)
    missing = sorted(s for s in wanted() - same if english.gettext(s) == s)
    assert not missing, "add to core/messaging/locale/en/LC_MESSAGES/messages.po: " + str(missing)


def test_tu_and_usted_read_the_same_in_english() -> None:
    english = translations("en")
    for tu, usted in pairs():
        assert english.gettext(tu) == english.gettext(usted), tu


def test_translations_keep_their_placeholders() -> None:
    with (ROOT / "core/messaging/locale/en/LC_MESSAGES/messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="en")
    for message in catalog:
        if message.id and message.string:
            assert sorted(re.findall(r"%\(\w+\)\w", str(message.id))) == sorted(
                re.findall(r"%\(\w+\)\w", str(message.string))
            ), message.id
