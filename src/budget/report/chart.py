"""A terminal line chart for rich: log-scaled x (dollars), linear y from 0, one marker per series.

The chart fills the width it is given (the terminal's, from the renderer), draws each series
as a line (log-linear interpolation between its points, one cell per column), labels both
axes with round ticks (1-2-5 per decade on x, 1-2-2.5-4-5 steps on y), marks the user's budget
with a dotted column and crossings with ``×`` on the x axis, and lays its legend out item by
item so that no item is ever broken across lines.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence

from rich.text import Text

MARKERS = "●■▲◆★✚▼○"  # never ×: that marks crossings
COLOURS = ["cyan", "magenta", "green", "yellow", "blue", "red", "bright_white", "bright_cyan"]
CROSSING = "×"
OBSERVED = "◎"


def nice_step(span: float, target: int) -> float:
    """A round step (1, 2, 2.5, 4 or 5 x 10^n) that cuts ``span`` into about ``target`` parts."""
    if span <= 0:
        return 1.0
    raw = span / max(1, target)
    base = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 4, 5, 10):
        if m * base >= raw:
            return float(m * base)
    return 10 * base  # pragma: no cover - the loop always returns


def log_ticks(lo: float, hi: float) -> list[float]:
    """Round values (1, 2, 5 x 10^n) within [lo, hi]; only powers of ten over wide ranges."""
    if lo <= 0 or hi <= lo:
        return [lo]
    decades = math.log10(hi) - math.log10(lo)
    mults = (1,) if decades > 4 else (1, 2, 5) if decades > 0.7 else (1, 1.5, 2, 3, 4, 5, 6, 8)
    out = []
    for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in mults:
            v = m * 10.0**e
            if lo <= v * (1 + 1e-9) and v <= hi * (1 + 1e-9):
                out.append(v)
    return out


def _money_tick(v: float) -> str:
    return f"${v:,g}" if v < 1000 else f"${v:,.0f}"


def _legend(names: Sequence[str], width: int, note: str) -> Text:
    """Legend items laid out whole: an item moves to the next line rather than break."""
    items: list[tuple[str, str, str]] = [
        (MARKERS[i % len(MARKERS)], COLOURS[i % len(COLOURS)], name) for i, name in enumerate(names)
    ]
    out = Text()
    used = 0
    for marker, colour, name in items:
        piece = 2 + len(name) + 2  # "● name  "
        if used and used + piece > width:
            out.append("\n")
            used = 0
        out.append(f"{marker} ", style=colour)
        out.append(name + "  ")
        used += piece
    for part in note.split("; "):
        if used and used + len(part) + 2 > width:
            out.append("\n")
            used = 0
        out.append(part + "  ", style="dim")
        used += len(part) + 2
    return out


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    width: int = 72,
    height: int = 14,
    x_label: str = "dollars (log scale)",
    y_label: str = "expected solved",
    mark_x: float | None = None,
    crossings: Sequence[float] = (),
    x_format: Callable[[float], str] | None = None,
    bands: Mapping[str, Sequence[tuple[float, float, float]]] | None = None,
    points: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    y_limit: float | None = None,
) -> Text:
    """Plot (x, y) series in ``width`` columns (axis labels included); x log, y linear from 0."""
    pts = [(x, y) for s in series.values() for x, y in s if x > 0]
    if not pts:
        return Text("(nothing to plot)")
    x_min, x_max = min(p[0] for p in pts), max(p[0] for p in pts)
    if x_max <= x_min:
        x_min, x_max = x_min / 2, x_max * 2
    y_max = y_limit or max(p[1] for p in pts) or 1.0
    # The round step (3 to 6 ticks) whose top tick wastes the least height above the data.
    y_step = min(
        (nice_step(y_max, n) for n in range(3, max(4, height // 3) + 2)),
        key=lambda st: (st * math.ceil(y_max / st) - y_max, abs(math.ceil(y_max / st) - 4)),
    )
    y_top = y_step * math.ceil(y_max / y_step)
    y_ticks = [i * y_step for i in range(round(y_top / y_step) + 1)]
    label_w = max(len(f"{t:,.{_decimals(y_step)}f}") for t in y_ticks)
    plot_w = max(16, width - label_w - 2)
    lx0, lx1 = math.log10(x_min), math.log10(x_max)

    def col(x: float) -> int:
        return min(plot_w - 1, max(0, round((math.log10(x) - lx0) / (lx1 - lx0) * (plot_w - 1))))

    def row(y: float) -> int:
        return min(height - 1, max(0, height - 1 - round(y / y_top * (height - 1))))

    def x_at(c: int) -> float:
        return 10 ** (lx0 + (lx1 - lx0) * c / (plot_w - 1))

    grid: list[list[tuple[str, str]]] = [[(" ", "")] * plot_w for _ in range(height)]
    for t in y_ticks[1:]:
        r = row(t)
        grid[r] = [("·", "dim") if c % 2 == 0 else (" ", "") for c in range(plot_w)]
    if mark_x is not None and x_min <= mark_x <= x_max:
        c = col(mark_x)
        for r in range(height):
            grid[r][c] = ("┊", "dim")
    names = list(series)
    for name, band in (bands or {}).items():
        colour = COLOURS[names.index(name) % len(COLOURS)] if name in names else "white"
        ordered = sorted((x, lo, hi) for x, lo, hi in band if x > 0)
        if not ordered:
            continue
        lows = [(x, lo) for x, lo, _ in ordered]
        highs = [(x, hi) for x, _, hi in ordered]
        for c in range(col(ordered[0][0]), col(ordered[-1][0]) + 1):
            top, bottom = row(_interpolate(highs, x_at(c))), row(_interpolate(lows, x_at(c)))
            for r in range(top, bottom + 1):
                if grid[r][c][0] in " ·":
                    grid[r][c] = ("░", f"dim {colour}")
    for i, s in enumerate(series.values()):
        marker, colour = MARKERS[i % len(MARKERS)], COLOURS[i % len(COLOURS)]
        line = sorted((x, y) for x, y in s if x > 0)
        if not line:
            continue
        for c in range(col(line[0][0]), col(line[-1][0]) + 1):
            grid[row(_interpolate(line, x_at(c)))][c] = (marker, colour)
    for name, pts_ in (points or {}).items():
        colour = COLOURS[names.index(name) % len(COLOURS)] if name in names else "white"
        for x, y in pts_:
            if x_min <= x <= x_max:
                grid[row(y)][col(x)] = (OBSERVED, f"bold {colour}")
    tick_rows = {row(t): t for t in y_ticks}
    out = Text()
    for r in range(height):
        tick = f"{tick_rows[r]:,.{_decimals(y_step)}f}" if r in tick_rows else ""
        out.append(f"{tick:>{label_w}} ┤" if tick else " " * label_w + " │", style="dim")
        for ch, style in grid[r]:
            out.append(ch, style=style or None)
        out.append("\n")
    axis = ["─"] * plot_w
    for x in log_ticks(x_min, x_max):
        axis[col(x)] = "┬"
    for x in crossings:
        if x_min <= x <= x_max:
            axis[col(x)] = CROSSING
    out.append(" " * label_w + " └", style="dim")
    for ch in axis:
        out.append(ch, style="bold red" if ch == CROSSING else "dim")
    out.append("\n")
    labels = [" "] * plot_w
    for x in log_ticks(x_min, x_max):
        text = (x_format or _money_tick)(x)
        start = min(max(0, col(x) - len(text) // 2), plot_w - len(text))
        if all(ch == " " for ch in labels[max(0, start - 1) : start + len(text) + 1]):
            labels[start : start + len(text)] = list(text)
    out.append(" " * (label_w + 2) + "".join(labels).rstrip() + "\n", style="dim")
    out.append(" " * (label_w + 2) + x_label.center(plot_w).rstrip() + "\n", style="dim")
    note = f"y: {y_label}"
    if mark_x is not None:
        note += "; ┊ your budget"
    if bands:
        note += "; ░ interval"
    if points:
        note += f"; {OBSERVED} observed"
    if any(x_min <= x <= x_max for x in crossings):
        note += f"; {CROSSING} lines cross"
    out.append_text(_legend(list(series), width, note))
    return out


def _decimals(step: float) -> int:
    return 0 if step >= 1 else max(0, -math.floor(math.log10(step)) + (1 if step * 10 % 1 else 0))


def _interpolate(line: Sequence[tuple[float, float]], x: float) -> float:
    """The value y at x on a polyline in (log x, y), its points sorted by x; flat beyond its ends.

    The segment is the first one whose right end is at or past x (found by bisection).
    """
    if x <= line[0][0]:
        return line[0][1]
    i = bisect.bisect_left(line, x, lo=1, key=_x)
    if i == len(line):
        return line[-1][1]
    (x0, y0), (x1, y1) = line[i - 1], line[i]
    if x1 == x0:
        return y1
    t = (math.log10(x) - math.log10(x0)) / (math.log10(x1) - math.log10(x0))
    return y0 + t * (y1 - y0)


def _x(point: tuple[float, float]) -> float:
    return point[0]
