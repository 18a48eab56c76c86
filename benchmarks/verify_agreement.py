"""Agreement of budget's HumanEval verifier with an independent record of the same samples.

Data: ``../shared/data/humaneval-qwen2.5-coder-0.5b-samples.jsonl`` (400 real samples of
Qwen2.5-Coder-0.5B-Instruct, HumanEval/0-19, two modes; see that folder's README).  Its ``passed``
column was computed at collection time by running prompt + completion + the official test in a
plain subprocess (10 s, no sandbox).  budget verifies the same rows through ``verify_samples``
(the ``budget verify`` use case), both tiers, in the sandbox:

- agreement: share of rows where budget's ground-truth verdict equals ``passed``;
- pass@1 per mode, both ways (unbiased estimator, Chen et al. 2021, Eq. 1, with k = 1 = c/n);
- the verifier tier's accepted-but-wrong rate (false positives against the ground truth).

Every disagreement is listed with budget's detail.  Usage::

    python benchmarks/verify_agreement.py [--samples PATH] [--workers N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

DEFAULT = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "humaneval-qwen2.5-coder-0.5b-samples.jsonl"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=DEFAULT)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.samples.is_file():
        print(f"samples file not found: {args.samples}", file=sys.stderr)
        return 2

    from budget.service.verification import VerifyRequest, verify_samples

    rows = [
        json.loads(line) for line in args.samples.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    started = time.perf_counter()
    report = verify_samples(
        VerifyRequest(task="humaneval", samples=args.samples, tier="both", workers=args.workers)
    )
    elapsed = time.perf_counter() - started
    assert len(report.verdicts) == len(rows)

    per_mode: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"rows": 0, "agree": 0, "theirs": 0, "ours": 0, "visible": 0, "accepted_but_wrong": 0}
    )
    disagreements = []
    for row, v in zip(rows, report.verdicts, strict=True):
        gt = v.ground_truth
        assert gt is not None and v.task_id == row["task_id"]
        m = per_mode[row["mode"]]
        m["rows"] += 1
        m["theirs"] += bool(row["passed"])
        m["ours"] += gt.passed
        m["visible"] += v.passed
        m["accepted_but_wrong"] += v.passed and not gt.passed
        if gt.passed == bool(row["passed"]):
            m["agree"] += 1
        else:
            disagreements.append(
                {
                    "line": v.line,
                    "task_id": row["task_id"],
                    "mode": row["mode"],
                    "recorded": bool(row["passed"]),
                    "budget": gt.outcome.value,
                    "detail": gt.detail,
                }
            )
    summary = {
        "samples": len(rows),
        "seconds": round(elapsed, 1),
        "modes": {
            mode: {
                "rows": m["rows"],
                "agreement": m["agree"] / m["rows"],
                "pass_at_1_recorded": m["theirs"] / m["rows"],
                "pass_at_1_budget_ground_truth": m["ours"] / m["rows"],
                "pass_at_1_budget_verifier_tier": m["visible"] / m["rows"],
                "accepted_but_wrong": m["accepted_but_wrong"],
                "false_positive_rate": m["accepted_but_wrong"] / m["visible"] if m["visible"] else None,
            }
            for mode, m in sorted(per_mode.items())
        },
        "disagreements": disagreements,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{len(rows)} samples verified on both tiers in {elapsed:.1f} s (sandboxed)\n")
    print(
        "| mode | rows | agreement | pass@1 recorded | pass@1 budget (ground truth) | "
        "pass@1 budget (verifier tier) | accepted but wrong |"
    )
    print("|---|---|---|---|---|---|---|")
    for mode, s in summary["modes"].items():
        fp = s["false_positive_rate"]
        print(
            f"| {mode} | {s['rows']} | {s['agreement']:.1%} | {s['pass_at_1_recorded']:.3f} | "
            f"{s['pass_at_1_budget_ground_truth']:.3f} | {s['pass_at_1_budget_verifier_tier']:.3f} | "
            f"{s['accepted_but_wrong']} ({fp:.1%} of accepted) |"
        )
    if disagreements:
        print("\nDisagreements:")
        for d in disagreements:
            print(
                f"- line {d['line']} {d['task_id']} ({d['mode']}): recorded "
                f"{'pass' if d['recorded'] else 'fail'}, budget {d['budget']}: {d['detail'][:160]}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
