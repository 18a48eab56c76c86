"""Every import format round-trips into `plan`: import -> fit from the store -> the model is a
candidate of `budget plan` (issue 12, "Done when").  Synthetic populations with known truth:
problem i is solved by each sample with probability p_i ~ Beta(0.5, 1.5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from budget.service.calibration import fit_from_store
from budget.service.importing import ImportRequest, import_file
from budget.service.planning import PlanRequest, make_plan
from budget.service.store_link import user_candidates
from budget.store import Store

PROBLEMS, SAMPLES = 40, 12


def _outcomes(seed: int = 2) -> list[list[bool]]:
    rng = np.random.default_rng(seed)
    p = rng.beta(0.5, 1.5, size=PROBLEMS)
    return [list(map(bool, rng.random(SAMPLES) < pi)) for pi in p]


def _write(fmt: str, path: Path, outcomes: list[list[bool]]) -> Path:
    if fmt == "counts":
        path = path.with_suffix(".csv")
        rows = [f"mymodel,HumanEval/{i},{len(o)},{sum(o)}" for i, o in enumerate(outcomes)]
        path.write_text("model,problem_id,num_samples,num_correct\n" + "\n".join(rows) + "\n")
    elif fmt == "monkey-business":
        path = path.with_suffix(".jsonl")
        path.write_text(
            "".join(json.dumps({"orig_dset_idx": i, "is_corrects": o}) + "\n" for i, o in enumerate(outcomes))
        )
    elif fmt == "evalplus":
        path = path.with_suffix(".json")
        doc = {
            "eval": {
                f"HumanEval/{i}": [
                    {
                        "task_id": f"HumanEval/{i}",
                        "solution": "pass",
                        "base_status": "pass" if ok else "fail",
                        "plus_status": "pass" if ok else "fail",
                    }
                    for ok in o
                ]
                for i, o in enumerate(outcomes)
            }
        }
        path.write_text(json.dumps(doc))
    else:
        path = path.with_suffix(".jsonl")
        path.write_text(
            "".join(
                json.dumps({"task_id": f"HumanEval/{i}", "model": "mymodel", "passed": ok, "sample_index": j})
                + "\n"
                for i, o in enumerate(outcomes)
                for j, ok in enumerate(o)
            )
        )
    return path


@pytest.mark.parametrize("fmt", ["counts", "monkey-business", "evalplus", "samples"])
def test_import_fit_plan(fmt: str, tmp_path: Path) -> None:
    outcomes = _outcomes()
    db = str(tmp_path / "s.db")
    path = _write(fmt, tmp_path / "data", outcomes)
    r = import_file(ImportRequest(file=path, format=fmt, task="humaneval", model="mymodel", db=db))  # type: ignore[arg-type]
    assert r.models[0].samples == PROBLEMS * SAMPLES
    with Store(db) as s:
        counts = s.problem_counts("humaneval", run_ids=[r.run_id])
        assert sorted(c.c for c in counts) == sorted(sum(o) for o in outcomes)
        [fit] = fit_from_store(s, "humaneval", ["mymodel"])
    assert fit.status == "fitted", fit.reason
    truth = float(np.mean([any(o) for o in outcomes]))  # observed coverage at k = 12
    assert fit.curve is not None and abs(float(fit.curve.coverage([SAMPLES])[0]) - truth) < 0.1
    plan = make_plan(PlanRequest.parse("5", task="humaneval"), user_candidates=user_candidates(db))
    # the curve reaches the planner; its samples carry no cost and "mymodel" has no price, so it
    # is left out with the reason (an unknown cost is not $0: review defect of issue 12)
    assert "mymodel" not in {a.model for a in plan.alternatives}
    assert any(w.startswith("mymodel left out") and "unknown" in w for w in plan.warnings), plan.warnings


def test_a_fit_from_10000_samples_per_problem_is_kept() -> None:
    """With k_fit above 1000 the validity probe read the curve out of order ([1, 10000, 1000]) and
    rejected every such fit as "not a valid coverage curve" (imports of Brown et al.'s 10^4
    samples per problem could never reach plan)."""
    from budget.service.calibration import fit_model
    from budget.store import ProblemCounts

    rng = np.random.default_rng(0)
    p = rng.beta(0.3, 3.0, size=100)
    c = rng.binomial(10_000, p)
    counts = [
        ProblemCounts(model="m", task="t", problem_id=str(i), n=10_000, c=int(x)) for i, x in enumerate(c)
    ]
    fit = fit_model("m", "t", counts)
    assert fit.status == "fitted", fit.reason
    assert fit.k_fit == 10_000
