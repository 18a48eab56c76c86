"""The planner's inputs and outputs: candidates, settings, allocations, estimates, the plan."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from budget import SCHEMA_VERSION
from budget.curves import CoverageCurve
from budget.money import USD
from budget.planner.provenance import Provenance
from budget.pricing import SampleCost

DENSE_K = 2048  # every integer k up to here is an option; geometric steps beyond
GEOMETRIC_STEP = 1.002
N_DRAWS = 2000  # Monte Carlo draws behind every interval


class Policy(StrEnum):
    """How samples are bought: ``fixed`` (every one planned) or ``until-pass``.

    ``until-pass`` stops sampling a problem at its first accepted sample.
    """
    FIXED = "fixed"
    UNTIL_PASS = "until-pass"


class Candidate(BaseModel):
    """A model the planner may use: its coverage curve and its cost per sample."""

    model_config = ConfigDict(frozen=True)

    model: str
    display: str = ""
    tier: Literal["frontier", "open"] = "open"
    curve: CoverageCurve
    cost: SampleCost
    source: str = ""
    #: (prompt, mean output, max output) tokens of one sample, where measured or stated;
    #: lets ``--price MODEL=IN,OUT`` re-price a cost measured per sample.
    tokens: tuple[int, float, int] | None = None
    #: Published (k, coverage) points behind the curve, to say which figures are measured.
    published: dict[int, float] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        """The name a reader sees (the display name, else the model id)."""
        return self.display or self.model


class PlanSettings(BaseModel):
    """What the planner is asked."""

    model_config = ConfigDict(frozen=True)

    dollars: USD
    task: str
    problems: int = Field(gt=0)
    policy: Policy = Policy.FIXED
    hard_cap: bool = False
    max_extrapolation: float = Field(default=10.0, gt=0)
    max_samples: int = Field(default=100_000, gt=0, le=10_000_000)
    level: float = Field(default=0.9, gt=0, lt=1)
    seed: int = 0
    unit: str = "problems"

    @field_validator("dollars")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if not v.is_finite() or v <= 0:
            raise ValueError("dollars must be a positive, finite amount")
        return v


class Allocation(BaseModel):
    """One group of the plan: a model, samples per problem, the policy and how many problems."""
    model: str
    samples_per_problem: int
    policy: Policy
    problems: int
    expected_coverage: float
    expected_cost: USD


class Estimate(BaseModel):
    """Expected outcome of a plan, with intervals at ``level``."""

    allocations: list[Allocation]
    expected_coverage: float
    expected_coverage_interval: tuple[float, float]
    expected_solved: float
    solved_interval: tuple[float, float]
    expected_cost: USD
    worst_case_cost: USD
    dollars_per_solved: USD | None
    unsampled_problems: int
    extrapolation: float = 0.0


class Recommendation(Estimate):
    """The plan's estimate, with its one-line headline."""
    headline: str


class Alternative(Estimate):
    """One model alone at the same budget (the comparison table)."""
    model: str
    display: str
    tier: str
    samples_per_problem: int
    cost_model: str
    source: str
    provenance: Provenance | None = None


class SingleSample(BaseModel):
    """One sample per problem of a model, priced, whether or not the budget allows it."""

    model: str
    display: str
    expected_coverage: float
    expected_coverage_interval: tuple[float, float]
    expected_solved: float
    cost: USD
    within_budget: bool
    provenance: Provenance | None = None


class FrontierPoint(BaseModel):
    """Expected problems solved at one budget (a point of the frontier chart)."""
    dollars: float
    expected_solved: float


class Crossing(BaseModel):
    """Where two models' frontiers cross: below ``dollars`` one wins, above it the other."""

    cheaper_wins_below: str
    dearer_wins_above: str
    dollars: float


class PlanResult(BaseModel):
    """The outcome of ``budget plan`` (``--json`` prints it)."""
    schema_version: int = SCHEMA_VERSION
    inputs: PlanSettings
    recommendation: Recommendation
    alternatives: list[Alternative]
    frontier_single_sample: list[SingleSample]
    frontier: dict[str, list[FrontierPoint]]
    crossings: list[Crossing]
    assumptions: list[str]
    warnings: list[str]
