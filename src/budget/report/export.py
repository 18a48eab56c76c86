"""Exports a lead can forward: one self-contained HTML file, or Markdown with PNGs beside it.

The HTML has its charts inline as SVG and its style inline: no network fetch, no script, no
font from a CDN (a test renders it in headless Chromium with the network off).  It reflows
on a phone (the SVGs scale to the width, tables scroll sideways inside their own box) and
prints (no dark background, charts kept whole on a page).  Every text that comes from data
(model names, run ids, sources) is escaped.  The Markdown export writes the same figures as
PNG files next to the ``.md`` file and links them by relative path.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

from budget.money import UNKNOWN_COST_NOTE, fmt_usd
from budget.planner import PlanResult, Policy
from budget.report.plan import crossing_lines
from budget.service.reporting import Report

DEFAULT_DIR = Path("reports")
#: The page may load nothing: no script, no fetch, no font; only its own inline style.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
FIGURE_TITLES = {"frontier": "Expected solved against dollars", "coverage": "Coverage against samples"}

_CSS = """
:root { color-scheme: light; }
body { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #1b1f24; background: #fff; margin: 0 auto; max-width: 60rem; padding: 1rem; }
h1 { font-size: 1.35rem; margin: 0.2rem 0 0.6rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 0.4rem; border-bottom: 1px solid #d0d7de; }
.headline { font-size: 1.15rem; font-weight: 600; background: #eef6ee; border-left: 4px solid #2da44e;
            padding: 0.6rem 0.8rem; margin: 0.4rem 0; }
.assumption { background: #fff8e5; border-left: 4px solid #d4a72c; padding: 0.4rem 0.8rem; }
.meta, .note { color: #57606a; font-size: 0.9rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.92rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #e4e8ec; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.best td { font-weight: 600; color: #116329; }
tr.single td { color: #57606a; }
figure { margin: 0.6rem 0; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { color: #57606a; font-size: 0.88rem; }
.pass { color: #116329; } .fail { color: #cf222e; font-weight: 600; } .warn { color: #9a6700; }
@media (max-width: 40rem) { body { font-size: 15px; padding: 0.6rem; } th, td { padding: 0.2rem 0.35rem; } }
@media print { body { max-width: none; } .scroll { overflow: visible; } figure, table { break-inside: avoid; }
               h2 { break-after: avoid; } }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _k(plan: PlanResult, groups: Sequence[tuple[int, int]]) -> str:
    if not groups:
        return "-"
    ks = sorted({k for k, _ in groups})
    covered = sum(m for _, m in groups)
    if plan.inputs.policy is Policy.UNTIL_PASS:
        txt = f"≤{ks[-1]:,}"
    else:
        txt = f"{ks[0]:,}" if len(ks) == 1 else f"{ks[0]:,}-{ks[-1]:,}"
    return txt if covered == plan.inputs.problems else f"{txt} ({covered:,}/{plan.inputs.problems:,})"


def comparison_rows(plan: PlanResult) -> list[tuple[str, list[str]]]:
    """(row class, cells) of the comparison table, shared by HTML and Markdown."""
    best = {a.model for a in plan.recommendation.allocations}
    rows: list[tuple[str, list[str]]] = []
    for alt in sorted(plan.alternatives, key=lambda a: -a.expected_solved):
        groups = [(a.samples_per_problem, a.problems) for a in alt.allocations]
        rows.append(
            (
                "best" if best == {alt.model} else "",
                [
                    alt.display,
                    _k(plan, groups),
                    f"{alt.expected_solved:,.1f}",
                    f"{alt.solved_interval[0]:,.0f}-{alt.solved_interval[1]:,.0f}",
                    fmt_usd(alt.expected_cost),
                    fmt_usd(alt.dollars_per_solved) if alt.dollars_per_solved is not None else "-",
                ],
            )
        )
    for one in sorted(plan.frontier_single_sample, key=lambda x: -x.expected_solved):
        per = fmt_usd(float(one.cost) / one.expected_solved) if one.expected_solved > 0 else "-"
        cost = fmt_usd(one.cost) + ("" if one.within_budget else " (over budget)")
        rows.append(
            ("single", [f"{one.display}, one sample", "1", f"{one.expected_solved:,.1f}", "", cost, per])
        )
    return rows


HEADERS = ["model", "samples/problem", "solved", "90%", "cost", "$/solved"]
NUMERIC = [False, True, True, True, True, True]


def _html_table(
    headers: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]], numeric: Sequence[bool]
) -> str:
    head = "".join(
        f"<th{' class=num' if n else ''}>{_e(h)}</th>" for h, n in zip(headers, numeric, strict=True)
    )
    body = "".join(
        f'<tr class="{_e(cls)}">'
        + "".join(f"<td{' class=num' if n else ''}>{_e(c)}</td>" for c, n in zip(cells, numeric, strict=True))
        + "</tr>"
        for cls, cells in rows
    )
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _sections(report: Report) -> list[tuple[str, list[str], list[tuple[str, list[str]]], list[bool]]]:
    """The report's tables as (title, headers, rows, numeric columns)."""
    plan = report.plan
    out = []
    if plan is not None:
        out.append(("Each model alone, then one sample per problem", HEADERS, comparison_rows(plan), NUMERIC))
    if report.check is not None:
        out.append(
            (
                "Check",
                ["check", "result", "detail"],
                [(i.status, [i.name, i.status, i.detail]) for i in report.check.items],
                [False, False, False],
            )
        )
    if report.verifier:
        out.append(
            (
                "Verifier against the ground truth (false positives)",
                ["model", "accepted", "wrongly accepted", "rate"],
                [
                    ("", [v.model, f"{v.accepted:,}", f"{v.wrongly_accepted:,}", f"{v.rate:.1%}"])
                    for v in report.verifier
                ],
                [False, True, True, True],
            )
        )
    out.append(
        (
            "Prices behind the costs",
            ["model", "$/sample", "cost model", "source and date"],
            [
                ("", [p.display, fmt_usd(p.cost_per_sample), p.formula, "; ".join(p.sources)])
                for p in report.prices
            ],
            [False, True, False, False],
        )
    )
    return out


def _facts(report: Report) -> str:
    text = ""
    if report.plan is not None:
        s = report.plan.inputs
        text = f"{fmt_usd(s.dollars)} on {s.task}: {s.problems:,} {s.unit}, policy {s.policy.value}" + (
            ", hard cap. " if s.hard_cap else ". "
        )
    text += f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC by budget."
    if report.run is not None:
        r = report.run
        cap = f" of {fmt_usd(r.cap)}" if r.cap is not None else ""
        text += f" Run {r.run_id}: {r.status}, {r.samples:,} samples, spent {fmt_usd(r.spent)}{cap}."
    return text


def _captions(report: Report) -> dict[str, str]:
    crossings = crossing_lines(report.plan) if report.plan is not None else []
    return {
        "frontier": "Expected problems solved against dollars per model; dashed: your budget. "
        + ("Crossings: " + "; ".join(crossings) + "." if crossings else "No lines cross in this range."),
        "coverage": "Coverage (share of problems with at least one correct sample) against samples per "
        "problem, with the interval band of each fit and the measured or published points.",
    }


def write_html(report: Report, path: Path) -> Path:
    """Write the report as one self-contained HTML file."""
    from budget.report.figures import figures, to_svg

    figs = figures(report)
    captions = _captions(report)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>{_e(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(report.title)}</h1>",
        f'<p class="headline" id="headline">{_e(report.headline)}</p>',
        f'<p class="assumption" id="assumption">{_e(report.assumption)}</p>',
        f'<p class="meta">{_e(_facts(report))}</p>',
    ]
    sections = _sections(report)
    if report.plan is not None:
        title, headers, rows, numeric = sections.pop(0)
        parts += [f"<h2>{_e(title)}</h2>", _html_table(headers, rows, numeric)]
    for name, fig in figs.items():
        parts += [
            f"<h2>{FIGURE_TITLES[name]}</h2>",
            f'<figure id="chart-{name}">{to_svg(fig, name)}'
            f"<figcaption>{_e(captions[name])}</figcaption></figure>",
        ]
    if report.check is None and report.check_note:
        parts.append(f'<h2>Check</h2><p class="note">{_e(report.check_note)}</p>')
    for title, headers, rows, numeric in sections:
        parts += [f"<h2>{_e(title)}</h2>", _html_table(headers, rows, numeric)]
    parts.append("<h2>What is assumed</h2><ul>")
    parts += [f"<li>{_e(w)}</li>" for w in _assumed(report)]
    parts.append("</ul></body></html>")
    path = _target(path, report, ".html")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


#: Characters Markdown (CommonMark, GitHub) would read as markup or math in report text.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#$|~])")


def _md(text: str) -> str:
    """Report text as literal Markdown: markup characters escaped (``$`` would start math)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _md_cell(text: str) -> str:
    return _md(text)


def _md_table(
    headers: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]], numeric: Sequence[bool]
) -> str:
    lines = ["| " + " | ".join(_md_cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    for cls, cells in rows:
        shown = [f"**{_md_cell(c)}**" if cls == "best" and c else _md_cell(c) for c in cells]
        lines.append("| " + " | ".join(shown) + " |")
    return "\n".join(lines)


def write_markdown(report: Report, path: Path) -> tuple[Path, list[Path]]:
    """Write the report as Markdown with its charts as PNG files beside it."""
    from budget.report.figures import figures, to_png

    path = _target(path, report, ".md")
    captions = _captions(report)
    pngs = []
    images = {}
    for name, fig in figures(report).items():
        png = path.with_name(f"{path.stem}-{name}.png")
        png.write_bytes(to_png(fig))
        pngs.append(png)
        images[name] = f"![{_md(captions[name])}]({png.name})"
    sections = _sections(report)
    first = (
        [f"## {sections[0][0]}", "", _md_table(*sections.pop(0)[1:]), ""] if report.plan is not None else []
    )
    out = [
        f"# {_md(report.title)}",
        "",
        f"**{_md(report.headline)}**",
        "",
        f"> {_md(report.assumption)}",
        "",
        _md(_facts(report)),
        "",
        *first,
    ]
    for name, image in images.items():
        out += [f"## {FIGURE_TITLES[name]}", "", image, ""]
    if report.check is None and report.check_note:
        out += ["## Check", "", _md(report.check_note), ""]
    for title, headers, rows, numeric in sections:
        out += [f"## {title}", "", _md_table(headers, rows, numeric), ""]
    out += ["## What is assumed", ""]
    out += [f"- {_md(w)}" for w in _assumed(report)]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path, pngs


def _assumed(report: Report) -> list[str]:
    """The plan's warnings and assumptions, and a note where a cost shown is unknown."""
    plan = report.plan
    notes = [*plan.warnings, *plan.assumptions] if plan is not None else []
    if any(p.cost_per_sample is None for p in report.prices):
        notes.append(f"$/sample {UNKNOWN_COST_NOTE}")
    return list(dict.fromkeys(notes))


def default_name(report: Report) -> str:
    """``run-<id>`` or ``<task>-<dollars>`` in safe characters."""
    if report.run is not None or report.plan is None:
        stem = f"run-{report.run.run_id}" if report.run is not None else "report"
    else:
        stem = f"{report.plan.inputs.task}-{report.plan.inputs.dollars:f}usd"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "report"


def _target(path: Path | None, report: Report, suffix: str) -> Path:
    """A directory (existing, or written with a trailing slash) gets the default file name."""
    if path is None:
        path = DEFAULT_DIR
    if path.is_dir() or str(path).endswith(("/", "\\")) or not path.suffix:
        path = path / (default_name(report) + suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
