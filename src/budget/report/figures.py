"""The report's two figures, drawn once with matplotlib for both exports.

Coverage against samples per problem, and expected solved against dollars; SVG inline in HTML,
PNG beside Markdown.

matplotlib is an optional extra (``pip install 'budget[report]'``); it is imported only here,
with the non-interactive Agg backend, and its absence is one line for the user.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from budget.errors import InputError
from budget.money import fmt_usd
from budget.report.plan import frontier_series
from budget.service.reporting import Report

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
MARKERS = "os^Dv<>p"


def _pyplot() -> None:
    try:
        import matplotlib
    except ImportError as exc:
        raise InputError("charts need matplotlib: pip install 'budget[report]'") from exc
    matplotlib.use("Agg", force=True)
    matplotlib.rcParams.update(
        {
            "svg.fonttype": "none",  # text stays text in the SVG: searchable, small, selectable
            # names are data: "a$x^$b" is not mathtext (it raised ValueError at savefig)
            "text.parse_math": False,
            "svg.hashsalt": "budget",  # stable ids: the same report gives the same file
            "font.family": "sans-serif",
            "font.size": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
        }
    )


def _legend(ax: Axes, entries: list[tuple[Line2D, str]]) -> None:
    """The legend from explicit (line, model name) pairs: through ``label=``, matplotlib would
    leave out every model whose name starts with ``_`` (its mark for "no legend entry").
    """
    ax.legend(
        [line for line, _ in entries],
        [name for _, name in entries],
        loc="upper left",
        fontsize=9,
        frameon=False,
    )


def _money(x: float, _pos: object = None) -> str:
    return (
        fmt_usd(x, digits=2) if x < 1 else f"${x:,.0f}" if x >= 10 or float(x).is_integer() else f"${x:,.1f}"
    )


def coverage_figure(report: Report) -> Figure:
    """Coverage (share of problems with a correct sample) against k, log k; band = interval."""
    _pyplot()
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, PercentFormatter

    fig = Figure(figsize=(7.2, 4.2), layout="constrained")
    ax = fig.add_subplot()
    level = report.plan.inputs.level if report.plan is not None else 0.9
    entries: list[tuple[Line2D, str]] = []  # (line, model): see _legend
    for i, c in enumerate(report.curves):
        colour = COLOURS[i % len(COLOURS)]
        ks = [p.k for p in c.fitted]
        (line,) = ax.plot(ks, [p.coverage for p in c.fitted], color=colour, lw=2)
        entries.append((line, c.display))
        ax.fill_between(
            ks, [p.low for p in c.fitted], [p.high for p in c.fitted], color=colour, alpha=0.15, lw=0
        )
        if c.observed:
            ax.scatter(
                [p.k for p in c.observed],
                [p.coverage for p in c.observed],
                color=colour,
                marker=MARKERS[i % len(MARKERS)],
                s=36,
                zorder=3,
                edgecolor="white",
            )
        if c.max_observed_k:
            ax.axvline(c.max_observed_k, color=colour, ls=":", lw=1, alpha=0.6)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{x:,.0f}"))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(0, 1)
    ax.set_xlabel("samples per problem, k (log scale)")
    ax.set_ylabel("coverage: problems with a correct sample")
    ax.set_title(
        f"Coverage against samples ({level:.0%} band; points: published or measured; "
        "dotted: largest k measured)",
        fontsize=9,
        loc="left",
    )
    _legend(ax, entries)
    return fig


def frontier_figure(report: Report) -> Figure:
    """Expected problems solved against dollars per model, the budget, and every crossing."""
    _pyplot()
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator

    plan = report.plan
    if plan is None:
        raise ValueError("a frontier needs a plan")
    fig = Figure(figsize=(7.2, 4.2), layout="constrained")
    ax = fig.add_subplot()
    entries: list[tuple[Line2D, str]] = []
    for i, (name, pts) in enumerate(frontier_series(plan).items()):
        (line,) = ax.plot([x for x, _ in pts], [y for _, y in pts], color=COLOURS[i % len(COLOURS)], lw=2)
        entries.append((line, name))
    budget = float(plan.inputs.dollars)
    ax.axvline(budget, color="black", ls="--", lw=1)
    ax.annotate(
        f"your budget {fmt_usd(plan.inputs.dollars)}",
        (budget, 0),
        xytext=(4, 4),
        textcoords="offset points",
        fontsize=8,
    )
    for c in plan.crossings:
        ax.axvline(c.dollars, color="grey", ls=":", lw=1)
        ax.annotate(
            f"{fmt_usd(c.dollars)}",
            (c.dollars, 1),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            fontsize=8,
            color="dimgrey",
        )
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(_money))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("dollars (log scale)")
    ax.set_ylabel(f"expected {plan.inputs.unit} solved")
    ax.set_title(
        f"Expected {plan.inputs.unit} solved against dollars "
        f"(of {plan.inputs.problems:,}; dotted: lines cross)",
        fontsize=9,
        loc="left",
    )
    _legend(ax, entries)
    return fig


def figures(report: Report) -> dict[str, Figure]:
    """The report's figures by short name (used for file names and anchors)."""
    out: dict[str, Figure] = {}
    if report.plan is not None:
        out["frontier"] = frontier_figure(report)
    if report.curves:
        out["coverage"] = coverage_figure(report)
    return out


def to_svg(fig: Figure, prefix: str) -> str:
    """The figure as an ``<svg>`` element to inline in HTML, its ids prefixed with ``prefix``.

    Two inline SVGs in one page must not share ids: clip paths refer to them.
    """
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and doctype: inline in HTML
    text = re.sub(r'\bid="', f'id="{prefix}-', text)
    text = text.replace("url(#", f"url(#{prefix}-")
    return re.sub(r'href="#', f'href="#{prefix}-', text)


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (for Markdown exports), without a timestamp."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, metadata={"Software": None})
    return buf.getvalue()
