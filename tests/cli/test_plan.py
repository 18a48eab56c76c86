"""The `budget plan` command: its JSON contract, its errors, and what it must not import."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

#: A store path that never exists: a user's own store must not change plan's defaults here.
NO_STORE = str(Path(tempfile.gettempdir()) / "budget-tests-no-store" / "absent.db")


def budget(*args: str, db: str = NO_STORE) -> subprocess.CompletedProcess[str]:
    code = "import sys; from budget.cli import main; sys.argv = ['budget', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin", **_pythonpath(), "BUDGET_DB": db},
    )


def _pythonpath() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "VIRTUAL_ENV")}


def test_plan_json_contract() -> None:
    out = budget("plan", "--dollars", "50", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema_version"] == 1
    assert {"dollars", "task", "problems", "policy"} <= set(doc["inputs"])
    assert doc["inputs"]["task"] == "swe-bench-lite" and doc["inputs"]["dollars"] == 50
    rec = doc["recommendation"]
    for key in (
        "allocations",
        "expected_coverage",
        "expected_coverage_interval",
        "expected_solved",
        "expected_cost",
    ):
        assert key in rec
    assert rec["expected_cost"] <= 50
    lo, hi = rec["expected_coverage_interval"]
    assert 0 <= lo <= rec["expected_coverage"] <= hi <= 1
    for a in rec["allocations"]:
        assert {"model", "samples_per_problem", "policy"} <= set(a)
    models = {a["model"] for a in doc["alternatives"]}
    assert models == {"deepseek-coder-v2-instruct", "gpt-4o", "claude-3-5-sonnet-20240620"}
    for a in doc["alternatives"]:
        assert {
            "model",
            "samples_per_problem",
            "expected_coverage",
            "expected_coverage_interval",
            "expected_cost",
        } <= set(a)


def test_plan_report_has_headline_table_and_chart() -> None:
    out = budget("plan", "--dollars", "50")
    assert out.returncode == 0, out.stderr
    assert "Sample DeepSeek-Coder-V2-Instruct" in out.stdout
    assert "Expected solved against dollars" in out.stdout
    assert "GPT-4o" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dollars", "0"], "must be positive"),
        (["--dollars", "-5"], "must be positive"),
        (["--dollars", "nan"], "finite"),
        (["--dollars", "lots"], "number of dollars"),
        (["--dollars", "50", "--task", "nope"], "unknown task"),
        (["--dollars", "50", "--models", "gpt-5-ultra"], "unknown model"),
        (["--dollars", "0.001"], "buys no sample"),
        (["--dollars", "50", "--problems", "0"], "problems"),
        (["--dollars", "50", "--max-extrapolation", "-1"], "max_extrapolation"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(args: list[str], message: str) -> None:
    out = budget("plan", *args)
    assert out.returncode != 0
    assert message in out.stderr
    assert out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr


def test_plan_does_not_import_litellm_or_vllm() -> None:
    code = (
        "import sys\n"
        "from budget.cli import main\n"
        "sys.argv = ['budget', 'plan', '--dollars', '50', '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('litellm', 'vllm', 'openai', 'sqlalchemy', 'sqlmodel') if m in sys.modules]\n"
        "sys.stderr.write('IMPORTED:' + ','.join(bad))\n"
    )
    env = {**_pythonpath(), "PATH": "/usr/bin:/bin", "BUDGET_DB": NO_STORE}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env)
    assert out.stderr.strip().endswith("IMPORTED:"), out.stderr[-300:]
    assert not Path(NO_STORE).exists()


def test_plan_imports_neither_the_report_use_case_nor_re_pricing() -> None:
    """Issue 11, start-up: ``budget plan`` (terminal and what-if) loads only what it uses; the
    one-minute report's models (service.reporting, ~10 ms) and --price's module are not."""
    code = (
        "import sys\n"
        "from budget.cli import main\n"
        "sys.argv = ['budget', 'plan', '--dollars', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('budget.service.reporting', 'budget.pricing.overrides') if m in sys.modules]\n"
        "sys.stderr.write('IMPORTED:' + ','.join(bad))\n"
    )
    env = {**_pythonpath(), "PATH": "/usr/bin:/bin", "BUDGET_DB": NO_STORE}
    for dollars in ("50", "10,50"):
        out = subprocess.run(
            [sys.executable, "-c", code, dollars], capture_output=True, text=True, check=False, env=env
        )
        assert out.stderr.strip().endswith("IMPORTED:"), out.stderr[-300:]


def _my_store(tmp_path: Path) -> str:
    """A store holding one fitted curve for (my-model, my-task) and its measured samples."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from budget.curves import CoverageCurve
    from budget.store import SampleRecord, Store
    from budget.verify.protocol import Outcome, Verdict

    db = str(tmp_path / "mine.db")
    with Store(db) as s:
        run = s.create_run("my-task", models=["my-model"])
        for i in range(10):
            ok = Verdict(
                passed=i % 2 == 0, outcome=Outcome.PASS if i % 2 == 0 else Outcome.FAIL, duration_s=0
            )
            s.add_sample(
                SampleRecord(
                    run_id=run.run_id,
                    model="my-model",
                    problem_id=f"p{i}",
                    sample_index=0,
                    cost=Decimal("0.01"),
                    verdicts={"verifier": ok},
                )
            )
        curve = CoverageCurve(
            model="my-model", task="my-task", form="power_law", params={"a": -0.7, "b": -0.3}, n_problems=10
        )
        s.save_curve(curve, problems=10, samples=10, correct=5, fitted_at=datetime.now(UTC))
    return db


def test_plan_uses_the_users_store_when_present(tmp_path: Path) -> None:
    db = _my_store(tmp_path)
    out = budget("plan", "--dollars", "1", "--json", db=db)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["inputs"]["task"] == "my-task"
    assert [a["model"] for a in doc["alternatives"]] == ["my-model"]
    assert doc["recommendation"]["expected_cost"] <= 1
    out = budget("plan", "--dollars", "50", "--json", db=db)
    assert json.loads(out.stdout)["recommendation"]["allocations"][0]["samples_per_problem"] >= 1
    out = budget("plan", "--dollars", "50", "--task", "math", "--json", db=db)
    assert json.loads(out.stdout)["inputs"]["task"] == "math"


def test_models_and_pricing_show() -> None:
    out = budget("models", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert {t["id"] for t in doc["tasks"]} >= {"swe-bench-lite", "math"}
    out = budget("pricing", "show", "gpt-4o", "h100-80gb", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["machines"][0]["name"] == "h100-80gb"
    assert all(p["source"] and p["as_of"] for p in doc["token_prices"] + doc["attempt_prices"])
    out = budget("pricing", "show", "no-such-model-xyz")
    assert out.returncode != 0 and "unknown model" in out.stderr


def test_policy_and_hard_cap_options() -> None:
    out = budget(
        "plan",
        "--dollars",
        "20",
        "--task",
        "math",
        "--policy",
        "until-pass",
        "--hard-cap",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["inputs"]["policy"] == "until-pass"
    assert doc["recommendation"]["worst_case_cost"] <= 20


def test_plan_db_option_overrides_budget_db(tmp_path: Path) -> None:
    """``--db`` names the store explicitly; an empty path there means the bundled catalog."""
    db = _my_store(tmp_path)
    missing = tmp_path / "absent.db"
    out = budget("plan", "--dollars", "5", "--json", "--db", str(missing), db=db)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["inputs"]["task"] == "swe-bench-lite"
    assert not missing.exists()
    out = budget("plan", "--dollars", "5", "--json", "--db", db)
    assert json.loads(out.stdout)["inputs"]["task"] == "my-task"


# ------------------------------------------------ issue 11: re-pricing, hard cap, every row honest
def _alt(doc: dict, model: str) -> dict:
    return next(a for a in doc["alternatives"] if a["model"] == model)


def test_price_per_attempt_reprices_the_plan_and_says_it_is_user_given() -> None:
    """Item 9: the mid-2024 table at today's prices; the re-priced row names its source and date."""
    base = json.loads(budget("plan", "--dollars", "50", "--json").stdout)
    out = budget("plan", "--dollars", "50", "--json", "--price", "gpt-4o=0.05")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    gpt = _alt(doc, "gpt-4o")
    assert "user-given" in gpt["cost_model"] and "$0.05" in gpt["cost_model"]
    assert gpt["provenance"]["cost"] == "user-given"
    assert _alt(base, "gpt-4o")["provenance"]["cost"] == "published"
    single = next(x for x in doc["frontier_single_sample"] if x["model"] == "gpt-4o")
    assert single["cost"] == 0.05 * 300
    assert any("re-priced at prices you gave" in a for a in doc["assumptions"])


def test_price_per_token_and_machine_reprice_local_models() -> None:
    """Item 9: MODEL=IN,OUT prices the catalog's stated tokens per sample; --machine moves the
    FLOPs estimate to another machine (cost per sample scales as $/hour / peak TFLOP/s)."""
    out = budget("plan", "--dollars", "50", "--task", "math", "--json", "--price", "pythia-70m=0.1,0.2")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    one = next(x for x in doc["frontier_single_sample"] if x["model"] == "pythia-70m")
    # 1000 prompt tokens x $0.1/M + 256 output x $0.2/M, per problem, 128 problems
    assert one["cost"] == pytest.approx((1000 * 0.1 + 256 * 0.2) / 1e6 * 128)
    assert "user-given" in _alt(doc, "pythia-70m")["cost_model"]
    assert _alt(doc, "pythia-70m")["provenance"]["cost"] == "user-given"
    h100 = json.loads(budget("plan", "--dollars", "50", "--task", "math", "--json").stdout)
    l4 = json.loads(budget("plan", "--dollars", "50", "--task", "math", "--json", "--machine", "l4").stdout)
    c_h = next(x for x in h100["frontier_single_sample"] if x["model"] == "pythia-1b")["cost"]
    c_l = next(x for x in l4["frontier_single_sample"] if x["model"] == "pythia-1b")["cost"]
    assert c_l / c_h == pytest.approx((0.7068 / 121.0) / (2.99 / 989.0), rel=1e-6)
    assert "l4" in _alt(l4, "pythia-1b")["cost_model"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--price", "gpt-4o=2.5,10"), "tokens per sample"),
        (("--price", "no-such-model=1"), "unknown model"),
        (("--price", "gpt-4o=abc"), "must be a number"),
        (("--price", "gpt-4o=-1"), "must not be negative"),
        (("--machine", "no-such-gpu"), "unknown machine"),
    ],
)
def test_bad_prices_are_one_line_errors(args: tuple[str, ...], message: str) -> None:
    out = budget("plan", "--dollars", "50", *args)
    assert out.returncode != 0
    assert message in out.stderr and "Traceback" not in out.stderr


def test_hard_cap_refuses_per_attempt_costs_without_a_stated_bound() -> None:
    """Item 10: on main, --hard-cap took the worst case equal to the average and planned the
    same as without it.  A hard cap needs a stated bound: here none is published."""
    out = budget("plan", "--dollars", "50", "--hard-cap")
    assert out.returncode != 0
    assert "upper bound" in out.stderr and "--worst-multiple" in out.stderr


def test_hard_cap_with_a_user_multiple_plans_on_it_and_says_so() -> None:
    out = budget("plan", "--dollars", "50", "--hard-cap", "--worst-multiple", "3", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    rec = doc["recommendation"]
    assert rec["worst_case_cost"] <= 50
    assert rec["worst_case_cost"] == pytest.approx(3 * rec["expected_cost"])
    default = json.loads(budget("plan", "--dollars", "50", "--json").stdout)["recommendation"]
    assert rec["expected_solved"] < default["expected_solved"]  # the cap costs something now
    assert any("3x the average" in a for a in doc["assumptions"])


def test_every_row_says_where_its_figures_come_from() -> None:
    """'Every row honest': not only the recommended model; a fitted value that misses a
    published point (DeepSeek 16.9% fitted vs 15.9% published at k = 1) is labelled fitted."""
    doc = json.loads(budget("plan", "--dollars", "50", "--json").stdout)
    for row in doc["alternatives"] + doc["frontier_single_sample"]:
        assert row["provenance"]["coverage"] in {"measured", "fitted", "extrapolated", "borrowed"}
        assert row["provenance"]["cost"] in {"measured", "published", "user-given", "estimated"}
    deepseek = next(x for x in doc["frontier_single_sample"] if x["model"] == "deepseek-coder-v2-instruct")
    assert (
        deepseek["provenance"]["coverage"] == "fitted"
        and "15.9%" in deepseek["provenance"]["coverage_detail"]
    )
    gpt = next(x for x in doc["frontier_single_sample"] if x["model"] == "gpt-4o")
    assert gpt["provenance"]["coverage"] == "measured"
    listing = json.loads(budget("models", "--json").stdout)
    rows = {(r["task"], r["model"]): r for r in listing["models"]}
    assert rows[("swe-bench-lite", "deepseek-coder-v2-instruct")]["provenance"]["1"]["coverage"] == "fitted"
    assert rows[("swe-bench-lite", "gpt-4o")]["provenance"]["10"]["coverage"] == "borrowed"
    ds1000 = rows[("swe-bench-lite", "deepseek-coder-v2-instruct")]["provenance"]["1000"]
    assert ds1000["coverage"] == "extrapolated" and ds1000["extrapolation"] == pytest.approx(4.0)
    assert rows[("math", "pythia-1b")]["provenance"]["1"]["cost"] == "estimated"
    table = budget("models", "--task", "swe-bench-lite").stdout
    assert "E4x" in table and " M" in table and " F" in table
