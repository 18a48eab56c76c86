"""Non-TTY progress (issue 13, item 5): in CI logs a run prints a plain line every few seconds
and one at the end; on a terminal it draws a bar and prints no log lines.  Time is driven by
an injected clock: nothing here waits."""

from __future__ import annotations

import io

from rich.console import Console

from budget.executor.runner import Progress
from budget.report.run import RunProgress


def _p(samples: int) -> Progress:
    return Progress(
        cap_micro=10_000_000, spent_micro=samples * 1000, samples=samples, planned=100, solved=samples // 3,
        problems=50, started=0.0, in_flight=1,
    )  # fmt: skip


def test_a_line_every_interval_in_logs_and_one_at_the_end() -> None:
    out = io.StringIO()
    now = [0.0]
    progress = RunProgress(Console(file=out, force_terminal=False), log_interval_s=5.0, clock=lambda: now[0])
    with progress:
        for i in range(1, 41):  # 40 updates, half a second apart: 20 seconds
            now[0] = i * 0.5
            progress(_p(i))
    lines = out.getvalue().splitlines()
    assert all(line.startswith("run: $") for line in lines)
    # every 5 s from the first update (0.5 s): at 5.5, 10.5, 15.5; then the last (20 s) at the end
    assert len(lines) == 4, lines
    assert "40/100 samples" in lines[-1]


def test_a_short_run_prints_no_progress_lines() -> None:
    out = io.StringIO()
    now = [0.0]
    progress = RunProgress(Console(file=out, force_terminal=False), log_interval_s=5.0, clock=lambda: now[0])
    with progress:
        for i in range(1, 9):  # 4 seconds
            now[0] = i * 0.5
            progress(_p(i))
    assert out.getvalue() == ""


def test_no_log_lines_on_a_terminal() -> None:
    out = io.StringIO()
    progress = RunProgress(Console(file=out, force_terminal=True, width=80), clock=lambda: 1.0)
    with progress:
        progress(_p(3))
    assert "run: $" not in out.getvalue()
