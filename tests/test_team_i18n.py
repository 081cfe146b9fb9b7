"""Every Spanish string of the team area has an English entry (team.po), placeholders kept."""

from __future__ import annotations

import re
from pathlib import Path

from recaudo.core.messaging.i18n import translations

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [
    *(ROOT / "web/templates/staff/team").glob("*.html"),
    ROOT / "web/templates/staff/login.html",
]
MODULES = [
    ROOT / "web/backoffice/team.py",
    ROOT / "web/backoffice/auth.py",
    ROOT / "core/access/onboarding.py",
    ROOT / "core/access/staff_mail.py",
]
NOT_TEXT = {"recaudo_staff_2fa", "staff.login_failed", "staff.login"}


def team_strings() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES:
        text = path.read_text()
        found |= set(re.findall(r'_\("([^"]+)"\)', text)) | set(re.findall(r"_\('([^']+)'\)", text))
    for path in MODULES:
        source = path.read_text()
        found |= set(re.findall(r'^[A-Z_]+ = "([^"]+)"', source, flags=re.M))
        found |= set(re.findall(r'^[A-Z_]+ = \(\n\s+"([^"]+)"\n\)', source, flags=re.M))
        found |= set(re.findall(r'_\(\s*"([^"]+)"', source))
        found |= set(re.findall(r'^\s+"([A-ZÁÉÍÓÚ¿][^"]+)",$', source, flags=re.M))
        found |= set(re.findall(r'NotFound\("([^"]+)"\)', source))
    return found - NOT_TEXT


def test_every_team_string_has_an_english_translation() -> None:
    en = translations("en")
    strings = team_strings()
    assert len(strings) > 80  # the collection works
    missing = sorted(s for s in strings if en.gettext(s) == s)
    assert not missing, f"add to core/messaging/locale/en/LC_MESSAGES/team.po: {missing}"


def test_translations_keep_their_placeholders() -> None:
    en = translations("en")
    for msgid in team_strings():
        names = set(re.findall(r"%\((\w+)\)", msgid))
        assert names == set(re.findall(r"%\((\w+)\)", en.gettext(msgid))), msgid
