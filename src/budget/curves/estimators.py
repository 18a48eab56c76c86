"""Fitters: from per-problem counts to the parameters of a coverage-curve form.

Each :class:`Fitter` takes the counts of one (model, task) -- ``n_i`` samples and ``c_i``
correct for problem ``i`` -- and returns the parameter vector of its form (see
:mod:`budget.curves.base` and :mod:`budget.curves.forms`), for the data and refitted to
other counts of the same problems (the fixed-problem replicates of
:mod:`budget.curves.spread`).  Model choice lives in :mod:`budget.curves.selection`.

Fitters:

``power_law_lsq``
    Brown et al. 2024 ("Large Language Monkeys", Eqs. 2-3, App. C.1): coverage(k) =
    exp(a k^b); ``log(-log pass@k) = log(-a) + b log k`` is fitted by least squares on the
    unbiased pass@k at log-spaced k in [1, min n_i]; with unequal n, on to max n_i with each
    problem's posterior mean under the zero-mass Beta fitted to every problem's counts
    (:mod:`budget.curves.posterior`, issue 11 item 6), so every sample of every problem is
    used.

``beta_binomial`` (and ``scaled_beta_binomial``, on request)
    Schaeffer et al. (ICML 2025, Eq. 11 and their scaled-Beta fit): p_i = scale * u_i,
    u_i ~ Beta(alpha, beta), c_i ~ Binomial(n_i, p_i); maximum likelihood of the counts,
    coverage(k) = 1 - E[(1 - p)^k].  ``scale < 1`` lets a weak model's rates end below 1.

``zero_beta_binomial``
    The Beta-Binomial with a point mass ``zero`` at p = 0 (a zero-inflated Beta-Binomial):
    the mass holds problems the model never solves, so the Beta part need not bend its
    shape near p = 0 to fit them.  Likelihood in closed form:
    ``zero * [c = 0] + (1 - zero) C(n, c) B(c + alpha, n - c + beta) / B(alpha, beta)``.

Tried and not shipped (``benchmarks/tail_models.py``, numbers in BENCHMARKS.md ``## Curves``):
estimators aimed at the left tail of the rate distribution, which governs coverage at
large k (Schaeffer et al., ICML 2025: if P(p <= x) ~ C x^alpha then 1 - coverage(k) ~ k^-alpha).
A censored power-law tail on (0, p0] with a free bulk above, ``P(c | tail) = C(m, c) alpha
p0^-alpha B(c + alpha, m - c + 1) I_p0(c + alpha, m - c + 1)``, and Efron's g-modelling
deconvolution (Efron 2016, Biometrika) on a logit grid both predicted pass@10,000 from
m = 100 worse than ``power_law_lsq`` on the pythia backtest: with 5-55 of 128 problems solved
the tail exponent is not pinned down (an error of 0.01 in alpha moves coverage at 100x by
1.5-3 points), and g-modelling's answer moves with where the grid stops.

Maximum likelihood and its replicates both climb by damped Newton steps (:func:`_ascend`),
a replicate from the data's estimate, so it takes a few steps (checked against full refits
in the tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, expit, log_expit, logsumexp

from budget.curves.form import FloatArray, power_law_lsq
from budget.curves.forms import beta_nodes
from budget.curves.passk import pass_at_k_per_problem
from budget.curves.posterior import filled_coverage


def lsq_ks(max_k: int, per_decade: int = 8) -> FloatArray:
    """Log-spaced integer k from 1 to ``max_k`` (the points a power law is fitted on)."""
    num = max(2, int(np.ceil(np.log10(max(max_k, 2)) * per_decade)) + 1)
    out: FloatArray = np.unique(np.round(np.geomspace(1, max_k, num=num))).astype(float)
    return out


def lsq_coverage(
    n: FloatArray, c: FloatArray, weights: FloatArray, *, prior_theta: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """The k a power law is fitted on and the coverage there for each row of problem weights.

    Equal n: log-spaced k in [1, n] and the weighted mean of the unbiased pass@k.  Unequal n
    (issue 11 item 6): k in [1, max n_i], a problem's pass@k unbiased where ``k <= min n`` and,
    past it, its posterior mean under the zero-mass Beta-Binomial fitted by maximum
    likelihood to every problem's counts (:mod:`budget.curves.posterior`, which says why
    the measured problems take it too).  Fitting only
    k <= min n would drop every sample past the smallest n_i (60 problems at n = 10 and one
    at 10,000 would be fitted on k <= 10).  ``prior_theta`` gives that prior instead of
    fitting it (a fixed-problem replicate's own refit).  Returns (ks, (R, K)).
    """
    w = np.atleast_2d(weights)
    if n.min() == n.max():
        ks = lsq_ks(int(n.min()))
        per = pass_at_k_per_problem(n, c, ks)
        cov: FloatArray = (w @ per) / w.sum(axis=1, keepdims=True)
        return ks, cov
    theta = mle(ZERO_BETA, n, c) if prior_theta is None else prior_theta
    thetas = np.repeat(theta[None, :], len(w), 0)
    ks = lsq_ks(int(n.max()))
    return ks, filled_coverage(n, c, ks, w, ZERO_BETA.params(thetas))


def power_law_rows(
    n: FloatArray,
    c: FloatArray,
    weights: FloatArray,
    *,
    degenerate: bool = True,
    prior_theta: FloatArray | None = None,
) -> FloatArray:
    """Brown et al.'s least-squares power law for each row of problem ``weights``: (R, 2) [a, b].

    The points fitted are :func:`lsq_coverage`'s (``prior_theta`` is passed on).  Only points
    with 0 < pass@k < 1 enter a row's fit.  A row with fewer than two such
    points still says something, and is mapped to the curve it supports rather than dropped
    (issue 11 item 3: dropping the bootstrap replicates that solve nothing hid exactly the
    uncertainty a sparse model has):

    - nothing solved at any k: coverage 0 at every k (``a`` = :data:`NOTHING_SOLVED_A`, b = 0);
    - everything solved: coverage 1 at every k (a = 0, b = 0);
    - one interior point (k_j, v): the curve through it with the data's own exponent b
      (from the unweighted row), or b = 0 when that is undefined too.

    With ``degenerate=False`` such rows are NaN (the point estimate: no shape to fit).
    """
    ks, cov = lsq_coverage(n, c, weights, prior_theta=prior_theta)
    return _power_law_from_points(n, c, ks, cov, degenerate=degenerate, prior_theta=prior_theta)


def _power_law_from_points(
    n: FloatArray,
    c: FloatArray,
    ks: FloatArray,
    cov: FloatArray,
    *,
    degenerate: bool = True,
    prior_theta: FloatArray | None = None,
) -> FloatArray:
    """[a, b] for each row of coverage points ``cov`` (R, K) at ``ks``; see :func:`power_law_rows`.

    ``n`` and ``c`` (the data's counts) give the exponent a degenerate row borrows.
    """
    use = (cov > 0) & (cov < 1)
    a, b = power_law_lsq(ks, cov, use.astype(float))
    out: FloatArray = np.column_stack([a, b])
    few = use.sum(axis=1) < 2
    if not degenerate:
        out[few] = np.nan
    elif few.any():
        data_fit = power_law_rows(n, c, np.ones((1, n.size)), degenerate=False, prior_theta=prior_theta)[0]
        out[few] = _degenerate_rows(ks, cov[few], use[few], data_fit)
    return out


#: ``a`` of a curve with coverage 0 at every k (exp(-1000) underflows to 0; finite for JSON).
NOTHING_SOLVED_A = -1000.0


def _degenerate_rows(ks: FloatArray, cov: FloatArray, use: FloatArray, data_fit: FloatArray) -> FloatArray:
    """[a, b] for rows with fewer than two points inside (0, 1) (see :func:`power_law_rows`)."""
    b_data = float(data_fit[1]) if np.all(np.isfinite(data_fit)) else 0.0
    out = np.empty((len(cov), 2))
    for i in range(len(cov)):
        inside = np.flatnonzero(use[i])
        if inside.size:
            j = inside[0]
            out[i] = (np.log(cov[i, j]) * ks[j] ** -b_data, b_data)
        elif np.all(cov[i] <= 0):
            out[i] = (NOTHING_SOLVED_A, 0.0)
        elif np.all(cov[i] >= 1):
            out[i] = (0.0, 0.0)
        else:  # 0 at small k and 1 beyond, with nothing between: a step the form cannot hold
            j = int(np.argmax(cov[i] >= 1))
            out[i] = (np.log(0.5) * np.sqrt(ks[j - 1] * ks[j]) ** -b_data, b_data)
    return out


# --------------------------------------------------------------------------- likelihoods


@dataclass(frozen=True)
class BetaFamily:
    """A Beta-type rate distribution with optional free scale and zero mass.

    Unconstrained parameters ``theta``: log alpha, log beta, then logit scale (if free),
    then logit zero (if free).  ``loglik`` gives per-problem log-likelihoods, without the
    binomial coefficient (a constant of the data).
    """

    free_scale: bool
    free_zero: bool

    def params(self, theta: FloatArray) -> FloatArray:
        """Form parameters [alpha, beta, scale, zero] for each row of theta."""
        th = np.atleast_2d(theta)
        alpha, beta = np.exp(th[:, 0]), np.exp(th[:, 1])
        j = 2
        scale = np.ones_like(alpha)
        zero = np.zeros_like(alpha)
        if self.free_scale:
            scale = expit(th[:, j])
            j += 1
        if self.free_zero:
            zero = expit(th[:, j])
        out: FloatArray = np.column_stack([alpha, beta, scale, zero])
        return out

    def loglik(self, theta: FloatArray, n: FloatArray, c: FloatArray) -> FloatArray:
        """Per-problem log-likelihood for each row of theta: shape (R, P)."""
        par = self.params(theta)
        alpha, beta, scale, zero = (par[:, i : i + 1] for i in range(4))
        if not self.free_scale:
            core = betaln(c[None, :] + alpha, (n - c)[None, :] + beta) - betaln(alpha, beta)
        else:
            # The binomial kernel in logit(p) has width about 1/sqrt(n p (1-p)) >= 2/sqrt(n):
            # a trapezoid step below that is accurate to many digits.
            step = min(0.1, 1.5 / np.sqrt(float(n.max())))
            # Rates below e^-30 or within e^-18 of 1 are not told apart by any count.
            t, w = beta_nodes(alpha[:, 0], beta[:, 0], max_step=step, span=(-30.0, 18.0))  # (R, G)
            logw = np.log(np.maximum(w, 1e-300))
            log_p = np.log(scale) + log_expit(t)  # (R, G)
            log_q = np.log1p(-np.exp(log_p))
            kern = c[None, :, None] * log_p[:, None, :] + (n - c)[None, :, None] * log_q[:, None, :]
            core = logsumexp(kern + logw[:, None, :], axis=2)
        if not self.free_zero:
            out: FloatArray = core
            return out
        with np.errstate(divide="ignore"):
            mix = np.logaddexp(np.log1p(-zero) + core, np.where(c[None, :] == 0, np.log(zero), -np.inf))
        return np.asarray(mix, dtype=float)

    def starts(self, n: FloatArray, c: FloatArray) -> list[FloatArray]:
        """Method-of-moments Beta (Kleinman 1973) and, with a zero mass, a second, generic start."""
        rate = c / n
        mu = float(np.clip(c.sum() / n.sum(), 1e-6, 1 - 1e-6))
        var = float(np.mean((rate - mu) ** 2))
        binom = mu * (1 - mu) * float(np.mean(1.0 / n))
        rho = float(np.clip((var - binom) / (mu * (1 - mu) - binom + 1e-300), 1e-4, 0.99))
        total = 1.0 / rho - 1.0
        base = [(np.log(mu * total), np.log((1 - mu) * total))]
        if self.free_zero:
            base.append((-1.0, 2.0))
        extra = ([3.0] if self.free_scale else []) + ([-2.0] if self.free_zero else [])
        return [np.array([*b, *extra]) for b in base]


def mle(family: BetaFamily, n: FloatArray, c: FloatArray, max_iter: int = 100) -> FloatArray:
    """Maximum-likelihood theta: :func:`_ascend` from a few starts, the best kept."""
    starts = family.starts(n, c)
    best, best_f = starts[0], -np.inf
    for x0 in starts:
        th, f = _ascend(family, x0.astype(float), n, c, max_iter)
        if f > best_f:
            best, best_f = th, f
    theta: FloatArray = np.clip(best, -_BOUND, _BOUND)
    return theta


#: |theta| bound: rates below e^-30 or shapes beyond e^30 are not told apart by any count.
_BOUND = 30.0


def _ascend(
    family: BetaFamily, theta: FloatArray, n: FloatArray, c: FloatArray, max_iter: int, tol: float = 1e-9
) -> tuple[FloatArray, float]:
    """Damped Newton (Levenberg-Marquardt) ascent of the log-likelihood from ``theta``.

    Derivatives by central differences, all perturbations of theta in one vectorised call
    (:func:`_derivatives`), so an iteration costs a few likelihood evaluations.  The step is
    solved in psi = (u, v, ...) = (log alpha - log beta, log alpha + log beta, ...), theta =
    A psi: where the rates are nearly equal the likelihood is sharp in u (the logit of the
    Beta's mean) and flat, or not concave, in v (its concentration).  In theta the two mix:
    damping or clipping the flat direction also spoiled the mean's small, well-determined
    step (every refit of a homogeneous task kept the data's mean).  In psi the damping
    (lambda times the largest curvature) leaves u's step nearly exact; |d_u| <= 2,
    |d_v| <= 4, other coordinates <= 2; theta is held inside [-30, 30] by moving along v
    (:func:`_within_bounds`).  Stops when the log-likelihood no longer moves (a parameter
    drifting to a boundary, e.g. a zero mass to 0, changes nothing that matters).
    """
    d = theta.size
    a = np.eye(d)
    a[:2, :2] = [[0.5, 0.5], [-0.5, 0.5]]
    limit = np.full(d, 2.0)
    limit[1] = 4.0

    def total(th: FloatArray) -> float:
        v = float(family.loglik(th[None, :], n, c).sum())
        return v if np.isfinite(v) else -np.inf

    th, f, lam = _within_bounds(theta), total(_within_bounds(theta)), 1e-3
    for _ in range(max_iter):
        grad_i, hess_i = _derivatives(family, th, n, c)
        gp = a.T @ grad_i.sum(axis=0)
        hp = a.T @ (-hess_i.sum(axis=0)) @ a
        scale = max(1.0, float(np.abs(np.diag(hp)).max()))
        improved = False
        for _ in range(12):
            try:
                step = np.linalg.solve(hp + lam * scale * np.eye(d), gp)
            except np.linalg.LinAlgError:
                lam *= 10.0
                continue
            cand = _within_bounds(th + a @ np.clip(step, -limit, limit))
            fc = total(cand)
            if fc > f:
                improved = True
                lam = max(lam / 5.0, 1e-9)
                break
            lam *= 8.0
        if not improved:
            break
        done = fc - f < tol * max(1.0, abs(f))
        th, f = cand, fc
        if done:
            break
    return th, f


def _derivatives(
    family: BetaFamily, theta: FloatArray, n: FloatArray, c: FloatArray, h: float = 1e-4
) -> tuple[FloatArray, FloatArray]:
    """Per-problem score (P, d) and Hessian (P, d, d) of the log-likelihood at theta (central differences)."""
    d = theta.size
    eye = np.eye(d) * h
    rows = [theta]
    for i in range(d):
        rows += [theta + eye[i], theta - eye[i]]
    for i in range(d):
        for j in range(i + 1, d):
            rows += [
                theta + eye[i] + eye[j],
                theta + eye[i] - eye[j],
                theta - eye[i] + eye[j],
                theta - eye[i] - eye[j],
            ]
    ll = family.loglik(np.array(rows), n, c)  # (R, P)
    f0 = ll[0]
    grad = np.empty((n.size, d))
    hess = np.empty((n.size, d, d))
    r = 1
    for i in range(d):
        fp, fm = ll[r], ll[r + 1]
        r += 2
        grad[:, i] = (fp - fm) / (2 * h)
        hess[:, i, i] = (fp - 2 * f0 + fm) / (h * h)
    for i in range(d):
        for j in range(i + 1, d):
            pp, pm, mp, mm = ll[r : r + 4]
            r += 4
            hess[:, i, j] = hess[:, j, i] = (pp - pm - mp + mm) / (4 * h * h)
    return grad, hess


def _within_bounds(theta: FloatArray, bound: float = 30.0) -> FloatArray:
    """Theta inside [-bound, bound], (log alpha, log beta) moved along (1, 1) to get there.

    A concentrated Beta (nearly equal rates) sits at the bound; clipping log alpha and log
    beta one by one would change its mean (their difference), which the data pin down.
    """
    out = theta.copy()
    hi, lo = max(out[0], out[1]) - bound, min(out[0], out[1]) + bound
    if hi > 0:
        out[:2] -= hi
    elif lo < 0:
        out[:2] -= lo
    clipped: FloatArray = np.clip(out, -bound, bound)
    return clipped


def refit_rows(
    family: BetaFamily, theta: FloatArray, n: FloatArray, counts: FloatArray, steps: int = 20
) -> FloatArray:
    """Refits of theta to each row of ``counts`` (R, P), each by :func:`_ascend` from ``theta``: (R, d).

    The fixed-problem replicates (:mod:`budget.curves.spread`): the same problems, other
    counts.  Started at the data's estimate, a refit takes a few steps; ``steps`` bounds them
    (the zero-mass Beta's likelihood has a long, flat ridge between its zero mass and alpha,
    along which a single linearised step stops short).
    """
    out = np.empty((len(counts), theta.size))
    for r, row in enumerate(np.atleast_2d(counts)):
        out[r] = _ascend(family, theta, n, row, steps, tol=1e-10)[0]
    return out


#: The zero-inflated Beta-Binomial (no free scale): the rate distribution behind
#: ``zero_beta_binomial`` and the prior of :func:`lsq_points` for unequal n.
ZERO_BETA = BetaFamily(free_scale=False, free_zero=True)

# --------------------------------------------------------------------------- the fitters


@dataclass(frozen=True)
class Fitter:
    """A named way from counts to parameters of ``form``.

    ``fit(n, c)`` returns the parameter vector for the data; ``refit(n, c, counts)`` the
    parameters refitted to each row of ``counts`` (R, P) -- the same problems with other
    counts, the fixed-problem replicates of :mod:`budget.curves.spread` -- started from, or
    sharing work with, the fit to ``c``.
    """

    name: str
    form: str
    description: str
    fit: Callable[[FloatArray, FloatArray], FloatArray]
    refit: Callable[[FloatArray, FloatArray, FloatArray], FloatArray]


def _fit_power_law(n: FloatArray, c: FloatArray) -> FloatArray:
    out: FloatArray = power_law_rows(n, c, np.ones((1, n.size)), degenerate=False)[0]
    return out


def _refit_power_law(n: FloatArray, c: FloatArray, counts: FloatArray) -> FloatArray:
    """Least squares on each row's own pass@k; with unequal n each row's prior is refitted too."""
    rows = np.atleast_2d(counts)
    ones = np.ones((1, n.size))
    if n.min() == n.max():
        # pass@k depends on a problem's count only: computed once per distinct count, then
        # each row's mean gathered from that table.
        ks = lsq_ks(int(n.min()))
        values, index = np.unique(rows, return_inverse=True)
        table = pass_at_k_per_problem(np.full(values.size, n[0]), values, ks)
        cov: FloatArray = table[index.reshape(rows.shape)].mean(axis=1)
        return _power_law_from_points(n, c, ks, cov)
    priors = refit_rows(ZERO_BETA, mle(ZERO_BETA, n, c), n, rows)
    out = np.empty((len(rows), 2))
    for r, row in enumerate(rows):
        out[r] = power_law_rows(n, row, ones, prior_theta=priors[r])[0]
    return out


def _beta_fitter(family: BetaFamily) -> Callable[[FloatArray, FloatArray], FloatArray]:
    def fit(n: FloatArray, c: FloatArray) -> FloatArray:
        out: FloatArray = family.params(mle(family, n, c))[0]
        return out

    return fit


def _beta_refitter(family: BetaFamily) -> Callable[[FloatArray, FloatArray, FloatArray], FloatArray]:
    def refit(n: FloatArray, c: FloatArray, counts: FloatArray) -> FloatArray:
        out: FloatArray = family.params(refit_rows(family, mle(family, n, c), n, np.atleast_2d(counts)))
        return out

    return refit


FITTERS: dict[str, Fitter] = {
    f.name: f
    for f in (
        Fitter(
            "power_law_lsq",
            "power_law",
            "coverage = exp(a k^b) by least squares on log(-log pass@k) (Brown et al. 2024, App. C.1)",
            _fit_power_law,
            _refit_power_law,
        ),
        Fitter(
            "beta_binomial",
            "beta",
            "Beta-Binomial by maximum likelihood, coverage = 1 - B(alpha, beta + k) / B(alpha, beta) "
            "(Schaeffer et al., ICML 2025, Eq. 11)",
            _beta_fitter(BetaFamily(free_scale=False, free_zero=False)),
            _beta_refitter(BetaFamily(free_scale=False, free_zero=False)),
        ),
        Fitter(
            "zero_beta_binomial",
            "beta",
            "Beta-Binomial with a point mass at p = 0, by maximum likelihood",
            _beta_fitter(ZERO_BETA),
            _beta_refitter(ZERO_BETA),
        ),
    )
}

#: The scaled Beta-Binomial (free ``scale``), by quadrature; not among the default candidates
#: because its likelihood needs a fine grid at large n (seconds per fit).
SCALED_BETA_BINOMIAL = Fitter(
    "scaled_beta_binomial",
    "beta",
    "scaled Beta-Binomial by maximum likelihood (Schaeffer et al., ICML 2025, Eq. 11)",
    _beta_fitter(BetaFamily(free_scale=True, free_zero=False)),
    _beta_refitter(BetaFamily(free_scale=True, free_zero=False)),
)


def fitter_by_name(name: str) -> Fitter:
    """A default candidate or the on-request scaled Beta-Binomial, by name."""
    if name == SCALED_BETA_BINOMIAL.name:
        return SCALED_BETA_BINOMIAL
    if name not in FITTERS:
        from budget.errors import UnknownNameError

        raise UnknownNameError("fitter", name, [*FITTERS, SCALED_BETA_BINOMIAL.name])
    return FITTERS[name]
