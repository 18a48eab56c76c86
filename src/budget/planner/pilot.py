"""Pilots: which problems get the next samples, before a curve is fitted.

Pure: no I/O.  Two rules for spending ``T`` pilot samples over ``P`` problems:

- **uniform**: ``T / P`` samples of every problem (the remainder to a seeded random subset).
- **adaptive** (Kazdan et al. 2025, "Efficient Prediction of Pass@k Scaling in Large
  Language Models", Sec. 5): each next sample goes to the problem with the fewest successes
  so far; ties go to the problem with the fewest samples, then at random (seeded).  Samples
  pile up on the hard problems, whose success rates decide coverage at large k, instead of
  re-confirming the easy ones.

For a backtest both rules replay *recorded* samples: a problem with ``n`` recorded samples of
which ``c`` passed yields its next sample as a pass with probability ``c_left / n_left``
(a draw without replacement), which is an exact replay when the recorded samples are
exchangeable; a uniform pilot of ``m`` per problem is one hypergeometric draw per problem.
A live pilot (``budget calibrate``) asks :func:`adaptive_order` for the next problems.
"""

from __future__ import annotations

import heapq
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]


class PilotRule(StrEnum):
    """How a pilot spreads its samples: the same number per problem, or adaptively."""
    UNIFORM = "uniform"
    ADAPTIVE = "adaptive"


#: The default pilot rule (measured against the other in BENCHMARKS.md, "Pilot").
DEFAULT_PILOT = PilotRule.ADAPTIVE


def uniform_counts(total: int, problems: int, rng: np.random.Generator) -> IntArray:
    """Samples per problem of a uniform pilot of ``total`` samples (the remainder at random)."""
    base = np.full(problems, total // problems, dtype=np.int64)
    base[rng.permutation(problems)[: total % problems]] += 1
    return base


def replay_uniform(
    n: IntArray, c: IntArray, total: int, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """(pilot samples, pilot passes) per problem: a uniform pilot drawn from recorded counts."""
    want = np.minimum(uniform_counts(total, n.size, rng), n)
    left = min(total, int(n.sum())) - int(want.sum())
    while left > 0:  # problems with fewer recorded samples than their share: spread the rest
        room = np.flatnonzero(want < n)
        extra = uniform_counts(left, room.size, rng)
        want[room] = np.minimum(want[room] + extra, n[room])
        left = min(total, int(n.sum())) - int(want.sum())
    got = rng.hypergeometric(c, n - c, np.maximum(want, 0)) if want.any() else np.zeros_like(c)
    return want.astype(np.int64), np.asarray(got, dtype=np.int64)


#: Share of an adaptive pilot spent uniformly first, so every problem has a few samples.
ADAPTIVE_FLOOR = 0.8


def replay_adaptive(
    n: IntArray, c: IntArray, total: int, rng: np.random.Generator, floor: float = ADAPTIVE_FLOOR
) -> tuple[IntArray, IntArray]:
    """(pilot samples, pilot passes) per problem: the adaptive pilot replayed sample by sample.

    ``floor`` of the samples go uniformly first (at least 2 per problem where the budget
    allows), the rest one at a time to the fewest successes.  A problem whose recorded
    samples are used up leaves the queue.
    """
    first = min(total, max(int(floor * total) // max(n.size, 1), 2 if total >= 2 * n.size else 0) * n.size)
    taken, passed = replay_uniform(n, c, first, rng) if first > 0 else (np.zeros_like(n), np.zeros_like(c))
    total -= int(taken.sum())
    ties = rng.random(n.size)
    heap = [(int(passed[i]), int(taken[i]), float(ties[i]), i) for i in range(n.size) if n[i] > taken[i]]
    heapq.heapify(heap)
    u = rng.random(max(total, 0))
    n_l, c_l = n.tolist(), c.tolist()
    for step in range(max(total, 0)):
        if not heap:
            break
        s, t, tie, i = heapq.heappop(heap)
        hit = u[step] * (n_l[i] - t) < (c_l[i] - s)  # c_left / n_left
        s, t = s + int(hit), t + 1
        taken[i], passed[i] = t, s
        if t < n_l[i]:
            heapq.heappush(heap, (s, t, tie, i))
    return taken, passed


def replay(
    rule: PilotRule, n: IntArray, c: IntArray, total: int, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """A pilot of ``total`` samples under ``rule``, replayed from recorded counts ``(n, c)``."""
    fn = replay_adaptive if rule is PilotRule.ADAPTIVE else replay_uniform
    return fn(np.asarray(n, dtype=np.int64), np.asarray(c, dtype=np.int64), int(total), rng)


def adaptive_order(successes: IntArray, samples: IntArray, batch: int, rng: np.random.Generator) -> IntArray:
    """Indices of the problems to give the next ``batch`` samples (adaptive rule, live pilot).

    Without outcomes of the batch yet, each pick counts as a further sample with no success;
    so a batch spreads over the problems tied at the fewest successes, fewest samples first.
    """
    ties = rng.random(successes.size)
    heap = [
        (int(s), int(t), float(ties[i]), i) for i, (s, t) in enumerate(zip(successes, samples, strict=True))
    ]
    heapq.heapify(heap)
    out = []
    for _ in range(batch):
        s, t, tie, i = heapq.heappop(heap)
        out.append(i)
        heapq.heappush(heap, (s, t + 1, tie, i))
    return np.asarray(out, dtype=np.int64)
