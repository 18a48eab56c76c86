"""``budget report`` (issue 13): the report's content, HTML self-containment, Markdown with PNGs,
and the multi-budget plan table."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from budget.service.reporting import (
    CheckItem,
    CheckSummary,
    ReportRequest,
    VerifierRate,
    assumption_line,
    make_report,
    parse_budgets,
)


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return make_report(ReportRequest(task="swe-bench-lite", dollars=Decimal(50)))


def test_headline_states_the_assumption(report) -> None:  # type: ignore[no-untyped-def]
    assert "if your verifier recognises it" in report.headline
    assert "at least one correct sample" in report.headline
    assert "not measured" in report.assumption


def test_assumption_reports_the_measured_false_positive_rate(report) -> None:  # type: ignore[no-untyped-def]
    rates = [VerifierRate(model="a", accepted=40, wrongly_accepted=3)]
    text = assumption_line(report.plan, rates)
    assert "3 wrong samples of 40" in text and "7.5%" in text


def test_report_has_curves_with_bands_and_dated_prices(report) -> None:  # type: ignore[no-untyped-def]
    assert {c.model for c in report.curves} == {a.model for a in report.plan.alternatives}
    for c in report.curves:
        assert all(p.low <= p.coverage + 1e-9 and p.coverage <= p.high + 1e-9 for p in c.fitted)
        assert c.fitted[0].k == 1 and c.fitted[-1].k == 10_000
    deepseek = next(c for c in report.curves if c.model == "deepseek-coder-v2-instruct")
    assert [(p.k, p.coverage) for p in deepseek.observed] == [(1, 0.159), (5, 0.2962), (250, 0.56)]
    assert all(re.search(r"\d{4}-\d{2}", " ".join(p.sources)) for p in report.prices)


def test_the_crossing_that_matters_at_50_is_shown(report) -> None:  # type: ignore[no-untyped-def]
    from budget.report.brief import render_report

    console = Console(width=80, record=True, file=io.StringIO())
    render_report(report, console)
    text = console.export_text()
    crossing = report.plan.crossings[0]
    assert f"at ${crossing.dollars:,.2f}" in text
    assert "other crossing" not in text and "above the line" not in text
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "Coverage against samples per problem" in text and "░" in text and "◎" in text


def test_check_results_appear_through_the_hook(report) -> None:  # type: ignore[no-untyped-def]
    from budget.report.brief import check_table

    checked = report.model_copy(
        update={"check": CheckSummary(run_id="r1", items=[CheckItem(name="cap held", status="pass")])}
    )
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(check_table(checked))
    assert "cap held" in console.export_text()


def test_one_source_at_a_time() -> None:
    from budget.errors import InputError

    with pytest.raises(InputError):
        make_report(ReportRequest())
    with pytest.raises(InputError):
        make_report(ReportRequest(run_id="x", task="math", dollars=Decimal(1)))


def test_budgets_parse() -> None:
    from budget.errors import InputError

    assert parse_budgets("10, 50,500,50") == [Decimal(10), Decimal(50), Decimal(500)]
    for bad in ("", "10,-1", "nan", "10,abc"):
        with pytest.raises(InputError):
            parse_budgets(bad)


# --- exports -----------------------------------------------------------------------------------

matplotlib = pytest.importorskip("matplotlib", reason="charts need the budget[report] extra")


def test_html_is_self_contained(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from budget.report.export import write_html

    hostile = report.model_copy(update={"title": "<script>alert(1)</script> & co"})
    path = write_html(hostile, tmp_path / "r.html")
    page = path.read_text(encoding="utf-8")
    assert "<script" not in page.lower()  # the hostile title is escaped, and there is no script
    assert "&lt;script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "no network fetch"
    assert "@import" not in page
    assert set(re.findall(r"url\((.)", page)) <= {"#"}, "url() only to ids in the page"
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "ids unique across the inline SVGs"
    assert page.count("<svg") == 2 and 'id="chart-frontier"' in page and 'id="chart-coverage"' in page
    assert report.headline.split(":")[0] in page
    assert 'name="viewport"' in page and "@media print" in page


def test_html_default_location_is_a_directory(report, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from budget.report.export import write_html

    monkeypatch.chdir(tmp_path)
    path = write_html(report, Path("reports/"))
    assert path == Path("reports/swe-bench-lite-50usd.html") and path.is_file()


def test_markdown_has_its_pngs(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from budget.report.export import write_markdown

    md, pngs = write_markdown(report, tmp_path / "out" / "r.md")
    text = md.read_text(encoding="utf-8")
    assert len(pngs) == 2
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.parent == md.parent
        assert f"]({png.name})" in text
    assert report.headline in text.replace("\\", "")  # the headline, its $ escaped (not math)
    assert "\\$50.00" in text
    assert "| model |" in text


def test_markdown_escapes_text_from_data(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from budget.report.export import write_markdown

    alts = [a.model_copy(update={"display": "evil | *model* $x$"}) for a in report.plan.alternatives]
    hostile = report.model_copy(update={"plan": report.plan.model_copy(update={"alternatives": alts})})
    md, _pngs = write_markdown(hostile, tmp_path / "h.md")
    rows = [line for line in md.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    header_cells = rows[0].count(" | ")
    for row in rows[1 : len(alts) + 1]:
        assert row.replace("\\|", "").count(" | ") == header_cells, row
        assert "\\*model\\*" in row and "\\$x\\$" in row


def test_same_figures_in_both_exports(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from budget.report.export import write_html, write_markdown

    page = write_html(report, tmp_path / "r.html").read_text(encoding="utf-8")
    _md, pngs = write_markdown(report, tmp_path / "r.md")
    assert {p.stem.rsplit("-", 1)[1] for p in pngs} == set(re.findall(r'id="chart-(\w+)"', page))


def test_a_run_report_asks_the_check_provider(tmp_path: Path) -> None:
    from budget.errors import DataError
    from budget.service import reporting
    from budget.store.database import Store

    db = tmp_path / "c.db"
    with Store(str(db)) as store:
        run = store.create_run("swe-bench-lite", models=["gpt-4o"], cap=Decimal(2))
    asked: list[tuple[str, str | None]] = []

    def provider(run_id: str, where: str | None) -> CheckSummary:
        asked.append((run_id, where))
        return CheckSummary(run_id=run_id, items=[CheckItem(name="gpt-4o: coverage", status="fail")])

    previous = reporting.register_check(provider)
    try:
        got = make_report(ReportRequest(run_id=run.run_id, db=str(db)))
        assert asked == [(run.run_id, str(db))] and got.check is not None and got.check_note == ""

        def broken(run_id: str, where: str | None) -> CheckSummary:
            raise DataError("no prediction stored for this run")

        reporting.register_check(broken)
        got = make_report(ReportRequest(run_id=run.run_id, db=str(db)))
        assert got.check is None and "no prediction stored" in got.check_note
    finally:
        reporting.register_check(previous)
