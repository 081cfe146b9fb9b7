"""Every Spanish string of the settings pages (templates and the services' form errors) has an
English translation, kept in ``core/messaging/locale/en/LC_MESSAGES/settings.po``."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from recaudo.core.messaging.i18n import translations

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "web/templates/staff/settings").glob("*.html"))
MODULES = [
    *sorted((ROOT / "core/tenant_settings").glob("*.py")),
    ROOT / "web/backoffice/settings.py",
]
CALL = re.compile(r"""(?<![\w.])_\(\s*(["'])(.+?)\1\s*\)""", re.S)
# Form error messages: the values of ``{"field": "message"}`` in FormErrors and friends.
ERROR = re.compile(
    r"""(?:\{\s*(?:"[\w_]+"|field|key)\s*:|errors\[[^\]]+\]\s*=|SettingNotFound\(|error = |"""
    r"""return |, error = \{\}, )\s*"([^"]+)\""""
)
CONSTANT = re.compile(r'^[A-Z_]+ = "([^"]+)"', re.M)
MESSAGE = re.compile(r"""^\s+\("[\w_]+",\s*"([^"]+)"\),?$""", re.M)


def wanted() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES:
        found |= {m.group(2) for m in CALL.finditer(path.read_text())}
    for path in MODULES:
        text = path.read_text()
        messages = {m.group(1) for m in ERROR.finditer(text)}
        messages |= {m.group(1) for m in MESSAGE.finditer(text)}
        messages |= {m.group(1) for m in CONSTANT.finditer(text)}
        # Codes the scan also meets ("ok", "logo-grande", "#1f6feb") are not messages.
        found |= {s for s in messages if " " in s or s[0].isupper()}
    return found


def test_the_scan_finds_the_strings() -> None:
    strings = wanted()
    assert "Marca" in strings and "Guardar marca" in strings
    assert "Ese dominio ya lo usa otra cuenta." in strings
    assert "El color principal no contrasta lo suficiente con el texto blanco." in strings


def test_every_settings_string_has_an_english_translation() -> None:
    english = translations("en")
    with (ROOT / "core/messaging/locale/en/LC_MESSAGES/settings.po").open("rb") as fh:
        listed = {m.id for m in read_po(fh, locale="en") if m.id and m.string}
    # Words that read the same in English ("API", "Logo") are listed with themselves.
    missing = sorted(s for s in wanted() if english.gettext(s) == s and s not in listed)
    assert not missing, "add to core/messaging/locale/en/LC_MESSAGES/settings.po:\n" + "\n".join(
        missing
    )


def test_translations_keep_their_placeholders() -> None:
    with (ROOT / "core/messaging/locale/en/LC_MESSAGES/settings.po").open("rb") as fh:
        catalog = read_po(fh, locale="en")
    for message in catalog:
        if message.id and message.string:
            slots = set(re.findall(r"%\(\w+\)[sd]", str(message.id)))
            assert slots == set(re.findall(r"%\(\w+\)[sd]", str(message.string))), message.id
