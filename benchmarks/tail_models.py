"""Experiment (not shipped): rate-distribution estimators aimed at the left tail, on the pythia backtest.

Same experiment as ``benchmarks/backtest.py`` (issue 2, section 3): for each model of
``../shared/data/math-pythia-counts.csv`` and each m, draw m of the 10,000 samples per problem
without replacement (hypergeometric), fit, predict coverage at K = 10,000 and compare with
the full-data unbiased pass@10,000.  Point predictions only (no intervals), against least
squares on Brown et al.'s power law on the same subsample.

Background (Schaeffer et al., ICML 2025, "How Do Large Language Monkeys Get Their Power
(Laws)?"): with per-problem rates p ~ G, coverage(k) = 1 - E_G[(1 - p)^k], and if
G(x) ~ C x^alpha as x -> 0 then 1 - coverage(k) falls like k^-alpha at large k: the
extrapolation is governed by the left tail of G, not by its bulk.

Estimators tried:

``tail``  (a left-tail power law with a free bulk, censored at p0 = c0 / m)
    p has mass ``w`` on (0, p0] with density ``w alpha p^(alpha-1) / p0^alpha`` and mass
    ``1 - w`` on (p0, 1) as a free discrete distribution on a logit grid (nonparametric
    maximum likelihood, Kiefer & Wolfowitz 1956).  In closed form, with I the regularised
    incomplete Beta function::

        P(c | tail)            = C(m, c) alpha p0^-alpha B(c + alpha, m - c + 1) I_p0(c + alpha, m - c + 1)
        E[(1 - p)^K | tail]    = alpha p0^-alpha B(alpha, K + 1) I_p0(alpha, K + 1)

    Fitted by EM (bulk weights and w in closed form, alpha by a 1-D search each step).
    ``c0`` is the count below which a problem's successes are "a handful" (3 and 10 shown).

``g``  (Efron's g-modelling deconvolution; Efron 2016, Biometrika 103, "Empirical Bayes
deconvolution estimates")
    G is discrete on a grid of t = logit p from ``lo`` to 12 (step 0.1); log g(t) is a
    linear spline with knots 1 apart over the range the counts inform, [logit(0.5/m) - 1,
    logit(1 - 0.5/m) + 1], extrapolated linearly beyond -- so below the first knot
    G(x) ~ C x^alpha, a power-law left tail whose exponent is the spline's end slope.
    Penalised likelihood: sum_i log sum_j g_j Bin(c_i; m, p_j) - lam * ||second differences||^2.
    ``lo`` = logit(1e-7) by default; 1e-5 and 1e-9 show how much the answer depends on where
    the grid stops (the mass of never-solvable problems is not identified at m = 100).

``lsq``  Brown et al. 2024 (App. C.1) least squares, as shipped; also its "form bias": the
    same fit on the exact pass@k curve of the 128 problems for k <= m (no sampling noise).

    nice .venv/bin/python benchmarks/tail_models.py --seeds 20 --m 100 1000
    .venv/bin/python benchmarks/tail_models.py --floor-only --m 100 1000
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize, minimize_scalar
from scipy.special import betainc, betaln, gammaln, log_expit, logsumexp

from budget.curves.base import FORMS
from budget.curves.estimators import power_law_rows
from budget.curves.passk import pass_at_k

F = NDArray[np.float64]
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "math-pythia-counts.csv"
TARGET_K = 10_000.0


def load(path: Path) -> dict[str, tuple[F, F]]:
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, tuple[F, F]] = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        out[model] = (
            np.array([float(r["num_samples"]) for r in mine]),
            np.array([float(r["num_correct"]) for r in mine]),
        )
    return out


def _log_binom(n: F, c: F) -> F:
    out: F = gammaln(n + 1) - gammaln(c + 1) - gammaln(n - c + 1)
    return out


# --------------------------------------------------------------------------- (a) tail model


def tail_loglik(alpha: float, n: F, c: F, p0: float) -> F:
    """The log of P(c | p in the power-law tail on (0, p0]) (closed form, see module docstring)."""
    with np.errstate(divide="ignore"):
        out: F = (
            _log_binom(n, c)
            + np.log(alpha)
            - alpha * np.log(p0)
            + betaln(c + alpha, n - c + 1)
            + np.log(betainc(c + alpha, n - c + 1, p0))
        )
    return out


def tail_miss(alpha: float, p0: float, k: float) -> float:
    """E[(1 - p)^k | tail] = alpha p0^-alpha B(alpha, k + 1) I_p0(alpha, k + 1)."""
    return float(
        np.exp(np.log(alpha) - alpha * np.log(p0) + betaln(alpha, k + 1) + np.log(betainc(alpha, k + 1, p0)))
    )


def fit_tail(n: F, c: F, c0: float, iters: int = 300) -> float:
    """Coverage at TARGET_K under the censored tail model fitted by EM."""
    m = float(n.min())
    p0 = min(0.5, c0 / m)
    t = np.arange(np.log(p0 / (1 - p0)), 12.0, 0.1)[1:]
    lp, lq = log_expit(t), log_expit(-t)
    lb0 = _log_binom(n, c)[:, None] + c[:, None] * lp[None] + (n - c)[:, None] * lq[None]
    w, alpha = 0.5, 0.3
    h = np.full(t.size, 1.0 / t.size)
    prev = -np.inf
    for _ in range(iters):
        lt = tail_loglik(alpha, n, c, p0) + np.log(w)
        lb = lb0 + np.log(np.maximum(h, 1e-300))[None] + np.log(1 - w)
        tot = np.logaddexp(lt, logsumexp(lb, axis=1))
        rt = np.exp(lt - tot)
        h = np.exp(lb - tot[:, None]).sum(axis=0)
        h /= h.sum()
        w = float(np.clip(rt.mean(), 1e-9, 1 - 1e-9))

        def neg(la: float, rt: F = rt) -> float:
            with np.errstate(invalid="ignore"):
                v = float((rt * tail_loglik(float(np.exp(la)), n, c, p0)).sum())
            return -v if np.isfinite(v) else np.inf

        alpha = float(np.exp(minimize_scalar(neg, bounds=(-7.0, 3.0), method="bounded").x))
        ll = float(tot.sum())
        if ll - prev < 1e-7:
            break
        prev = ll
    bulk_miss = float(np.exp(lq * TARGET_K) @ h)
    return 1.0 - (w * tail_miss(alpha, p0, TARGET_K) + (1 - w) * bulk_miss)


# --------------------------------------------------------------------------- (b) g-modelling


def fit_g(n: F, c: F, lo_p: float = 1e-7, lam: float = 1.0, spacing: float = 1.0) -> float:
    """Coverage at TARGET_K under Efron's penalised g-model (linear spline in logit p)."""
    m = float(n.min())
    lo = float(np.log(lo_p / (1 - lo_p)))
    step = 0.1
    t = np.arange(lo, 12.0 + step / 2, step)
    lp, lq = log_expit(t), log_expit(-t)
    knots = np.arange(np.log(0.5 / m) - 1.0, -np.log(0.5 / m) + 1.0 + 1e-9, spacing)
    nk = knots.size
    basis = np.empty((t.size, nk))
    for j in range(nk):
        basis[:, j] = np.interp(t, knots, np.eye(nk)[j])
    left, right = t < knots[0], t > knots[-1]
    s = (t[left] - knots[0]) / spacing
    basis[left, 0], basis[left, 1] = 1 - s, s
    s = (t[right] - knots[-1]) / spacing
    basis[right, -1], basis[right, -2] = 1 + s, -s
    lik = _log_binom(n, c)[:, None] + c[:, None] * lp[None] + (n - c)[:, None] * lq[None]
    d2 = np.diff(np.eye(nk), 2, axis=0)

    def objective(v: F) -> tuple[float, F]:
        lg = basis @ v
        lg = lg - logsumexp(lg)
        joint = lik + lg[None]
        per = logsumexp(joint, axis=1)
        post = np.exp(joint - per[:, None])
        grad_lg = -(post.sum(axis=0) - n.size * np.exp(lg))
        r = d2 @ v
        grad: F = basis.T @ grad_lg + 2 * lam * d2.T @ r
        return float(-per.sum() + lam * r @ r), grad

    v = minimize(objective, np.zeros(nk), jac=True, method="L-BFGS-B").x
    lg = basis @ v
    g = np.exp(lg - logsumexp(lg))
    return 1.0 - float(np.exp(lq * TARGET_K) @ g)


# --------------------------------------------------------------------------- baseline


def fit_lsq(n: F, c: F) -> float:
    ab = power_law_rows(n, c, np.ones((1, n.size)))
    return float(FORMS["power_law"].evaluate(ab, np.array([TARGET_K]))[0, 0])


def lsq_form_bias(n: F, c: F, m: int, truth: float, k_min: float = 1.0) -> float:
    """Brown's LSQ on the exact (full-data) pass@k at k_min <= k <= m: the error with no sampling noise."""
    from budget.curves.estimators import lsq_ks

    ks = lsq_ks(m)
    ks = ks[ks >= k_min]
    cov = pass_at_k(n, c, ks)
    use = (cov > 0) & (cov < 1)
    b, la = np.polyfit(np.log(ks[use]), np.log(-np.log(cov[use])), 1)
    return float(np.exp(-np.exp(la) * TARGET_K**b)) - truth


METHODS: dict[str, Callable[[F, F], float]] = {
    "lsq (Brown, shipped)": fit_lsq,
    "tail c0=3": lambda n, c: fit_tail(n, c, 3.0),
    "tail c0=10": lambda n, c: fit_tail(n, c, 10.0),
    "g lo=1e-7": fit_g,
    "g lo=1e-5": lambda n, c: fit_g(n, c, lo_p=1e-5),
    "g lo=1e-9": lambda n, c: fit_g(n, c, lo_p=1e-9),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--m", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument(
        "--floor-only",
        action="store_true",
        help="only Brown's LSQ on the exact pass@k for k in [k_min, m] (no sampling noise)",
    )
    args = ap.parse_args()
    data = load(args.data)
    if args.floor_only:
        print("| m | k_min | error per model (" + ", ".join(data) + ") | mean abs |")
        print("|---|---|---|---|")
        for m in args.m:
            for k_min in (1.0, 10.0, 30.0):
                errs = [
                    100 * lsq_form_bias(n, c, m, float(pass_at_k(n, c, [int(TARGET_K)])[0]), k_min)
                    for n, c in data.values()
                ]
                cells = ", ".join(f"{e:+.2f}" for e in errs)
                print(f"| {m:,} | {k_min:g} | {cells} | {np.mean(np.abs(errs)):.2f} |")
        return
    t0 = time.perf_counter()
    names = list(METHODS)
    print(f"truth: full-data pass@{int(TARGET_K):,}; {args.seeds} seeds; MAE (bias, sd) in coverage points")
    print("| model | m | LSQ form bias | " + " | ".join(names) + " |")
    print("|---|---|---|" + "---|" * len(names))
    for m in args.m:
        allerr: dict[str, list[float]] = {k: [] for k in names}
        for model, (n, c) in data.items():
            truth = float(pass_at_k(n, c, [int(TARGET_K)])[0])
            errs: dict[str, list[float]] = {k: [] for k in names}
            for seed in range(args.seeds):
                rng = np.random.default_rng([seed, m])
                sub = rng.hypergeometric(c.astype(np.int64), (n - c).astype(np.int64), np.full(n.size, m))
                ns = np.full(n.size, float(m))
                for name, fit in METHODS.items():
                    errs[name].append(fit(ns, sub.astype(float)) - truth)
            cells = []
            for name in names:
                e = np.asarray(errs[name])
                allerr[name] += list(np.abs(e))
                cells.append(f"{100 * np.abs(e).mean():.2f} ({100 * e.mean():+.2f}, {100 * e.std():.2f})")
            fb = 100 * lsq_form_bias(n, c, m, truth)
            print(f"| {model} | {m:,} | {fb:+.2f} | " + " | ".join(cells) + " |")
        print(
            f"| **all** | {m:,} | | "
            + " | ".join(f"**{100 * np.mean(allerr[k]):.2f}**" for k in names)
            + " |"
        )
    print(f"elapsed {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
