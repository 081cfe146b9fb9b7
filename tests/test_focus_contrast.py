"""The keyboard focus indicator is visible (≥ 3:1, WCAG 2.2 SC 1.4.11) on every background it can
sit on: the page, cards, and the header and menu painted in a tenant's colours."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from recaudo.demo import DEMOS

CSS = Path(__file__).resolve().parent.parent / "web/static/css/app.css"
NEEDED = 3.0


def luminance(colour: str) -> float:
    """Relative luminance of ``#rrggbb`` (WCAG 2 definition)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def focus_rule() -> dict[str, str]:
    css = CSS.read_text()
    rules = re.findall(r"([^{}]*:focus-visible[^{}]*)\{([^}]*)\}", css)
    assert len(rules) == 1, "one focus style for everything"
    return dict(
        (k.strip(), v.strip())
        for k, v in (d.split(":", 1) for d in rules[0][1].split(";") if d.strip())
    )


def ring_colours() -> tuple[str, str, int, int]:
    """(outline colour, inner halo colour, outline offset px, halo width px)."""
    rule = focus_rule()
    outline = re.fullmatch(r"(\d+)px solid (#[0-9a-f]{6})", rule["outline"])
    halo = re.fullmatch(r"0 0 0 (\d+)px (#[0-9a-f]{6})", rule["box-shadow"])
    assert outline and halo, rule
    offset = int(rule["outline-offset"].removesuffix("px"))
    return outline.group(2), halo.group(2), offset, int(halo.group(1))


def page_backgrounds() -> list[str]:
    css = CSS.read_text()
    found = [re.search(rf"--{name}: (#[0-9a-f]{{6}})", css) for name in ("bg", "card", "brand")]
    colours = [m.group(1) for m in found if m]
    brand_accent = re.search(r"--brand-accent: (#[0-9a-f]{6})", css)
    assert brand_accent and len(colours) == 3
    return [*colours, brand_accent.group(1), "#ffffff"]


def tenant_backgrounds() -> list[str]:
    return [d.branding[k] for d in DEMOS for k in ("primary_color", "accent_color")]


def visible_on(background: str) -> float:
    ring, halo, _, _ = ring_colours()
    return max(contrast(ring, background), contrast(halo, background))


def test_the_old_orange_ring_was_too_faint() -> None:
    # The problem this guards against: #fb8f44 measured 2.2–2.4:1 on the portal's backgrounds.
    assert contrast("#fb8f44", "#ffffff") < NEEDED and contrast("#fb8f44", "#f6f8fa") < NEEDED


def test_focus_ring_stands_out_on_the_page_cards_and_demo_brands() -> None:
    for background in page_backgrounds() + tenant_backgrounds():
        assert visible_on(background) >= NEEDED, background


def test_focus_ring_stands_out_on_any_tenant_colour() -> None:
    ring, halo, offset, width = ring_colours()
    assert contrast(ring, halo) >= NEEDED * NEEDED  # hence one of them ≥ 3:1 on any colour
    assert width >= offset  # the white halo fills the gap between the element and the ring
    steps = ("00", "33", "66", "99", "cc", "ff", "80", "b3", "4d")
    for r, g, b in itertools.product(steps, repeat=3):
        assert visible_on(f"#{r}{g}{b}") >= NEEDED, f"#{r}{g}{b}"
