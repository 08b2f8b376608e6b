"""Server-side SVG charts: pain and range of motion over time, from a patient's objective measures."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

WIDTH = 320
HEIGHT = 120
PAD = 24


@dataclass(frozen=True)
class Series:
    """One line of a chart.

    Attributes:
        name: what is measured (``pain``, ``cervical rotation right``).
        kind: ``pain`` or ``rom``.
        unit: ``0-10`` or ``deg``.
        points: SVG polyline points (``x,y x,y``).
        dots: (x, y, label) of each measurement.
        first: the first value.
        last: the last value.
    """

    name: str
    kind: str
    unit: str
    points: str
    dots: tuple[tuple[float, float, str], ...]
    first: float
    last: float


def _series(name: str, kind: str, unit: str, values: list[tuple[date, float]], top: float) -> Series:
    days = [d for d, _ in values]
    span = max((max(days) - min(days)).days, 1)
    coords = []
    for d, v in values:
        x = PAD + (WIDTH - 2 * PAD) * ((d - min(days)).days / span if len(values) > 1 else 0.5)
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * (min(max(v, 0.0), top) / top)
        coords.append((round(x, 1), round(y, 1), f"{d.isoformat()}: {v:g} {unit}"))
    return Series(
        name,
        kind,
        unit,
        " ".join(f"{x},{y}" for x, y, _ in coords),
        tuple(coords),
        values[0][1],
        values[-1][1],
    )


def progress_series(measures: Iterable[Any]) -> list[Series]:
    """Pain (0-10) and each range-of-motion measure over time (numeric values only)."""
    grouped: dict[tuple[str, str], list[tuple[date, float]]] = {}
    for m in measures:
        if m.kind not in ("pain", "rom"):
            continue
        try:
            value = float(m.value)
        except ValueError:
            continue
        grouped.setdefault((m.kind, m.name), []).append((m.measured_on, value))
    out = []
    for (kind, name), values in sorted(grouped.items()):
        values.sort()
        if kind == "pain":
            out.append(_series("pain", kind, "0-10", values, 10.0))
        else:
            out.append(_series(name, kind, "deg", values, max(180.0, max(v for _, v in values))))
    return out
