"""How ``budget check`` shows itself: per model, predicted against verified, and the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from budget.money import fmt_usd
from budget.report.text import markup_safe as _t

if TYPE_CHECKING:
    from budget.service.check import CheckAllResult, CheckResult, ModelCheck, PlanSummary


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def verdict(m: ModelCheck) -> str:
    """``held`` / ``outside (z = ...)`` / ``no prediction``."""
    if m.inside is None:
        return "no prediction"
    if m.inside:
        return "held (inside the 90% interval)"
    z = f"z = {m.z:+.1f}" if m.z is not None else "z undefined"
    return f"did not hold: outside the 90% interval ({z})"


def render_check(result: CheckResult, console: Console) -> None:
    """``budget check RUN_ID``: each model's predicted against verified coverage and cost."""
    budget = f", budget {fmt_usd(result.budget)}" if result.budget is not None else ""
    console.print(
        f"Run [bold]{_t(result.run_id)}[/] on {_t(result.task)} ({result.policy}{budget}), "
        f"{_t(result.status)}"
    )
    # One verdict line and one small table per model: a table with a column per figure (11 of
    # them) squeezed every cell, the verdict included, to a few letters at 80 columns.
    for m in result.models:
        p = m.predicted
        console.print(f"[bold]{_t(m.model)}[/]: {_t(verdict(m))}")
        table = Table(box=None, padding=(0, 1, 0, 2), show_edge=False)
        table.add_column("", no_wrap=True)
        table.add_column("predicted", justify="right", no_wrap=True)
        table.add_column("verified", justify="right", no_wrap=True)
        table.add_row(
            "coverage",
            _pct(p.coverage) if p else "-",
            f"{_pct(m.verified.coverage)} ± {_pct(m.verified.stderr)}",
        )
        table.add_row("  90% interval", f"{_pct(p.interval[0])}-{_pct(p.interval[1])}" if p else "-", "")
        table.add_row("  verified by", "", _t(m.verified.tier))
        table.add_row("verifier-tier coverage", "", _pct(m.verified.verifier_tier_coverage))
        table.add_row("cost", fmt_usd(p.cost) if p and p.cost is not None else "-", fmt_usd(m.actual_cost))
        table.add_row("samples", f"{p.samples:.0f}" if p else "-", str(m.samples))
        table.add_row("problems", "", str(m.problems))
        console.print(table)
    for m in result.models:
        if m.note:
            console.print(f"{_t(m.model)}: {_t(m.note)}")
        elif m.predicted and m.predicted.curve:
            c = m.predicted.curve
            console.print(
                _t(f"{m.model}: predicted from {c.get('form')} {c.get('params')} ({c.get('fitted_on')})")
            )
    if result.refit is not None:
        _render_refit(result, console)


def _plan_line(p: PlanSummary | None) -> str:
    return "-" if p is None else _t(p.headline)


def _render_refit(result: CheckResult, console: Console) -> None:
    r = result.refit
    assert r is not None
    for f in r.fits:
        state = (
            f"refitted (curve {f['curve_id']})" if f["status"] == "fitted" else f"not refitted: {f['reason']}"
        )
        console.print(_t(f"{f['model']}: {state}"))
    if r.before is not None or r.after is not None:
        console.print(f"Recommendation before: {_plan_line(r.before)}")
        console.print(f"Recommendation after:  {_plan_line(r.after)}")
    if r.note:
        console.print(_t(r.note))


def render_check_all(result: CheckAllResult, console: Console) -> None:
    """``budget check --all``: how often the predictions held, over every checked run."""
    cal = result.calibration
    if not cal.checks:
        console.print(
            f"No run in {_t(result.db)} has a prediction to check ({result.no_prediction} without one)."
        )
    else:
        console.print(
            f"{cal.inside} of {cal.checks} predictions inside their 90% interval "
            f"({_pct(cal.share_inside)}; promised 90%)"
        )
        table = Table(title="Per model", title_justify="left")
        for col in ("model", "checks", "inside", "share"):
            table.add_column(col, justify="left" if col == "model" else "right")
        for model, s in cal.per_model.items():
            share = s.get("share_inside")
            table.add_row(
                _t(model),
                str(s["checks"]),
                str(s["inside"]),
                _pct(share if isinstance(share, float) else None),
            )
        console.print(table)
    for task, models in result.drift.items():
        for model, points in models.items():
            if len(points) < 2:
                continue
            first, last = points[0], points[-1]
            console.print(
                f"{_t(model)} on {_t(task)}: {len(points)} curves, coverage@10 "
                f"{_pct(first.coverage['10'])} ({first.fitted_at:%Y-%m-%d}) -> {_pct(last.coverage['10'])} "
                f"({last.fitted_at:%Y-%m-%d})"
            )
