"""What a model that never succeeded still tells: an upper bound on its coverage.

With zero accepted samples in ``n_i`` samples of each of ``N`` problems, coverage is not
estimable, but it is bounded.  For rates ``p_i`` with coverage ``C(k) = mean_i [1 - q_i]``,
``q_i = (1 - p_i)^k``, the chance of seeing no success at all is
``prod_i (1 - p_i)^(n_i) = prod_i q_i^(n_i / k)``.  With every ``n_i`` replaced by
``n = min n_i`` (which can only raise that chance, so the bound stays valid), the log of it
is ``(n / k) sum_i log q_i <= (N n / k) log(1 - C)`` by Jensen's inequality (log is
concave; equality when all rates are equal).  So coverage ``C(k)`` is rejected at level
``alpha`` once ``(1 - C)^(N n / k) <= alpha``, and the one-sided ``1 - alpha`` upper bound is

    C_up(k) = 1 - alpha^(k / E),    E = N min_i n_i   (the "exposure")

At k = 1 this is the familiar "rule of three" (about 3 / E at alpha = 0.05); it rises to 1
as k passes the exposure.

Form ``zero_success_bound`` (listed in :data:`~budget.curves.base.FORMS`), parameters
``exposure`` and ``level_q``: coverage(k) = 1 - level_q^(k / exposure).  The point estimate
has ``level_q = 1`` (coverage 0 at every k: nothing was ever solved, the conservative figure
a planner should use), and the draws run ``level_q`` over an even grid of (0, 0.9] and
then 1 for the top tenth, so that the draws' lower quantiles are the bound at every
one-sided level 1 - q and the upper ones are 0: a 90% (or wider) equal-tailed interval is
``[0, 1 - 0.05^(k / E)]``, holding its point 0, with the 95% upper bound as its upper end.
The curve itself is built by :func:`budget.curves.selection.zero_success_curve`.
"""

from __future__ import annotations

import numpy as np

from budget.curves.form import CurveForm, FloatArray

#: Draws of the bound's confidence distribution: level_q = j / 400, j = 0..400, so that the
#: (linearly interpolated) quantiles at multiples of 1/400 are exact.
N_DRAWS = 401


def _bound(params: FloatArray, k: FloatArray) -> FloatArray:
    p = np.asarray(params, dtype=float)
    exposure = p[..., 0:1]
    q = np.clip(p[..., 1:2], 0.0, 1.0)
    kk = np.maximum(np.asarray(k, dtype=float), 0.0)
    with np.errstate(divide="ignore"):
        out: FloatArray = 1.0 - np.exp(kk / exposure * np.log(q))
    return np.where(kk > 0, np.clip(out, 0.0, 1.0), 0.0)


ZERO_SUCCESS_BOUND = CurveForm(
    name="zero_success_bound",
    param_names=("exposure", "level_q"),
    evaluate=_bound,
    formula="coverage(k) <= 1 - level_q^(k / exposure), exposure = problems x min samples; point: 0",
    source="zero successes in n samples per problem: Jensen bound on prod (1 - p_i)^n (this module)",
)
