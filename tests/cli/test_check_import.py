"""`budget import`, `show`, `export`, `runs`, `check`, `fit --db`, then `plan` on the result: the
JSON contracts of issue 12, through the real entry point in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tests.cli.test_fit import HEADER, run_budget


def _counts(path: Path, problems: int = 40, n: int = 20) -> Path:
    rng = np.random.default_rng(11)
    p = rng.beta(0.4, 2.0, size=problems)
    c = rng.binomial(n, p)
    path.write_text(
        HEADER + "".join(f"qwen2.5-coder-0.5b,HumanEval/{i},{n},{int(ci)}\n" for i, ci in enumerate(c))
    )
    return path


def test_import_fit_plan_show_export_check(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    imp = run_budget(
        "import",
        str(_counts(tmp_path / "c.csv")),
        "--format",
        "counts",
        "--task",
        "humaneval",
        "--db",
        db,
        "--json",
    )
    assert imp.returncode == 0, imp.stderr
    doc = json.loads(imp.stdout)
    assert {"schema_version", "run_id", "task", "models"} <= set(doc)
    assert doc["models"] == [{"model": "qwen2.5-coder-0.5b-instruct", "problems": 40, "samples": 800}]
    run_id = doc["run_id"]

    fit = run_budget("fit", "--db", db, "--task", "humaneval", "--models", "qwen2.5-coder-0.5b", "--json")
    assert fit.returncode == 0, fit.stderr
    assert json.loads(fit.stdout)["fits"][0]["status"] == "fitted"

    # the curve reaches plan, under the name the user typed (and beside the published HumanEval figures)
    plan = run_budget("plan", "--dollars", "5", "--task", "humaneval", "--db", db, "--json")
    assert plan.returncode == 0, plan.stderr
    models = {a["model"] for a in json.loads(plan.stdout)["alternatives"]}
    assert "qwen2.5-coder-0.5b-instruct" in models and "gpt-4o" in models

    show = run_budget("show", run_id, "--db", db, "--json")
    assert show.returncode == 0, show.stderr
    shown = json.loads(show.stdout)
    assert {"schema_version", "run_id", "task", "status", "stop_reason", "error", "models"} <= set(shown)
    [m] = shown["models"]
    assert {"model", "problems", "samples", "solved_ground_truth", "solved_verifier", "spent"} <= set(m)
    assert m["samples"] == 800 and m["solved_ground_truth"] is None and m["solved_verifier"] > 0

    out = tmp_path / "samples.jsonl"
    exp = run_budget("export", run_id, "--samples", str(out), "--db", db)
    assert exp.returncode == 0, exp.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 800 and {"task_id", "model", "passed", "verdicts"} <= set(rows[0])

    runs = run_budget("runs", "--db", db, "--json")
    [r] = json.loads(runs.stdout)["runs"]
    assert r["solved_verifier"] == m["solved_verifier"] and r["imported"] is True

    check = run_budget("check", run_id, "--db", db, "--json", "--no-refit")
    assert check.returncode == 0, check.stderr
    c = json.loads(check.stdout)
    assert {"schema_version", "run_id", "task", "policy", "models", "refit"} <= set(c)
    [cm] = c["models"]
    assert {"model", "problems", "samples", "predicted", "verified", "actual_cost", "inside", "z"} <= set(cm)
    assert cm["predicted"] is None and cm["inside"] is None and cm["z"] is None
    assert {"coverage", "stderr", "verifier_tier_coverage"} <= set(cm["verified"])

    every = run_budget("check", "--all", "--db", db, "--json")
    assert every.returncode == 0, every.stderr
    assert {"checks", "inside", "share_inside"} <= set(json.loads(every.stdout)["calibration"])

    text = run_budget("check", run_id, "--db", db, "--no-refit")
    assert "no prediction" in text.stdout


def test_errors_are_one_line(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_id": "a", "model": "m", "passed": true}\n{"task_id": "a"}\n')
    for args, code in (
        (("import", str(bad), "--format", "samples", "--db", db), 3),
        (("import", str(bad), "--format", "nope", "--db", db), 2),
        (("check", "--db", db), 2),
        (("check", "nosuchrun", "--db", db), 6),
        (("show", "nosuchrun", "--db", db), 6),
        (("fit",), 2),
    ):
        out = run_budget(*args)
        assert out.returncode == code, (args, out.stderr)
        assert out.stderr.count("\n") == 1 and out.stderr.startswith("budget: error:"), out.stderr


def test_hostile_names_are_shown_literally_never_as_markup(tmp_path: Path) -> None:
    """Rich markup in a task, a model, a file name is data: shown as typed, never a
    MarkupError traceback, never eaten (``[x]`` vanished from ``Wrote ... to a/.jsonl``)."""
    db = str(tmp_path / "s.db")
    model, task = "[/]<b>m</b>", "[/t]"
    src = tmp_path / "[in].csv"
    src.write_text(HEADER + f"{model},p,3,1\n[bold red]m2,q,4,4\n", encoding="utf-8")
    imp = run_budget("import", str(src), "--format", "counts", "--task", task, "--db", db)
    assert imp.returncode == 0 and "Traceback" not in imp.stderr, imp.stderr
    assert model in imp.stdout and "[in].csv" in imp.stdout and task in imp.stdout
    doc = json.loads(run_budget("runs", "--db", db, "--json").stdout)
    run_id = doc["runs"][0]["run_id"]
    for args in (("show", run_id), ("check", run_id), ("runs",)):
        out = run_budget(*args, "--db", db)
        assert out.returncode == 0 and "Traceback" not in out.stderr, (args, out.stderr)
        if args[0] != "runs":  # runs drops its task column and wraps its models at 80 columns
            assert task in out.stdout and model in out.stdout, (args, out.stdout)
            assert "[bold red]m2" in out.stdout, (args, out.stdout)
    dest = tmp_path / "[x].jsonl"
    exp = run_budget("export", run_id, "--samples", str(dest), "--db", db)
    assert exp.returncode == 0 and str(dest) in " ".join(exp.stdout.split()).replace(" ", ""), exp.stdout


def test_a_model_named_like_markup_reaches_fit_plan_and_report(tmp_path: Path) -> None:
    """A counts file's model ``[/]x[bold]`` through fit --db, plan and the terminal report:
    each crashed with a MarkupError traceback before."""
    db = str(tmp_path / "s.db")
    name = "[/]x[bold]"
    rng = np.random.default_rng(2)
    src = tmp_path / "c.csv"
    src.write_text(
        HEADER + "".join(f"{name},HumanEval/{i},20,{rng.binomial(20, 0.3)}\n" for i in range(40)),
        encoding="utf-8",
    )
    assert (
        run_budget("import", str(src), "--format", "counts", "--task", "humaneval", "--db", db).returncode
        == 0
    )
    for args in (
        ("fit", "--db", db, "--task", "humaneval"),
        ("plan", "--dollars", "5", "--task", "humaneval", "--db", db),
        ("report", "--dollars", "5", "--task", "humaneval", "--db", db),
    ):
        out = run_budget(*args)
        assert out.returncode == 0 and "Traceback" not in out.stderr, (args, out.stderr[-800:])
        assert name in out.stdout, (args, out.stdout)


def test_an_error_naming_a_hostile_path_is_one_printable_line(tmp_path: Path) -> None:
    """The path a user passed is echoed in the error: its escape sequence (here, one that
    would clear the screen) and newline are shown escaped, not sent to the terminal."""
    name = str(tmp_path / "\x1b[2J\nfake: ok.csv")
    out = run_budget("import", name, "--format", "counts", "--db", str(tmp_path / "s.db"))
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and "\x1b" not in out.stderr and "\\x1b[2J" in out.stderr


def test_an_import_without_costs_reads_unknown_never_free(tmp_path: Path) -> None:
    """Review defect (issue 12): `fit --db` showed $/sample $0 and `runs` $0 for counts without costs."""
    db = str(tmp_path / "s.db")
    csv = tmp_path / "c.csv"
    csv.write_text(HEADER + "".join(f"my-unpriced-model,p{i},10,{i % 5}\n" for i in range(40)))
    imp = run_budget("import", str(csv), "--format", "counts", "--task", "mine", "--db", db, "--json")
    assert imp.returncode == 0, imp.stderr
    run_id = json.loads(imp.stdout)["run_id"]

    [r] = json.loads(run_budget("runs", "--db", db, "--json").stdout)["runs"]
    assert r["spent"] is None
    text = run_budget("runs", "--db", db).stdout
    assert "unknown" in text and "$0" not in text

    shown = json.loads(run_budget("show", run_id, "--db", db, "--json").stdout)
    assert shown["spent"] is None and shown["models"][0]["spent"] is None
    assert "$0" not in run_budget("show", run_id, "--db", db).stdout

    fit = run_budget("fit", "--db", db, "--task", "mine", "--json")
    assert fit.returncode == 0, fit.stderr
    [f] = json.loads(fit.stdout)["fits"]
    assert f["status"] == "fitted" and f["cost_per_sample"] is None
    fit_text = run_budget("fit", "--db", db, "--task", "mine").stdout
    assert "$0" not in fit_text and "unknown" in fit_text

    # the planner never treats it as free: one line saying why there is nothing to plan with
    plan = run_budget("plan", "--dollars", "5", "--task", "mine", "--db", db)
    assert plan.returncode != 0 and plan.stderr.count("\n") == 1
    assert "my-unpriced-model" in plan.stderr and "unknown" in plan.stderr
