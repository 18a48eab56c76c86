"""Coverage from stopped sampling (``--policy until-pass``): the beta-geometric likelihood.

Under ``until-pass`` a problem is sampled until its first accepted sample or until a cap,
so each problem's record is either "first accepted at sample j" or "none in k" (censored
at k).  The unbiased pass@k estimator (Chen et al. 2021, Eq. 1) assumes a fixed number of
samples per problem: fed the stopped counts (c = 1 of n = j), it over-states easy problems
-- its pass@1 is ``mean 1 / j``, not the mean rate.

With problem rates ``p ~ Beta(alpha, beta)`` (optionally with a point mass ``zero`` at
p = 0), the two records have the beta-geometric probabilities

    P(first success at j) = B(alpha + 1, beta + j - 1) / B(alpha, beta)
    P(none in k)          = B(alpha, beta + k) / B(alpha, beta)

(times ``1 - zero``, plus ``zero`` for "none"); see e.g. Weinberg & Gladen 1986,
"The beta-geometric distribution applied to comparative fecundability studies",
Biometrics 42.  These equal the Beta-Binomial likelihoods of (n = j, c = 1) and
(n = k, c = 0) without their binomial coefficients, a constant of the data: the stopping
rule depends only on outcomes already seen, so it leaves the likelihood unchanged (the
likelihood principle) while it does bias moment estimators such as Chen's.  The fit is
therefore the maximum likelihood of :class:`~budget.curves.estimators.BetaFamily` on those
records -- with and without a zero mass, the one with the smaller AIC kept -- and the
curve is the ``beta`` form, coverage(k) = (1 - zero)(1 - B(alpha, beta + k) / B(alpha, beta)).
Intervals are for the task fitted, as for fixed-n fits (:mod:`budget.curves.spread`): each
problem's record redrawn from its posterior under the zero-mass family (same caps), the
chosen family refitted to the redrawn records; past the largest censoring point, the two families'
disagreement (Akaike weights, exp(-AIC / 2)) as the model-error term.  A record set without
any success gives the zero-success upper bound of :mod:`budget.curves.bounds`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from budget.curves.base import CoverageCurve
from budget.curves.estimators import BetaFamily, mle, refit_rows
from budget.curves.forms import BETA
from budget.curves.selection import zero_success_curve
from budget.curves.spread import DISAGREEMENT_KS, spread_record, stopped_records
from budget.errors import DataError

#: Fixed-problem bootstrap replicates for intervals.
N_BOOT = 200
FAMILIES = {
    "beta_geometric": BetaFamily(free_scale=False, free_zero=False),
    "zero_beta_geometric": BetaFamily(free_scale=False, free_zero=True),
}


def validate_stopped(attempts: ArrayLike, solved: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Check per-problem records: ``attempts`` >= 1 whole numbers, ``solved`` booleans, same length."""
    a = np.asarray(attempts, dtype=float)
    s = np.asarray(solved)
    if a.ndim != 1 or s.shape != a.shape or a.size == 0:
        raise DataError("until-pass records need one attempts count and one solved flag per problem")
    if not np.all(np.isfinite(a)) or np.any(a < 1) or np.any(a != np.round(a)):
        raise DataError("until-pass attempts must be whole numbers >= 1")
    if s.dtype != bool and not np.isin(s, (0, 1)).all():
        raise DataError("until-pass solved flags must be true or false")
    return a, s.astype(bool)


def observed_k_stopped(attempts: np.ndarray, solved: np.ndarray) -> int:
    """The largest k measured for every problem: the smallest censoring point (unsolved
    problems' attempts), or the largest first-success index when every problem was solved.
    """
    unsolved = attempts[~solved]
    return int(unsolved.min() if unsolved.size else attempts.max())


def fit_until_pass(
    model: str,
    task: str,
    attempts: ArrayLike,
    solved: ArrayLike,
    *,
    seed: int = 0,
    n_boot: int = N_BOOT,
) -> CoverageCurve:
    """Fit a coverage curve to until-pass records (first success at ``attempts`` if ``solved``,
    else none in ``attempts``); see the module docstring.
    """
    a, s = validate_stopped(attempts, solved)
    if not s.any():
        return zero_success_curve(model, task, a)
    n, c = a, s.astype(float)
    fits = {}
    for name, family in FAMILIES.items():
        theta = mle(family, n, c)
        ll = float(family.loglik(theta[None, :], n, c).sum())
        fits[name] = (family, theta, 2 * theta.size - 2 * ll)
    name = min(fits, key=lambda k: fits[k][2])
    family, theta, _ = fits[name]
    rng = np.random.default_rng(seed)
    point = family.params(theta)[0]
    zero_prior = FAMILIES["zero_beta_geometric"].params(fits["zero_beta_geometric"][1])[0]
    draws = np.empty((0, 4))
    if n_boot:
        na, ca = stopped_records(a, c, zero_prior, n_boot, rng)
        refits = [refit_rows(family, theta, na[r], ca[r][None, :])[0] for r in range(n_boot)]
        draws = family.params(np.array(refits))
    aic = ", ".join(f"{k} {v[2]:.1f}" for k, v in fits.items())
    best = min(v[2] for v in fits.values())
    akaike = {k: float(np.exp(-(v[2] - best) / 2)) for k, v in fits.items()}
    curves = np.vstack([BETA.evaluate(f.params(th), DISAGREEMENT_KS)[0] for f, th, _ in fits.values()])
    spread = spread_record(observed_k_stopped(a, s), curves, np.array([akaike[k] for k in fits]))
    return CoverageCurve(
        model=model,
        task=task,
        form=BETA.name,
        params={p: float(v) for p, v in zip(BETA.param_names, point, strict=True)},
        draws=draws.tolist(),
        max_observed_k=observed_k_stopped(a, s),
        n_problems=int(n.size),
        source=f"fitted to until-pass records by {name} maximum likelihood (stopped sampling; AIC: {aic})",
        notes=[
            f"until-pass records: {int(s.sum())} of {n.size} problems solved, first success at sample"
            f" {int(a[s].min())}-{int(a[s].max())}; likelihood of the stopped records (beta-geometric),"
            " not pass@k, which a stopping rule biases"
        ],
        spread=spread,
    )
