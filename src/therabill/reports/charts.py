"""Server-side SVG charts: bar and line charts with a title, axis labels, units and a legend.

No JavaScript and no external files: each chart is one ``<svg>`` element that a page or a
standalone HTML export embeds as it is. Colours are the Okabe-Ito palette (distinguishable
with the common colour-vision deficiencies); every series also has a legend entry and, on
line charts, its own marker shape, so colour is never the only cue.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from html import escape

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
"""Okabe-Ito colours (yellow left out: too pale on white)."""

WIDTH, HEIGHT = 760, 360
LEFT, RIGHT, TOP, BOTTOM = 78, 20, 64, 84

Number = int | float | Decimal
Series = tuple[str, Sequence[Number | None]]


def nice_step(span: float, ticks: int = 5) -> float:
    """A round tick step (1, 2 or 5 × a power of ten) giving about ``ticks`` ticks."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = float(10 ** math.floor(math.log10(raw)))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power  # pragma: no cover - the loop always returns


def _fmt(value: float, unit: str) -> str:
    if unit == "$":
        return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.2f}".rstrip("0").rstrip(".")
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{text}%" if unit == "%" else text


def _scale(values: Sequence[float]) -> tuple[float, float, float]:
    lo = min([0.0, *values])
    hi = max([0.0, *values])
    if hi == lo:
        hi = lo + 1
    step = nice_step(hi - lo)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step, step


def _frame(
    title: str,
    x_label: str,
    y_label: str,
    unit: str,
    lo: float,
    hi: float,
    step: float,
    height: int = HEIGHT,
) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    unit_text = f" ({unit})" if unit and unit not in y_label else ""
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" font-family="system-ui, sans-serif" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="16" font-weight="600" fill="#1d2530">'
        f"{escape(title)}</text>",
        f'<text x="16" y="{TOP + plot_h / 2}" text-anchor="middle" font-size="12" fill="#1d2530" '
        f'transform="rotate(-90 16 {TOP + plot_h / 2})">{escape(y_label + unit_text)}</text>',
        f'<text x="{LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="{height - 8}" text-anchor="middle" font-size="12" '
        f'fill="#1d2530">{escape(x_label)}</text>',
    ]
    n = round((hi - lo) / step)
    for i in range(n + 1):
        v = lo + i * step
        y = TOP + plot_h - (v - lo) / (hi - lo) * plot_h
        colour = "#8a96a3" if abs(v) < 1e-9 else "#e3e7ec"
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}"/>')
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#3b4653">'
            f"{escape(_fmt(v, unit))}</text>"
        )
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#8a96a3"/>')
    return out


def _legend(names: Sequence[str], markers: bool) -> list[str]:
    out = []
    x = LEFT
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        if markers:
            out.append(f'<line x1="{x}" x2="{x + 18}" y1="42" y2="42" stroke="{colour}" stroke-width="2.5"/>')
            out.append(_marker(i, x + 9, 42, colour))
        else:
            out.append(f'<rect x="{x}" y="36" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 24}" y="46" font-size="12" fill="#1d2530">{escape(name)}</text>')
        x += 24 + 7 * len(name) + 22
    return out


def _marker(i: int, x: float, y: float, colour: str) -> str:
    shape = i % 3
    if shape == 0:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>'
    if shape == 1:
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{colour}"/>'
    return f'<path d="M{x:.1f},{y - 4.5:.1f} L{x + 4.5:.1f},{y + 3.5:.1f} L{x - 4.5:.1f},{y + 3.5:.1f} Z" fill="{colour}"/>'


MAX_LABEL = 18
"""Longest x label drawn in full (longer ones are cut with an ellipsis; the full text is in
the bar's tooltip and the tables)."""
CHAR_W = 6.4
"""Width of one character of an 11-pixel label, in pixels (generous, so labels fit)."""


def _rotated(categories: Sequence[str]) -> bool:
    return len(categories) > 6 or max((len(c) for c in categories), default=0) > 12


def _height(categories: Sequence[str]) -> int:
    """The chart's height: taller when rotated labels would run into the axis title or out of
    the picture."""
    if not _rotated(categories):
        return HEIGHT
    longest = min(max((len(c) for c in categories), default=0), MAX_LABEL)
    drop = math.ceil(longest * CHAR_W * math.sin(math.radians(35)))
    return HEIGHT + max(0, drop + 16 + 26 - BOTTOM)


def _x_labels(categories: Sequence[str], centres: Sequence[float]) -> list[str]:
    out = []
    every = max(1, math.ceil(len(categories) / 16))
    rotate = _rotated(categories)
    y = HEIGHT - BOTTOM + 16
    for i, (label, cx) in enumerate(zip(categories, centres, strict=True)):
        if i % every:
            continue
        text = label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"
        if rotate:
            out.append(
                f'<text x="{cx:.1f}" y="{y}" text-anchor="end" font-size="11" fill="#3b4653" '
                f'transform="rotate(-35 {cx:.1f} {y})">{escape(text)}</text>'
            )
        else:
            out.append(
                f'<text x="{cx:.1f}" y="{y}" text-anchor="middle" font-size="11" fill="#3b4653">{escape(text)}</text>'
            )
    return out


def _empty(title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" role="img" viewBox="0 0 {WIDTH} 80" '
        f'width="{WIDTH}" height="80" font-family="system-ui, sans-serif"><title>{escape(title)}</title>'
        f'<rect width="{WIDTH}" height="80" fill="#ffffff"/>'
        f'<text x="{WIDTH / 2}" y="30" text-anchor="middle" font-size="16" font-weight="600" fill="#1d2530">'
        f'{escape(title)}</text><text x="{WIDTH / 2}" y="58" text-anchor="middle" font-size="12" fill="#5b6675">'
        "No data in this range.</text></svg>"
    )


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    unit: str = "",
) -> str:
    """A grouped bar chart: one group of bars per category, one bar per series."""
    values = [float(v) for _, vs in series for v in vs if v is not None]
    if not categories or not values:
        return _empty(title)
    lo, hi, step = _scale(values)
    out = _frame(title, x_label, y_label, unit, lo, hi, step, _height(categories))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    group_w = plot_w / len(categories)
    bar_w = max(1.0, group_w * 0.8 / len(series))
    zero_y = TOP + plot_h - (0 - lo) / (hi - lo) * plot_h
    centres = []
    for ci, _cat in enumerate(categories):
        gx = LEFT + ci * group_w + group_w * 0.1
        centres.append(LEFT + ci * group_w + group_w / 2)
        for si, (name, vs) in enumerate(series):
            v = vs[ci]
            if v is None:
                continue
            y = TOP + plot_h - (float(v) - lo) / (hi - lo) * plot_h
            top, h = min(y, zero_y), abs(zero_y - y)
            out.append(
                f'<rect x="{gx + si * bar_w:.1f}" y="{top:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[si % len(PALETTE)]}"><title>{escape(name)}, {escape(_cat)}: '
                f"{escape(_fmt(float(v), unit))}</title></rect>"
            )
    out += _x_labels(categories, centres)
    if len(series) > 1:
        out += _legend([n for n, _ in series], markers=False)
    out.append("</svg>")
    return "\n".join(out)


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    unit: str = "",
    targets: Sequence[tuple[str, Number]] = (),
) -> str:
    """A line chart over ordered x labels; ``None`` values leave a gap. ``targets`` draws
    dashed horizontal reference lines (a goal), each with its label."""
    values = [float(v) for _, vs in series for v in vs if v is not None] + [float(t) for _, t in targets]
    if not x_labels or not values:
        return _empty(title)
    lo, hi, step = _scale(values)
    out = _frame(title, x_label, y_label, unit, lo, hi, step, _height(x_labels))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    n = len(x_labels)
    xs = [LEFT + plot_w * ((i + 0.5) / n) for i in range(n)]

    def y_of(v: float) -> float:
        return TOP + plot_h - (v - lo) / (hi - lo) * plot_h

    for label, target in targets:
        y = y_of(float(target))
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#5b6675" '
            'stroke-dasharray="6 4" stroke-width="1.5"/>'
        )
        out.append(
            f'<text x="{WIDTH - RIGHT - 4}" y="{y - 5:.1f}" text-anchor="end" font-size="11" fill="#3b4653">'
            f"{escape(label)}</text>"
        )
    for si, (_name, vs) in enumerate(series):
        colour = PALETTE[si % len(PALETTE)]
        path: list[str] = []
        for i, v in enumerate(vs):
            if v is None:
                if len(path) > 1:
                    out.append(_polyline(path, colour))
                path = []
                continue
            path.append(f"{xs[i]:.1f},{y_of(float(v)):.1f}")
        if len(path) > 1:
            out.append(_polyline(path, colour))
        for i, v in enumerate(vs):
            if v is not None:
                out.append(_marker(si, xs[i], y_of(float(v)), colour))
    out += _x_labels(x_labels, xs)
    out += _legend([n for n, _ in series], markers=True)
    out.append("</svg>")
    return "\n".join(out)


def _polyline(points: Sequence[str], colour: str) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2.5"/>'
