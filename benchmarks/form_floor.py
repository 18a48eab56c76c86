r"""How far each curve form misses with no sampling noise at all (issue 11, the MAE targets).

The pythia backtest (``benchmarks/backtest.py``) scores a fit on m samples per problem
against the full-data pass@10,000.  Its error has two parts: sampling noise (which
problems happened to succeed in m samples) and the form's bias (the true curve of these
128 problems is not exactly the form).  This script measures the second part alone: each
form is fitted to the *full data's* unbiased pass@k at the k a fit on m samples would use
(``lsq_ks(m)``: log-spaced k in [1, m]) -- the exact in-data curve of these problems, as if
m samples per problem had been drawn infinitely often -- and extrapolated to k = 10,000.
No estimator that sees only k <= m of a curve of this form can do better on average
than this floor, whatever its noise handling.

Forms (each fitted by least squares in y = log(-log coverage), Brown et al. 2024, App. C.1,
over the same points):

- ``power_law``: coverage = exp(a k^b) (Brown et al. 2024, Eqs. 2-3), also on k in [k0, m];
- ``beta``: 1 - B(alpha, beta + k) / B(alpha, beta) (Schaeffer et al., ICML 2025, Eq. 11);
- ``beta + zero``: the same times (1 - zero) (a point mass of never-solved problems);
- ``beta + scale + zero``: rates scale * u, u ~ Beta (their scaled Beta);
- ``kumaraswamy + zero``: u ~ Kumaraswamy(a, b) (density a b u^(a-1) (1 - u^a)^(b-1)),
  another two-parameter family on [0, 1] with a free left tail, not one of budget's forms.

    .venv/bin/python benchmarks/form_floor.py [--m 100 1000]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import optimize
from scipy.special import expit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backtest import DATA, TARGET_K, load
from budget.curves.base import FORMS
from budget.curves.estimators import lsq_ks
from budget.curves.form import power_law_lsq
from budget.curves.passk import pass_at_k

Curve = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _beta_form(free_scale: bool, free_zero: bool) -> tuple[Curve, list[list[float]]]:
    def cov(th: np.ndarray, k: np.ndarray) -> np.ndarray:
        scale = expit(th[2]) if free_scale else 1.0
        zero = expit(th[-1]) if free_zero else 0.0
        par = np.array([[np.exp(th[0]), np.exp(th[1]), scale, zero]])
        out: np.ndarray = FORMS["beta"].evaluate(par, k)[0]
        return out

    starts = [[a, b] + ([2.0] if free_scale else []) + ([-1.0] if free_zero else []) for a, b in
              ((-1.0, 0.0), (-2.0, 1.0), (0.0, 2.0), (-3.0, 3.0))]
    return cov, starts


def _kumaraswamy_zero(th: np.ndarray, k: np.ndarray) -> np.ndarray:
    a, b, zero = np.exp(th[0]), np.exp(th[1]), expit(th[2])
    t = np.linspace(-25.0, 15.0, 4000)  # logit grid: rates from 1e-11 to 1 - 3e-7
    u = expit(t)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        dens = a * b * u ** (a - 1) * (1 - u**a) ** (b - 1) * u * (1 - u)
    dens = np.nan_to_num(dens)
    dens /= dens.sum()
    miss = (dens[None, :] * np.exp(np.asarray(k, float)[:, None] * np.log1p(-u)[None, :])).sum(axis=1)
    out: np.ndarray = (1 - zero) * (1 - miss)
    return out


def fit_in_y(curve: Curve, starts: list[list[float]], ks: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Least squares of log(-log coverage) over ``ks``, best of several starts."""
    y = np.log(-np.log(cov))

    def residual(th: np.ndarray) -> np.ndarray:
        return np.asarray(np.log(-np.log(np.clip(curve(th, ks), 1e-12, 1 - 1e-12))) - y)

    best = None
    for x0 in starts:
        with np.errstate(all="ignore"):
            r = optimize.least_squares(residual, np.asarray(x0, dtype=float))
        if best is None or r.cost < best.cost:
            best = r
    assert best is not None
    return np.asarray(best.x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    data = load(args.data)
    models = list(data)
    print(f"error at k = {TARGET_K:,} of each form fitted to the noise-free in-data curve (points)")
    print("| m | form | " + " | ".join(m.removeprefix("pythia-") for m in models) + " | MAE |")
    print("|---|---|" + "---|" * (len(models) + 1))
    families: dict[str, tuple[Curve, list[list[float]]]] = {
        "beta": _beta_form(False, False),
        "beta + zero": _beta_form(False, True),
        "beta + scale + zero": _beta_form(True, True),
        "kumaraswamy + zero": (_kumaraswamy_zero, [[-1.0, 0.0, -1.0], [-2.0, 1.0, 0.0], [0.0, 2.0, -2.0]]),
    }
    for m in args.m:
        rows: dict[str, list[float]] = {}
        for model in models:
            n, c = data[model]
            truth = float(pass_at_k(n, c, [TARGET_K])[0])
            ks = lsq_ks(m)
            cov = pass_at_k(n, c, ks)
            for k0 in (1, 2, 3, 5, 10):
                use = ks >= k0
                a, b = power_law_lsq(ks[use], cov[use][None, :])
                pred = float(np.exp(a[0] * TARGET_K ** b[0]))
                rows.setdefault(f"power_law, k in [{k0}, m]", []).append(100 * (pred - truth))
            for name, (curve, starts) in families.items():
                th = fit_in_y(curve, starts, ks, cov)
                pred = float(curve(th, np.array([float(TARGET_K)]))[0])
                rows.setdefault(name, []).append(100 * (pred - truth))
        for name, errs in rows.items():
            cells = " | ".join(f"{e:+.2f}" for e in errs)
            print(f"| {m:,} | {name} | {cells} | {np.mean(np.abs(errs)):.2f} |", flush=True)


if __name__ == "__main__":
    main()
