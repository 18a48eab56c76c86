"""`budget import --format inspect`: real inspect_ai logs made with its mockllm provider (no
network), read with inspect_ai's own log reader.  Skipped when inspect_ai is not installed."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("inspect_ai", reason="inspect_ai is an optional extra: pip install 'budget[inspect]'")

from budget.service.importing import ImportRequest, import_file, read_file
from budget.store import Store

# Warnings are errors (pyproject.toml); these two are inspect_ai's, which it makes when it runs an
# eval (the mock eval that writes a log here), not budget's: it passes tenacity's deprecated
# ``initial`` to wait_exponential_jitter, and leaves anyio memory streams unclosed.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:The 'initial' parameter is deprecated, use 'multiplier' instead:DeprecationWarning"
    ),
    pytest.mark.filterwarnings("ignore:Unclosed <MemoryObject(Send|Receive)Stream:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <function MemoryObject(Send|Receive)Stream.__del__"
        ":pytest.PytestUnraisableExceptionWarning"
    ),
]


def _log(tmp_path: Path, outputs: list[str], epochs: int) -> Path:
    from inspect_ai import Task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput, ModelUsage, get_model
    from inspect_ai.scorer import includes
    from inspect_ai.solver import generate

    def out(text: str) -> ModelOutput:
        o = ModelOutput.from_content("mockllm/model", text)
        o.usage = ModelUsage(input_tokens=5, output_tokens=2, total_tokens=7)  # no tokenizer download
        return o

    model = get_model("mockllm/model", custom_outputs=[out(t) for t in outputs])
    task = Task(
        dataset=[Sample(id="p1", input="a", target="yes"), Sample(id="p2", input="b", target="zzz")],
        solver=generate(),
        scorer=includes(),
        name="toy",
    )
    logs = inspect_eval(
        task, model=model, epochs=epochs, log_dir=str(tmp_path / "logs"), display="none", max_connections=1
    )
    assert logs[0].status == "success", logs[0].error
    return Path(logs[0].location)


def test_repeated_epochs_become_samples_per_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSPECT_LOG_DIR", str(tmp_path / "logs"))
    path = _log(tmp_path, ["yes", "no"] * 6, epochs=3)
    parsed = read_file(ImportRequest(file=path, format="inspect"))
    assert parsed.task == "toy"
    per = {b.problem_id: b for b in parsed.blocks}
    assert set(per) == {"p1", "p2"} and all(b.samples == 3 for b in per.values())
    assert not any(per["p2"].tiers["verifier"])  # "zzz" is never output: never solved
    assert sum(per["p1"].tiers["verifier"]) >= 1
    assert per["p1"].extras is not None and per["p1"].extras[0].prompt_tokens == 5

    db = str(tmp_path / "s.db")
    r = import_file(ImportRequest(file=path, format="inspect", db=db))
    assert r.models[0].model == "mockllm/model" and r.models[0].samples == 6
    with Store(db) as s:
        counts = {c.problem_id: (c.n, c.c) for c in s.problem_counts("toy", run_ids=[r.run_id])}
    assert counts["p2"] == (3, 0) and counts["p1"][0] == 3


def test_not_a_log_is_one_line(tmp_path: Path) -> None:
    from budget.errors import DataError

    p = tmp_path / "x.eval"
    p.write_text("nope", encoding="utf-8")
    with pytest.raises(DataError, match="not an inspect_ai eval log") as info:
        read_file(ImportRequest(file=p, format="inspect"))
    assert "\n" not in str(info.value)
