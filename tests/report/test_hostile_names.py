"""Reports whose models and problems are named by a hostile file (review of issues 12 and 13):
HTML escapes them everywhere (tables, captions, the inline SVG charts), no script runs in
Chromium (a ``<script>`` that would retitle the page), the CSP stays; Markdown shows them
literally; the charts neither crash on a ``$`` (matplotlib's mathtext) nor drop a name that
starts with ``_`` from their legend."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="charts need the budget[report] extra")

NAMES = [
    '<script>document.title="pwned"</script>',
    '</svg><script>document.title="pwned2"</script>',
    '"><img src=x onerror="document.title=\'pwned3\'">',
    "_hidden a$x^$b $\\frac$",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from budget.service.calibration import fit_from_store
    from budget.service.importing import ImportRequest, import_file
    from budget.service.reporting import ReportRequest, make_report
    from budget.service.store_link import user_candidates
    from budget.store import Store

    d = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(3)
    # samples with their costs: a model whose cost is unknown is left out of the plan (and its
    # frontier), and these names must reach every chart
    src = d / "samples.jsonl"
    rows = []
    for name in NAMES:
        for i in range(30):
            correct = rng.binomial(20, rng.beta(0.5, 2.0))
            rows += [
                json.dumps({"task_id": f"<b>p{i}</b>", "model": name, "passed": j < correct, "cost": 0.0004})
                for j in range(20)
            ]
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    db = str(d / "s.db")
    import_file(ImportRequest(file=src, format="samples", task="humaneval", db=db))
    with Store(db) as store:
        fit_from_store(store, "humaneval")
    request = ReportRequest(task="humaneval", dollars=Decimal(5), db=db)
    return make_report(request, user_candidates=user_candidates(db)), d


def _svg_texts(html_text: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", html_text)


def test_html_escapes_every_hostile_name_and_charts_keep_them(report) -> None:  # type: ignore[no-untyped-def]
    from budget.report.export import CSP, write_html

    rep, d = report
    page = write_html(rep, d / "r.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<img" not in page
    assert re.search(r"<[^>]*\son\w+\s*=", page) is None  # no event-handler attribute on any element
    assert page.count("<svg") == 2 and page.count("</svg>") == 2
    assert f'content="{CSP}"' in page
    legend = " ".join(_svg_texts(page))
    for name in NAMES:  # every model is in the chart legends, as typed (escaped)
        assert name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in legend, name


def test_markdown_shows_hostile_names_literally(report) -> None:  # type: ignore[no-untyped-def]
    from budget.report.export import write_markdown

    rep, d = report
    md, pngs = write_markdown(rep, d / "r.md")
    text = md.read_text(encoding="utf-8")
    assert re.search(r"(?<!\\)<", text) is None  # every '<' escaped: no raw HTML in the Markdown
    assert r"\_hidden a\$x^\$b" in text
    assert len(pngs) == 2 and all(p.stat().st_size > 1000 for p in pngs)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (scripts/setup-chromium.sh)")
def test_no_script_runs_in_chromium(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from budget.report.export import write_html

    rep, d = report
    path = write_html(rep, d / "c.html")
    out = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--proxy-server=127.0.0.1:9",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=2000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    title = re.search(r"<title>([^<]*)</title>", out.stdout)
    assert title is not None and "pwned" not in title.group(1) and title.group(1) == rep.title
    assert "<script" not in out.stdout and "<img" not in out.stdout


def test_fit_table_shows_hostile_names_literally(tmp_path: Path) -> None:
    """``budget fit FILE`` on a counts file whose model is ``[/]...``: a MarkupError traceback
    before; ``[l]`` in a name was eaten as a style."""
    import io

    from rich.console import Console

    from budget.report.fit import render_fit
    from budget.service.fitting import FitRequest, fit_file

    rng = np.random.default_rng(4)
    src = tmp_path / "c.csv"
    name = "[/][l](javascript:x)"
    rows = [f"{name},p{i},20,{rng.binomial(20, rng.beta(0.5, 2.0))}" for i in range(30)]
    src.write_text("model,problem_id,num_samples,num_correct\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out = io.StringIO()
    render_fit(fit_file(FitRequest(counts=src, task="[t]")), Console(file=out, width=200))
    assert f"{name} on [t]" in out.getvalue()
