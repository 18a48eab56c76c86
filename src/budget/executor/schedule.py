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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from budget.executor.records import Prompt
from budget.planner.models import Policy


@dataclass(frozen=True)
class ProblemWork:
    """Samples still to buy of one problem for one model."""

    model: str
    problem_id: str
    prompt: Prompt
    indices: Sequence[int]  # a range for a fresh problem: a billion samples cost no memory
    solved: bool = False  # accepted in an earlier session (until-pass skips it)
    done: int = 0  # samples already bought in earlier sessions


@dataclass(frozen=True)
class RunnerSettings:
    """How a runner samples: the policy, sampling parameters, timeouts, retries and verify workers."""
    policy: Policy = Policy.FIXED
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


class _Remaining:
    """The sample indices of a problem still to buy, in increasing order, without listing them.

    A problem's indices (usually ``range(k)``) are consumed from the front; indices handed back
    (a request that could not be retried) are kept apart and go first.  Memory is O(handed back),
    not O(k): ``--samples 1000000000`` costs nothing until bought.
    """

    def __init__(self, indices: Sequence[int]) -> None:
        self._base = indices
        self._pos = 0
        self._back: list[int] = []

    def __len__(self) -> int:
        return len(self._base) - self._pos + len(self._back)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[int]:
        yield from self._back
        for i in range(self._pos, len(self._base)):
            yield self._base[i]

    def __getitem__(self, key: slice) -> list[int]:
        """Only ``[:n]``: the first ``n`` indices."""
        n = len(self) if key.stop is None else key.stop
        head = self._back[:n]
        rest = max(0, n - len(head))
        return head + list(self._base[self._pos : self._pos + rest])

    def remove(self, index: int) -> None:
        if index in self._back:
            self._back.remove(index)
        elif self._pos < len(self._base) and self._base[self._pos] == index:
            self._pos += 1
        else:
            raise ValueError(f"sample index {index} is not next to buy")

    def give_back(self, indices: Sequence[int]) -> None:
        self._back = sorted([*self._back, *indices])


@dataclass
class _Problem:
    work: ProblemWork
    remaining: _Remaining
    solved: bool
    pending: int = 0  # samples in flight or awaiting a verdict


@dataclass
class _Unit:
    problem: _Problem
    indices: list[int]


class _ModelState:
    def __init__(self, model: str, work: Sequence[ProblemWork], max_n: int, policy: Policy) -> None:
        self.model = model
        self.problems = [_Problem(w, _Remaining(w.indices), w.solved) for w in work]
        self.max_n = 1 if policy is Policy.UNTIL_PASS else max(1, max_n)
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
        until_pass = self.policy is Policy.UNTIL_PASS
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
