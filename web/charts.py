"""Small charts drawn on the server as inline SVG: bars, a line, and paired bars.

No JavaScript library: the page stays readable without JS, passes the strict CSP, and a screen
reader gets the chart's ``<title>``/``<desc>`` (the page adds the numbers as a table). The
drawing is sized for a 360 px phone: a 320-unit-wide ``viewBox`` scaled to the container's width
(``dashboard.css`` caps it on wide screens), 12-unit text, and axis labels thinned so they never
overlap. Colours all reach 3:1 against white (WCAG 1.4.11 for graphics).

Every text passed in (labels, titles) is escaped here: stage names and segments are tenant text.
Callers pass values already in display units (major units of money, days, percents) and a
``tick`` function that words an axis value in the page's locale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_compact_decimal
from markupsafe import Markup, escape

WIDTH = 320
HEIGHT = 200
FONT = 12
#: Average advance of a character at ``FONT`` (system sans-serif): used to keep labels apart.
CHAR = FONT * 0.62
LEFT, RIGHT, TOP, BOTTOM = 46, 8, 14, 30
TEXT = "#1b1f24"
GRID = "#d0d7de"
#: Aging, from current to 90+: green to dark red, each at least 4.5:1 on white.
AGING_COLOURS = ("#1a7f37", "#9a6700", "#bc4c00", "#cf222e", "#82071e")
LINE = "#1f6feb"
PAIR = ("#6e7781", "#1a7f37")  # due (grey), collected (green)

Number = int | float | Decimal
Tick = Callable[[float], str]


@dataclass(frozen=True)
class Bar:
    """One bar: its axis label, its value in display units and that value as people read it."""

    label: str
    value: Number
    text: str


@dataclass(frozen=True)
class Point:
    """One point of a line; ``value`` None leaves a gap (no data that month)."""

    label: str
    value: Number | None
    text: str


@dataclass(frozen=True)
class Pair:
    """Two bars side by side under one label (e.g. due and collected in a week)."""

    label: str
    first: Number
    second: Number
    first_text: str
    second_text: str


def compact(locale: str) -> Tick:
    """Axis numbers in a few characters ("1.2 M", "350 mil"), as the locale writes them."""

    def tick(value: float) -> str:
        return str(format_compact_decimal(value, locale=locale, fraction_digits=1))

    return tick


def nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above ``value``: round gridlines."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def label_step(labels: Sequence[str], slot: float) -> int:
    """Show every n-th label so that no two drawn labels overlap in a ``slot``-wide column."""
    widest = max((len(label) for label in labels), default=0) * CHAR + 4
    return max(1, math.ceil(widest / slot)) if slot > 0 else 1


def _open(chart_id: str, title: str, desc: str) -> str:
    cid = escape(chart_id)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'role="img" aria-labelledby="{cid}-title {cid}-desc" id="{cid}" class="chart" '
        f'font-size="{FONT}" font-family="system-ui, sans-serif" fill="{TEXT}">'
        f'<title id="{cid}-title">{escape(title)}</title>'
        f'<desc id="{cid}-desc">{escape(desc)}</desc>'
    )


def _axis(top: float, tick: Tick) -> str:
    """Horizontal gridlines at 0, ¼, ½, ¾ and the top, worded at the left."""
    parts = []
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(5):
        value = top * i / 4
        y = HEIGHT - BOTTOM - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{LEFT - 4}" y="{y + FONT / 3:.1f}" text-anchor="end">'
            f"{escape(tick(value))}</text>"
        )
    return "".join(parts)


def _x_labels(labels: Sequence[str], slot: float) -> str:
    step = label_step(labels, slot)
    y = HEIGHT - BOTTOM + FONT + 6
    parts = []
    for i, label in enumerate(labels):
        if i % step:
            continue
        x = LEFT + slot * (i + 0.5)
        parts.append(f'<text x="{x:.1f}" y="{y}" text-anchor="middle">{escape(label)}</text>')
    return "".join(parts)


def _height(value: Number, top: float) -> float:
    return max(0.0, float(value)) / top * (HEIGHT - TOP - BOTTOM)


def bar_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    desc: str,
    tick: Tick,
    colours: Sequence[str] = AGING_COLOURS,
) -> Markup:
    """Vertical bars, each with its value written above it (few bars: the aging buckets)."""
    top = nice_max(max((float(b.value) for b in bars), default=0.0))
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(bars))
    width = slot * 0.62
    parts = [_open(chart_id, title, desc), _axis(top, tick)]
    for i, bar in enumerate(bars):
        h = _height(bar.value, top)
        x = LEFT + slot * i + (slot - width) / 2
        y = HEIGHT - BOTTOM - h
        colour = colours[i % len(colours)]
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" '
            f'fill="{colour}"><title>{escape(bar.label)}: {escape(bar.text)}</title></rect>'
        )
        if len(tick(float(bar.value))) * CHAR <= slot:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">'
                f"{escape(tick(float(bar.value)))}</text>"
            )
    parts.append(_x_labels([b.label for b in bars], slot))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def line_chart(
    points: Sequence[Point], *, chart_id: str, title: str, desc: str, tick: Tick
) -> Markup:
    """A line over time (DSO per month); months without a value break the line."""
    values = [float(p.value) for p in points if p.value is not None]
    top = nice_max(max(values, default=0.0))
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(points))
    parts = [_open(chart_id, title, desc), _axis(top, tick)]
    segments: list[list[str]] = [[]]
    dots = []
    for i, point in enumerate(points):
        if point.value is None:
            segments.append([])
            continue
        x = LEFT + slot * (i + 0.5)
        y = HEIGHT - BOTTOM - _height(point.value, top)
        segments[-1].append(f"{x:.1f},{y:.1f}")
        dots.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{LINE}">'
            f"<title>{escape(point.label)}: {escape(point.text)}</title></circle>"
        )
    for segment in segments:
        if len(segment) > 1:
            parts.append(
                f'<polyline points="{" ".join(segment)}" fill="none" stroke="{LINE}" '
                'stroke-width="2"/>'
            )
    parts.extend(dots)
    parts.append(_x_labels([p.label for p in points], slot))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def paired_bar_chart(
    pairs: Sequence[Pair],
    *,
    chart_id: str,
    title: str,
    desc: str,
    tick: Tick,
    series: tuple[str, str],
    colours: tuple[str, str] = PAIR,
) -> Markup:
    """Two bars per period (due and collected), with a legend naming both series."""
    top = nice_max(max((float(max(p.first, p.second)) for p in pairs), default=0.0))
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(pairs))
    width = slot * 0.36
    parts = [_open(chart_id, title, desc), _axis(top, tick)]
    for i, pair in enumerate(pairs):
        x0 = LEFT + slot * i + slot * 0.14
        for j, (value, text) in enumerate(
            ((pair.first, pair.first_text), (pair.second, pair.second_text))
        ):
            h = _height(value, top)
            parts.append(
                f'<rect x="{x0 + j * width:.1f}" y="{HEIGHT - BOTTOM - h:.1f}" '
                f'width="{width:.1f}" height="{h:.1f}" fill="{colours[j]}">'
                f"<title>{escape(pair.label)} · {escape(series[j])}: {escape(text)}</title></rect>"
            )
    parts.append(_x_labels([p.label for p in pairs], slot))
    # The legend, on the top line, right-aligned: a swatch and the series' name for each.
    x: float = WIDTH - RIGHT
    for j in (1, 0):
        name = series[j]
        x -= len(name) * CHAR
        parts.append(f'<text x="{x:.1f}" y="{FONT - 1}">{escape(name)}</text>')
        x -= 12
        parts.append(f'<rect x="{x:.1f}" y="1" width="9" height="9" fill="{colours[j]}"/>')
        x -= 10
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()
