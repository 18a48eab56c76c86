"""Tables that fit the terminal (issue 13, item 1): nothing shown is cut, columns go by priority.

Property: for random rows and widths, every line fits the width, every number shown appears
whole, every name shown appears whole (joined across its folded lines), and dropped columns
are named in the caption.  Also the issue's own example: ``budget models`` at 80 columns.
"""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from budget.report.tables import Column, fitted_table

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=30)
money = st.decimals(min_value=0, max_value=10**7, places=4).map(lambda d: f"${d:,.2f}")


def _render(table: object, width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text()


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(names, money, money, names), min_size=1, max_size=6),
    width=st.integers(min_value=30, max_value=160),
)
def test_nothing_shown_is_cut(rows: list[tuple[str, str, str, str]], width: int) -> None:
    columns = [
        Column("model", "left", wrap=True),
        Column("spent"),
        Column("cap", drop=1),
        Column("source", "left", prose=True, drop=2),
    ]
    table = fitted_table(columns, [list(r) for r in rows], width)
    text = _render(table, width)
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines)
    shown = [c.header for c in table.columns]
    for r in rows:
        assert r[1] in text  # money is never wrapped nor cut
        if "cap" in shown:
            assert r[2] in text
    # A name may fold onto more lines, never lose a character: read the name column back.
    name_width = table.columns[0].width or 0
    start = lines.index(next(line for line in lines if "─" in line)) + 1
    body = lines[start : start + sum(len(r[0]) for r in rows)]
    column = "".join(line[1 : 1 + name_width].strip() for line in body)
    assert column.startswith("".join(r[0] for r in rows))
    for c in columns:
        if c.header not in shown:
            assert c.header in (table.caption or "")


def test_models_at_80_columns_keep_every_number_and_name() -> None:
    from budget.report.listing import render_models
    from budget.service.listing import list_models

    listing = list_models(None)
    console = Console(width=80, record=True, file=io.StringIO())
    render_models(listing, console)
    text = console.export_text()
    assert "…" not in text
    assert all(len(line) <= 80 for line in text.splitlines())
    for r in listing.models:
        assert r.model in text
        assert f"{r.coverage[1000]:.1%}" in text


def test_cells_are_text_not_markup() -> None:
    rows = [["[bold]evil[/bold]\x1b]0;pwned\x07", "$1.00"]]
    table = fitted_table([Column("model", "left", wrap=True), Column("spent")], rows, 80)
    text = _render(table, 80)
    assert "[bold]evil[/bold]" in text and "\x1b" not in text and "\\x1b" in text


@settings(max_examples=200, deadline=None)
@given(name=st.text(alphabet="ab.-/_", min_size=1, max_size=40), width=st.integers(min_value=1, max_value=40))
def test_a_folded_name_loses_nothing_and_breaks_only_after_a_separator(name: str, width: int) -> None:
    from budget.report.tables import fold_name

    lines = fold_name(name, width).split("\n")
    assert "".join(lines) == name
    for line in lines[:-1]:
        assert line.endswith(("-", "/"))
    for line in lines:  # a line is over the width only when it is one part that alone is
        assert len(line) <= width or line.count("-") + line.count("/") <= int(line.endswith(("-", "/")))


def test_verify_at_80_columns_breaks_a_long_model_name_at_its_hyphens() -> None:
    """The shared sample's model (34 characters) beside eight columns: before, rich cut it
    mid-part (``qwen2.5-coder-0`` / ``.5b-instruct-q4`` / ``_k_m``); now it folds after its
    hyphens (no column to drop keeps it whole)."""
    from budget.report.verify import render_verify
    from budget.service.verification import ModelSummary, VerifyReport, VerifySummary

    name = "qwen2.5-coder-0.5b-instruct-q4_k_m"
    fields = dict(
        samples=200, problems=20, min_samples_per_problem=10, passed=128, pass_at_k={1: 0.64, 10: 1.0},
        solved=20, ground_truth_passed=123, ground_truth_pass_at_k={1: 0.615, 10: 1.0},
        accepted_but_wrong=5, false_positive_rate=5 / 128,
    )  # fmt: skip
    models = [ModelSummary(model=name, mode=mode, **fields) for mode in ("completion", "chat")]  # type: ignore[arg-type]
    summary = VerifySummary(samples=400, bad_rows=0, outcomes={"pass": 280}, models=models, errors=[])
    report = VerifyReport(task="humaneval", tier="both", sandbox=True, verdicts=[], summary=summary)
    text = _render_with(render_verify, report, 80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    firsts = [line.split()[0] for line in lines if line.strip().startswith(("qwen", "0.5b", "q4_k_m"))]
    assert firsts == ["qwen2.5-coder-", "0.5b-instruct-", "q4_k_m"] * 2, firsts
    assert "5/128 4%" in text and "61.5%" in text and "not shown" not in text


def _render_with(render: object, result: object, width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    render(result, console)  # type: ignore[operator]
    return console.export_text()
