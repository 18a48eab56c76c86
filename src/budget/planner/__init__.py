"""The planner: how many samples from which model maximise expected problems solved.

Pure: no I/O.  Inputs are candidates (a coverage curve and a cost per sample for each
model), a budget, a number of problems and a sampling policy.

**Problem.**  Give each of ``N`` problems an option ``(model m, samples k)``.  An option has
value ``f_m(k)`` (expected share of problems solved: the coverage curve) and cost ``c_m(k)``.
Maximise ``sum f`` subject to ``sum c <= B``.

**Costs.**  ``fixed`` policy: ``c(k) = first + (k - 1) * repeat`` (the first sample of a
problem may cost more, e.g. an uncached prompt).  ``until-pass`` (sample until the verifier
accepts, at most k): with a perfect verifier only samples up to the first success are
bought, so the expected cost is ``sum_{j<k} P(no success in the first j samples) x cost of
sample j+1 = first + repeat * sum_{j=1}^{k-1} (1 - coverage(j))``, because
``P(no success in j) = 1 - coverage(j)`` averaged over problems.  ``--hard-cap`` plans on the
worst case (every sample bought, each at its maximum cost) instead of the expectation.

**Solution.**  The linear relaxation (fractions of problems per option) is solved exactly by
the upper concave hull of the points ``(c, f)``: at per-problem budget ``b = B / N`` the
optimum mixes the two hull vertices around ``b`` (Lagrangian duality for the multiple-choice
knapsack; e.g. Sinha & Zoltners 1979, "The Multiple-Choice Knapsack Problem", Sec. 2); it
draws the frontier.  Whole problems: budget takes the best allocation of the form "``N - m``
problems at option i, ``m`` at option j" over *every* pair of options, ``m`` as large as the
budget allows, in exact Decimal arithmetic (:func:`budget.planner.allocation.allocate`).  The
hull rounding is one such pair, so the plan is within one problem's gain ``f_j - f_i`` of the
optimum; the family does not depend on ``B``, so the predicted value never falls when ``B``
rises, by a cent or by any amount (rounding between the two vertices around ``B / N`` alone
does: with 2 problems, $9.99 could predict 1.13 solved and $10.00 1.00).  Never over budget.

**Uncertainty.**  Each curve's bootstrap draws give draws of the plan's coverage; the
interval of expected coverage is their equal-tailed quantiles.  The interval of problems
solved adds the binomial chance of which of the ``N`` problems are solved.

The planner never recommends more than ``max_extrapolation`` times the largest k a curve was
measured at: money beyond that is left unspent, with a warning, rather than bet on an
extrapolation.  Every coverage figure assumes a verifier that recognises a correct sample.
"""

from __future__ import annotations

from budget.planner.models import (
    Allocation,
    Alternative,
    Candidate,
    Crossing,
    Estimate,
    FrontierPoint,
    PlanResult,
    PlanSettings,
    Policy,
    Recommendation,
    SingleSample,
)
from budget.planner.recommendation import plan

__all__ = [
    "Allocation",
    "Alternative",
    "Candidate",
    "Crossing",
    "Estimate",
    "FrontierPoint",
    "PlanResult",
    "PlanSettings",
    "Policy",
    "Recommendation",
    "SingleSample",
    "plan",
]
