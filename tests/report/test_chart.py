"""The terminal chart (issue 13, item 3): width follows the terminal, round ticks on both axes,
no collapse at large budgets, legend items never broken, crossings drawn when in range."""

from __future__ import annotations

import itertools
import re

import pytest

from budget.report.chart import CROSSING, MARKERS, line_chart, log_ticks, nice_step

SERIES = {
    "DeepSeek-Coder-V2-Instruct": [(2.0 * 1.3**i, min(160.0, 50 + 9 * i)) for i in range(30)],
    "GPT-4o": [(2.0 * 1.3**i, min(100.0, 3.0 * i)) for i in range(30)],
    "Claude 3.5 Sonnet": [(2.0 * 1.3**i, min(110.0, 2.8 * i)) for i in range(30)],
}


@pytest.mark.parametrize("width", [60, 76, 116, 200])
def test_fills_the_given_width_and_no_wider(width: int) -> None:
    lines = line_chart(SERIES, width=width, mark_x=50.0).plain.splitlines()
    assert max(len(line) for line in lines) <= width
    axis = next(line for line in lines if "└" in line)
    assert len(axis) >= width - 2


def test_round_ticks_on_both_axes() -> None:
    lines = line_chart(SERIES, width=80).plain.splitlines()
    y_ticks = [int(m.group(1).replace(",", "")) for line in lines if (m := re.match(r"\s*([\d,]+) ┤", line))]
    assert len(y_ticks) >= 4 and y_ticks[-1] == 0
    steps = {a - b for a, b in itertools.pairwise(y_ticks)}
    assert len(steps) == 1  # evenly spaced
    x_labels = re.findall(r"\$[\d,.]+", next(line for line in lines if "$" in line))
    assert len(x_labels) >= 4
    assert x_labels[:3] == ["$2", "$5", "$10"]


def test_large_budgets_do_not_collapse() -> None:
    wide = {k: [(x * 100, y) for x, y in v] for k, v in SERIES.items()}
    lines = line_chart(wide, width=80).plain.splitlines()
    plot = [line for line in lines if "┤" in line or "│" in line]
    used_rows = sum(1 for line in plot if any(m in line for m in MARKERS))
    assert used_rows >= 8
    assert "$1,000" in "\n".join(lines)


def test_legend_items_are_never_broken() -> None:
    text = line_chart(SERIES, width=40, mark_x=50.0, crossings=[48.11]).plain
    for name in SERIES:
        assert any(name in line for line in text.splitlines()), name
    assert any("your budget" in line for line in text.splitlines())


def test_crossings_are_drawn_when_in_range_only() -> None:
    assert CROSSING in line_chart(SERIES, width=80, crossings=[48.11]).plain
    assert CROSSING not in line_chart(SERIES, width=80, crossings=[1e9]).plain


def test_tick_helpers() -> None:
    assert nice_step(154, 4) == 40
    assert log_ticks(2.16, 250) == [5, 10, 20, 50, 100, 200]
    assert log_ticks(1, 1e9) == [10.0**e for e in range(10)]


def _interpolate_by_scan(line: list[tuple[float, float]], x: float) -> float:
    """Reference: walk the segments left to right (what the chart did before bisection)."""
    import math

    if x <= line[0][0]:
        return line[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(line):
        if x <= x1:
            if x1 == x0:
                return y1
            t = (math.log10(x) - math.log10(x0)) / (math.log10(x1) - math.log10(x0))
            return y0 + t * (y1 - y0)
    return line[-1][1]


def test_interpolation_by_bisection_equals_the_segment_walk() -> None:
    """Bit for bit, on sorted polylines with repeated x (a vertical step), at and between points."""
    import numpy as np

    from budget.report.chart import _interpolate

    rng = np.random.default_rng(3)
    for _ in range(300):
        size = int(rng.integers(1, 40))
        xs = np.sort(np.exp(rng.uniform(-5, 8, size)))
        if size > 3:
            xs[rng.integers(1, size)] = xs[rng.integers(0, size - 1)]  # a repeated x
            xs = np.sort(xs)
        line = list(zip(xs.tolist(), rng.uniform(0, 500, size).tolist(), strict=True))
        queries = [*xs.tolist(), *np.exp(rng.uniform(-6, 9, 30)).tolist()]
        for x in queries:
            assert _interpolate(line, x) == _interpolate_by_scan(line, x)
