"""A small terminal line chart (log-scaled x) for rich: one marker and colour per series."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from rich.text import Text

from budget.money import fmt_usd

MARKERS = "●■▲◆★✚✖▼"
COLOURS = ["cyan", "magenta", "green", "yellow", "blue", "red", "bright_white", "bright_cyan"]


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    width: int = 64,
    height: int = 14,
    x_label: str = "dollars (log scale)",
    y_label: str = "expected solved",
    mark_x: float | None = None,
) -> Text:
    """Plot (x, y) series on a character grid; x on a log axis, y linear from 0."""
    pts = [(x, y) for s in series.values() for x, y in s if x > 0]
    if not pts:
        return Text("(nothing to plot)")
    x_min, x_max = min(p[0] for p in pts), max(p[0] for p in pts)
    y_max = max(p[1] for p in pts) or 1.0
    lx0, lx1 = math.log10(x_min), math.log10(x_max) if x_max > x_min else math.log10(x_min) + 1
    grid: list[list[tuple[str, str]]] = [[(" ", "")] * width for _ in range(height)]

    def col(x: float) -> int:
        return min(width - 1, max(0, round((math.log10(x) - lx0) / (lx1 - lx0) * (width - 1))))

    def row(y: float) -> int:
        return min(height - 1, max(0, height - 1 - round(y / y_max * (height - 1))))

    if mark_x is not None and x_min <= mark_x <= x_max:
        c = col(mark_x)
        for r in range(height):
            grid[r][c] = ("┊", "dim")
    for i, (_name, s) in enumerate(series.items()):
        marker, colour = MARKERS[i % len(MARKERS)], COLOURS[i % len(COLOURS)]
        for x, y in s:
            if x > 0:
                grid[row(y)][col(x)] = (marker, colour)
    out = Text()
    label_w = len(f"{y_max:,.0f}")
    for r in range(height):
        y_here = y_max * (height - 1 - r) / (height - 1)
        tick = f"{y_here:,.0f}" if r in (0, height // 2, height - 1) else ""
        out.append(f"{tick:>{label_w}} ┤", style="dim")
        for ch, style in grid[r]:
            out.append(ch, style=style or None)
        out.append("\n")
    out.append(" " * label_w + " └" + "─" * width + "\n", style="dim")
    left, right = fmt_usd(x_min), fmt_usd(x_max)
    out.append(
        " " * (label_w + 2) + left + x_label.center(width - len(left) - len(right)) + right + "\n",
        style="dim",
    )
    for i, name in enumerate(series):
        out.append(f"  {MARKERS[i % len(MARKERS)]} ", style=COLOURS[i % len(COLOURS)])
        out.append(name)
    out.append(f"   ({y_label}; ┊ = your budget)", style="dim")
    return out
