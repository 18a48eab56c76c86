"""The backends, cost models (with the price snapshots kept with the run) and verifier a run uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from budget.errors import InputError, PricingError, UnknownNameError
from budget.service.running.request import TIERS_OF, RunRequest

if TYPE_CHECKING:
    from budget.executor.backends.base import Backend
    from budget.executor.costs import CostModel
    from budget.tasks import Task
    from budget.verify.protocol import Verdict


def _costs(request: RunRequest, models: Sequence[str]) -> tuple[dict[str, CostModel], list[Any]]:
    from budget.executor.costs import BusyClock, MachineTimeCost, TokenCost, parse_price
    from budget.pricing import default_price_book
    from budget.store import PriceSnapshot

    book = default_price_book()
    overrides = {p.model: p for p in (parse_price(s) for s in request.prices)}
    costs: dict[str, CostModel] = {}
    snaps = []
    machine = book.machine(request.machine) if request.machine else None
    clock = BusyClock()
    for m in models:
        if m in overrides:
            price = overrides[m]
            costs[m] = TokenCost(price)
        elif machine is not None:
            costs[m] = MachineTimeCost(machine, clock)
            snaps.append(PriceSnapshot.for_machine(m, machine))
            continue
        else:
            try:
                price = book.token_price(m)
            except (UnknownNameError, PricingError) as exc:
                raise PricingError(
                    f"no price for model {m!r}: pass --price {m}=IN,OUT (USD per million tokens) "
                    "or --machine NAME for a local server"
                ) from exc
            costs[m] = TokenCost(price)
        snaps.append(
            PriceSnapshot(
                model=m,
                input_per_mtok=price.input_per_mtok,
                output_per_mtok=price.output_per_mtok,
                cached_input_per_mtok=price.cached_input_per_mtok,
                source=price.source,
                as_of=price.as_of,
                litellm_version=book.litellm_version,
            )
        )
    return costs, snaps


def _backends(request: RunRequest, models: Sequence[str]) -> dict[str, Backend]:
    kind = request.backend
    if kind == "auto":
        kind = "server" if request.api_base else "litellm"
    out: dict[str, Backend] = {}
    if kind == "server":
        from budget.executor.backends.openai_server import OpenAIServerBackend

        if not request.api_base:
            raise InputError("--backend server needs --api-base URL")
        shared = OpenAIServerBackend(
            request.api_base, concurrency=request.concurrency, max_n=request.n_per_request or 1
        )
        return dict.fromkeys(models, shared)
    if kind == "vllm":
        from budget.executor.backends.vllm_offline import VLLMOfflineBackend

        if request.machine is None:
            raise InputError("the vLLM backend is priced by GPU time: pass --machine (e.g. h100-80gb)")
        for m in models:
            out[m] = VLLMOfflineBackend(m, max_n=request.n_per_request or 1024)
        return out
    from budget.executor.backends.litellm_api import LiteLLMBackend

    for m in models:
        out[m] = LiteLLMBackend(m, concurrency=request.concurrency, max_n=request.n_per_request)
    return out


def _verifier(task: Task, request: RunRequest) -> Callable[[str, str], Mapping[str, Verdict]] | None:
    tiers = TIERS_OF[request.verify]
    if not tiers:
        return None
    from budget.service.verification import verify_one

    def verify(problem_id: str, completion: str) -> Mapping[str, Verdict]:
        return {
            tier: verify_one(
                task,
                problem_id,
                completion,
                tier=tier,  # type: ignore[arg-type]
                unsafe_no_sandbox=request.unsafe_no_sandbox,
                mode=request.mode,
            )
            for tier in tiers
        }

    return verify
