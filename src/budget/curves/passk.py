"""Unbiased pass@k from per-problem counts.

For a problem with ``n`` samples of which ``c`` are correct, the unbiased estimator of the
probability that ``k`` independent samples contain at least one correct one is
(Chen et al. 2021, "Evaluating Large Language Models Trained on Code", Eq. 1)::

    pass@k = 1 - C(n - c, k) / C(n, k)

and pass@k of a task is its mean over problems.  ``n`` may differ between problems.

Computing the ratio ``R = C(n - c, k) / C(n, k)`` exactly for n up to 10^6 needs care: a
difference of four log-gamma values of size ~10^7 loses about nine digits, and the
product ``prod_j (1 - c / (n - j))`` needs a loop of length k.  ``R`` is the
hypergeometric probability of drawing no correct sample in ``k`` draws without
replacement, and factors into three binomial probabilities with ``p = k / n``::

    R = Bin(0; c, p) * Bin(k; n - c, p) / Bin(k; n, p)

each evaluated in log space with Loader's saddle-point form (C. Loader, "Fast and
accurate computation of binomial probabilities", 2000; the method of R's ``dbinom`` and
``dhyper``)::

    log Bin(x; N, p) = stirlerr(N) - stirlerr(x) - stirlerr(N - x)
                       - bd0(x, N p) - bd0(N - x, N q) - 1/2 log(2 pi x (N - x) / N)

where ``stirlerr`` is the error of Stirling's formula and ``bd0(x, M) = x log(x / M) + M - x``
is summed as a series when ``x`` is close to ``M``.  Every term is accurate to a few
units in the last place, so pass@k is accurate in *relative* terms, including the tiny
values of pass@1 = 1e-6 at n = 10^6.  Everything is vectorised over problems and k.

``k > n``: with ``n`` samples the estimator is undefined past ``k = n`` (both binomial
coefficients vanish).  By default such a problem contributes its value at ``k = n``,
i.e. 1 if it was ever solved and 0 otherwise -- a lower bound on the true pass@k, which
is what "solved at least once in the samples we have" means.  ``beyond="nan"`` marks those
entries as NaN instead, and ``beyond="raise"`` refuses them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln

from budget.errors import InputError

FloatArray = NDArray[np.float64]
Beyond = Literal["observed", "nan", "raise"]

_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)
# Coefficients of the Stirling series: stirlerr(x) ~ 1/(12x) - 1/(360x^3) + 1/(1260x^5) - ...
_S = (1.0 / 12, 1.0 / 360, 1.0 / 1260, 1.0 / 1680, 1.0 / 1188)


def stirlerr(x: FloatArray) -> FloatArray:
    """log(x!) - log(sqrt(2 pi x) (x / e)^x), for x >= 0 (0 at x = 0 by convention).

    Small x: directly from log-gamma (no cancellation at that size).  x > 15: the Stirling
    series, whose next term is below 1e-16 there.
    """
    x = np.asarray(x, dtype=float)
    small = x <= 15
    xs = np.where(small & (x > 0), x, 1.0)
    direct = gammaln(xs + 1.0) - (xs + 0.5) * np.log(xs) + xs - _HALF_LOG_2PI
    xl = np.where(small, 16.0, x)
    x2 = xl * xl
    series = (_S[0] - (_S[1] - (_S[2] - (_S[3] - _S[4] / x2) / x2) / x2) / x2) / xl
    out: FloatArray = np.where(small, np.where(x > 0, direct, 0.0), series)
    return out


def bd0(x: FloatArray, m: FloatArray) -> FloatArray:
    """Loader's deviance term x log(x / m) + m - x, accurate when x is close to m (x, m > 0).

    Near ``m`` the direct form cancels; with v = (x - m) / (x + m) it equals
    (x - m) v + 2 x sum_{j>=1} v^(2j+1) / (2j + 1), which converges fast for |v| < 0.1.
    """
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = x * np.log(x / m) + m - x
        v = (x - m) / (x + m)
    near = np.abs(x - m) < 0.1 * (x + m)
    vn = np.where(near, v, 0.0)
    s = (x - m) * vn
    ej = 2.0 * x * vn
    v2 = vn * vn
    for j in range(1, 16):  # |v| < 0.1: 16 terms reach 1e-32, far below double precision
        ej = ej * v2
        s = s + ej / (2 * j + 1)
    out: FloatArray = np.where(near, s, np.where(x == 0, m, direct))
    return out


def _log_binom_pmf(x: FloatArray, size: FloatArray, p: FloatArray, q: FloatArray) -> FloatArray:
    """The log of Bin(x; size, p) by Loader's form, for 0 <= x <= size, 0 < p < 1 (all broadcast)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        at0 = size * np.log1p(-p)
        atn = size * np.log(p)
        xi = np.where((x > 0) & (x < size), x, 1.0)
        ni = np.where((x > 0) & (x < size), size, 2.0)
        lc = stirlerr(ni) - stirlerr(xi) - stirlerr(ni - xi) - bd0(xi, ni * p) - bd0(ni - xi, ni * q)
        lf = np.log(2.0 * np.pi) + np.log(xi) + np.log1p(-xi / ni)
        inner = lc - 0.5 * lf
    out: FloatArray = np.where(x == 0, at0, np.where(x == size, atn, inner))
    return out


def log_no_success(n: ArrayLike, c: ArrayLike, k: ArrayLike) -> FloatArray:
    """The log of [C(n - c, k) / C(n, k)]: log-probability that k of n samples miss all c correct ones.

    Broadcasts its arguments; requires 0 <= c <= n and 0 <= k <= n.  -inf when k > n - c.
    """
    n = np.asarray(n, dtype=float)
    c = np.asarray(c, dtype=float)
    k = np.asarray(k, dtype=float)
    n, c, k = np.broadcast_arrays(n, c, k)
    trivial = (c == 0) | (k == 0)
    impossible = ~trivial & (k > n - c)
    ok = ~trivial & ~impossible
    # Placeholders keep the arithmetic finite where the closed forms apply.
    nn = np.where(ok, n, 2.0)
    cc = np.where(ok, c, 1.0)
    kk = np.where(ok, k, 1.0)
    p = kk / nn
    q = (nn - kk) / nn
    log_r = (
        _log_binom_pmf(np.zeros_like(cc), cc, p, q)
        + _log_binom_pmf(kk, nn - cc, p, q)
        - _log_binom_pmf(kk, nn, p, q)
    )
    out: FloatArray = np.where(trivial, 0.0, np.where(impossible, -np.inf, np.minimum(log_r, 0.0)))
    return out


def _validate(num_samples: ArrayLike, num_correct: ArrayLike) -> tuple[FloatArray, FloatArray]:
    n = np.asarray(num_samples, dtype=float).ravel()
    c = np.asarray(num_correct, dtype=float).ravel()
    if n.shape != c.shape:
        raise InputError(f"num_samples has {n.size} entries but num_correct has {c.size}")
    if n.size == 0:
        raise InputError("no problems: pass@k needs at least one (num_samples, num_correct) pair")
    if not (np.all(np.isfinite(n)) and np.all(np.isfinite(c))):
        raise InputError("counts must be finite numbers")
    if np.any(n != np.round(n)) or np.any(c != np.round(c)):
        raise InputError("counts must be whole numbers")
    if np.any(n < 1) or np.any(c < 0):
        raise InputError("need num_samples >= 1 and num_correct >= 0 for every problem")
    if np.any(c > n):
        raise InputError("num_correct exceeds num_samples for some problem")
    return n, c


def pass_at_k_per_problem(
    num_samples: ArrayLike,
    num_correct: ArrayLike,
    ks: ArrayLike,
    *,
    beyond: Beyond = "observed",
) -> FloatArray:
    """Unbiased pass@k of each problem: array of shape (problems, len(ks)).

    ``beyond`` says what a problem with fewer than k samples gives (module docstring):
    ``"observed"`` (default) its value at k = n, ``"nan"`` NaN, ``"raise"`` an InputError.
    """
    n, c = _validate(num_samples, num_correct)
    k = np.atleast_1d(np.asarray(ks, dtype=float)).ravel()
    if np.any(~np.isfinite(k)) or np.any(k < 0) or np.any(k != np.round(k)):
        raise InputError("k must be whole numbers >= 0")
    over = k[None, :] > n[:, None]
    if beyond == "raise" and np.any(over):
        raise InputError(
            f"k = {int(k.max())} exceeds the {int(n.min())} samples of some problem; "
            "pass@k is not estimable past the number of samples"
        )
    keff = np.minimum(k[None, :], n[:, None])
    out: FloatArray = -np.expm1(log_no_success(n[:, None], c[:, None], keff))
    if beyond == "nan":
        out = np.where(over, np.nan, out)
    return out


def pass_at_k(
    num_samples: ArrayLike,
    num_correct: ArrayLike,
    ks: ArrayLike,
    *,
    beyond: Beyond = "observed",
) -> FloatArray:
    """Unbiased pass@k averaged over problems, one value per k (Chen et al. 2021, Eq. 1)."""
    per = pass_at_k_per_problem(num_samples, num_correct, ks, beyond=beyond)
    out: FloatArray = per.mean(axis=0)
    return out
