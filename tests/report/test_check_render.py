"""`budget check` as a lead sees it at 80 columns: each model's verdict is readable whatever the
table's width (the e2e check found "held" squeezed out of an 11-column table)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rich.console import Console

from budget.report.check import render_check
from budget.service.check import CheckResult, ModelCheck, Predicted, Verified


def _result(inside: bool) -> CheckResult:
    model = ModelCheck(
        model="qwen2.5-coder-0.5b-instruct-q4_k_m",
        problems=6,
        samples=18,
        predicted=Predicted(
            coverage=0.8123, interval=(0.0712, 1.0), cost=Decimal("0.00412"), samples=18.0,
        ),
        verified=Verified(coverage=0.8333, stderr=0.1521, tier="ground_truth", verifier_tier_coverage=0.8333),
        actual_cost=Decimal("0.00431"),
        inside=inside,
        z=None if inside else 2.4,
    )
    return CheckResult(run_id="b2e5d90cccc9", task="humaneval", policy="fixed", budget=Decimal("0.006"),
                       status="finished", models=[model])  # fmt: skip


VERDICTS = [
    (True, "held (inside the 90% interval)"),
    (False, "did not hold: outside the 90% interval (z = +2.4)"),
]


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize(("inside", "words"), VERDICTS)
def test_each_models_verdict_reads_whole_at_any_width(width: int, inside: bool, words: str) -> None:
    console = Console(width=width, record=True, force_terminal=False)
    render_check(_result(inside), console)
    text = console.export_text()
    assert f"qwen2.5-coder-0.5b-instruct-q4_k_m: {words}" in " ".join(text.split())
    assert max(len(line) for line in text.splitlines()) <= width
    for cell in ("81.2%", "7.1%-100.0%", "83.3% ± 15.2%", "ground_truth", "$0.00412", "$0.00431"):
        assert cell in text  # every figure whole, not cut to "7.1%…"
