"""Where each figure of a plan comes from: measured, fitted, extrapolated or borrowed.

Pure: no I/O.  A coverage figure at ``k`` is

- **measured** when ``k`` is a published point (or a point of the user's data) and the curve
  reproduces it to within half a tenth of a point (0.0005);
- **fitted** when it comes from a curve fitted to data reaching ``k`` -- including a published
  point the fitted curve misses (e.g. DeepSeek on SWE-bench Lite: 16.9% fitted against 15.9%
  published at k = 1), which is then labelled fitted, with the published value beside it;
- **extrapolated** past the largest measured ``k`` (how far: ``k / max_observed_k``);
- **borrowed** when the curve's shape at ``k`` comes from other models (a single published
  point at k = 1 and an exponent borrowed from the task's other models).

A cost figure is **measured** (the user's own samples), **published** (a dated table or
paper), **user-given** (``--price``/``--machine``) or **estimated** (the FLOPs estimate of a
local machine).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from budget.curves import CoverageCurve
from budget.pricing import SampleCost

#: Distance (in coverage) within which a curve "reproduces" a published point.
MEASURED_TOL = 0.0005

CoverageBasis = Literal["measured", "fitted", "extrapolated", "borrowed"]
CostBasis = Literal["measured", "published", "user-given", "estimated"]


class Provenance(BaseModel):
    """The basis of one coverage figure and of the cost per sample behind it."""

    k: int
    coverage: CoverageBasis
    coverage_detail: str
    extrapolation: float = 0.0
    cost: CostBasis
    cost_detail: str


def coverage_basis(
    curve: CoverageCurve, k: int, published: dict[int, float] | None = None
) -> tuple[CoverageBasis, str, float]:
    """(basis, detail, how far past the data) of the coverage figure at ``k``."""
    value = float(curve.coverage([k])[0])
    pts = published or {}
    if k in pts:
        if abs(value - pts[k]) <= MEASURED_TOL:
            return "measured", f"published {pts[k]:.1%} at k={k}", 0.0
        return "fitted", f"fitted {value:.1%}; the published value at k={k} is {pts[k]:.1%}", 0.0
    far = curve.extrapolation(k)
    borrowed = next((n for n in curve.notes if "borrowed" in n), None)
    if borrowed and (not pts or k > max(pts)):
        return "borrowed", borrowed, far
    if far > 1:
        return "extrapolated", f"{far:.1f}x past the largest measured k ({curve.max_observed_k:,})", far
    where = f" (data reach k={curve.max_observed_k:,})" if curve.max_observed_k else ""
    return "fitted", f"{curve.source or 'fitted curve'}{where}", far


def cost_basis(cost: SampleCost) -> tuple[CostBasis, str]:
    """(basis, detail) of a cost per sample."""
    sources = "; ".join(cost.sources)
    if any(s.startswith("user-given") for s in cost.sources):
        return "user-given", sources
    if any("your runs" in s for s in cost.sources) or cost.formula.startswith("measured"):
        return "measured", sources or cost.formula
    if cost.kind == "local_machine" and "FLOPs estimate" in cost.formula:
        return "estimated", f"{cost.formula} ({sources})"
    return "published", sources or cost.formula


def provenance(
    curve: CoverageCurve, cost: SampleCost, k: int, published: dict[int, float] | None
) -> Provenance:
    """Where a plan's figures for a model come from: coverage at ``k`` and cost, each with its basis."""
    basis, detail, far = coverage_basis(curve, k, published)
    cbasis, cdetail = cost_basis(cost)
    return Provenance(
        k=k, coverage=basis, coverage_detail=detail, extrapolation=far, cost=cbasis, cost_detail=cdetail
    )
