"""The webhooks pages speak Spanish first and English from ``webhooks.po``, every string."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "core/messaging/locale/en/LC_MESSAGES/webhooks.po"


def _translated() -> dict[str, str]:
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string}


def test_every_webhooks_text_has_an_english_translation() -> None:
    wanted: set[str] = set()
    for template in (ROOT / "web/templates/staff/webhooks").glob("*.html"):
        text = template.read_text()
        wanted |= set(re.findall(r'_\("([^"]+)"\)', text))
        wanted |= set(re.findall(r"_\('([^']+)'\)", text))
    for module in (ROOT / "core/webhooks/endpoints.py", ROOT / "web/backoffice/webhooks.py"):
        source = module.read_text()
        wanted |= set(re.findall(r'WebhookError\(\s*"([^"]+)"', source))
        wanted |= set(re.findall(r'(?:Exception)\("([^"]+)"\)', source))
        wanted |= set(re.findall(r'^[A-Z_]+ = "([^"]+)"', source, flags=re.M))
        wanted |= {
            m
            for pair in re.findall(r'"([^"]+)"\s+if not dev\s+else "([^"]+)"', source)
            for m in pair
        }
    wanted -= {"ping"}
    translated = _translated()
    missing = sorted(w for w in wanted if w not in translated)
    assert not missing, f"add to webhooks.po: {missing}"


def test_translations_keep_their_placeholders() -> None:
    for source, english in _translated().items():
        assert sorted(re.findall(r"%\(\w+\)\w", source)) == sorted(
            re.findall(r"%\(\w+\)\w", english)
        ), source


def test_the_documented_verification_snippet_accepts_our_signatures() -> None:
    """docs/webhooks.md's Python snippet, run against a signature Recaudo makes."""
    import time

    from recaudo.core.webhooks.delivery import signature

    doc = (ROOT / "docs/webhooks.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", doc, flags=re.S)
    assert snippet is not None
    namespace: dict[str, object] = {}
    exec(snippet.group(1), namespace)  # our own docs
    verify = namespace["verify"]
    body = b'{"id":"x","type":"ping"}'
    now = int(time.time())
    header = signature(body, now, ["whsec_new", "whsec_old"])
    assert verify(header, body, "whsec_new") and verify(header, body, "whsec_old")  # type: ignore[operator]
    assert not verify(header, body + b" ", "whsec_new")  # type: ignore[operator]
    assert not verify(signature(body, now - 3600, ["whsec_new"]), body, "whsec_new")  # type: ignore[operator]


def test_shared_strings_translate_the_same_as_in_other_catalogs() -> None:
    """Catalogs are merged at start-up: a different English for the same Spanish would change
    another page's text depending on file order. Checked across every catalog, not only ours."""
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for path in sorted(CATALOG.parent.glob("*.po")):
        with path.open("rb") as fh:
            for message in read_po(fh, locale="en"):
                theirs = str(message.string)
                if not message.id or not theirs:
                    continue
                first = seen.setdefault(str(message.id), (path.name, theirs))
                if first[1] != theirs:
                    clashes.append(
                        f"{message.id!r}: {first[0]} {first[1]!r} vs {path.name} {theirs!r}"
                    )
    assert not clashes, clashes
