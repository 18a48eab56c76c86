"""What a runner sends next: the work per problem, policies, settings, round-robin picking.

**Order.**  Work is launched round by round: sample (round) 0 of every problem, then round 1,
... (a round is one request of up to ``max_n`` samples of a problem).  If the money runs out
early, every problem has had its share of the rounds paid so far.

**Policies** (``budget.planner.Policy``).  ``fixed``: every planned sample is bought.
``until-pass``: one sample of a problem at a time (n = 1), verified as it arrives; once the
production verifier accepts one, the problem gets no more samples.  A problem with a sample
in flight or awaiting its verdict is skipped until the verdict is in, so no sample is bought
that the policy would not have bought sequentially.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from budget.executor.records import Prompt


class RunPolicy(StrEnum):
    FIXED = "fixed"
    UNTIL_PASS = "until-pass"


@dataclass(frozen=True)
class ProblemWork:
    """Samples still to buy of one problem for one model."""

    model: str
    problem_id: str
    prompt: Prompt
    indices: tuple[int, ...]
    solved: bool = False  # accepted in an earlier session (until-pass skips it)
    done: int = 0  # samples already bought in earlier sessions


@dataclass(frozen=True)
class RunnerSettings:
    policy: RunPolicy = RunPolicy.FIXED
    max_tokens: int = 512
    temperature: float = 0.8
    top_p: float = 0.95
    timeout_s: float = 120.0
    seed: int = 0
    max_attempts: int = 8
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    verify_workers: int = 2
    max_consecutive_failures: int = 5


@dataclass
class _Problem:
    work: ProblemWork
    remaining: list[int]
    solved: bool
    pending: int = 0  # samples in flight or awaiting a verdict


@dataclass
class _Unit:
    problem: _Problem
    indices: list[int]


class _ModelState:
    def __init__(self, model: str, work: Sequence[ProblemWork], max_n: int, policy: RunPolicy) -> None:
        self.model = model
        self.problems = [_Problem(w, list(w.indices), w.solved) for w in work]
        self.max_n = 1 if policy is RunPolicy.UNTIL_PASS else max(1, max_n)
        self.policy = policy
        self.cursor = 0
        self.exhausted = False
        self.consecutive_failures = 0

    def planned(self) -> int:
        return sum(len(p.remaining) for p in self.problems if not p.solved)

    def pick(self) -> _Unit | bool | None:
        """The next unit; ``None`` when nothing is left, ``False`` to wait for a verdict.

        Round robin from a cursor: with equal samples per problem this is round by round, and
        a pick costs O(1) until problems run out.
        """
        if self.exhausted:
            return None
        until_pass = self.policy is RunPolicy.UNTIL_PASS
        waiting = False
        count = len(self.problems)
        for step in range(count):
            at = (self.cursor + step) % count
            p = self.problems[at]
            if until_pass and p.solved:
                continue
            if not p.remaining or (until_pass and p.pending):
                # samples in flight may come back unbought (a retry the budget cannot cover)
                # or, under until-pass, be rejected: wait for them
                waiting = waiting or p.pending > 0
                continue
            self.cursor = (at + 1) % count
            return _Unit(p, p.remaining[: self.max_n])
        return False if waiting else None
