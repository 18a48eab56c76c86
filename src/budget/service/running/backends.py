"""The backends, cost models (with the price snapshots kept with the run) and verifier a run uses."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from budget.errors import BackendError, InputError, PricingError, UnknownNameError
from budget.service.running.request import TIERS_OF, RunRequest

if TYPE_CHECKING:
    from budget.executor.backends.base import Backend
    from budget.executor.costs import CostModel
    from budget.executor.records import Prompt
    from budget.tasks import Task
    from budget.verify.protocol import Verdict


def _costs(request: RunRequest, models: Sequence[str]) -> tuple[dict[str, CostModel], list[Any]]:
    from budget.executor.costs import BusyClock, MachineTimeCost, TokenCost, parse_price
    from budget.pricing import default_price_book
    from budget.store import PriceSnapshot

    book = default_price_book()
    overrides = {book.canonical(p.model): p for p in (parse_price(s) for s in request.prices)}
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
            request.api_base,
            concurrency=request.concurrency or DEFAULT_CONCURRENCY,
            max_n=request.n_per_request or 1,
            api_key=request.api_key.get_secret_value() if request.api_key is not None else None,
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
        out[m] = LiteLLMBackend(
            m,
            concurrency=request.concurrency or DEFAULT_CONCURRENCY,
            max_n=request.n_per_request,
            api_base=request.api_base,
        )
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


# --- before anything is bought: can the backends be reached, and how hard may they be pushed -----
#: Requests in flight per backend when neither ``--concurrency`` nor the server says otherwise.
DEFAULT_CONCURRENCY = 8
#: A request's timeout when neither ``--timeout`` nor a measured throughput says otherwise.
DEFAULT_TIMEOUT_S = 120.0
#: Headroom of a sized timeout over a request's expected time (slower slots, long prompts).
TIMEOUT_HEADROOM = 3.0


def _server_slots(request: RunRequest) -> tuple[int | None, str]:
    """Reach the OpenAI-compatible server at ``--api-base`` and read its parallel slots.

    llama.cpp's server answers ``GET /props`` with ``total_slots`` (and ``GET /slots`` with one
    entry per slot); vLLM and hosted APIs have neither, which is fine (None).  A server that
    cannot be reached at all ends the run here, before a run is created or a cent is reserved.
    """
    import httpx

    from budget.executor.backends.openai_server import normalise_base_url
    from budget.report.text import printable

    assert request.api_base is not None
    base = normalise_base_url(request.api_base)
    root = base.rsplit("/v1", 1)[0] if base.endswith("/v1") else base
    key = request.api_key.get_secret_value() if request.api_key is not None else None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    timeout = httpx.Timeout(min(request.timeout_s or DEFAULT_TIMEOUT_S, 10.0))
    try:
        with httpx.Client(timeout=timeout, headers=headers, verify=not base.startswith("http://")) as http:
            for path in ("/props", "/slots"):
                reply = http.get(root + path)
                if reply.status_code != 200:
                    continue
                try:
                    doc = reply.json()
                    slots = int(doc["total_slots"]) if path == "/props" else len(doc)
                except (ValueError, KeyError, TypeError):
                    continue
                if 0 < slots <= 1024:
                    return slots, f"GET {path}"
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise BackendError(
            f"cannot reach the server at {base} ({printable(str(exc)) or type(exc).__name__}): is it "
            "running (budget local start)? else fix --api-base"
        ) from None
    except httpx.HTTPError:
        return None, ""  # reachable, but it does not say how many requests it serves at once
    return None, ""


def _missing_keys(request: RunRequest, models: Sequence[str]) -> None:
    """Refuse a litellm run whose provider keys are not set (it would only collect auth errors)."""
    if request.api_base:
        return  # a server the user pointed at: it decides whether it wants a key
    from budget.executor.backends.litellm_api import import_litellm

    litellm = import_litellm()
    for m in models:
        try:
            env = litellm.validate_environment(model=m)
        except Exception:  # a model litellm cannot map: its own error comes at the first request
            continue
        missing = [str(k) for k in env.get("missing_keys") or []]
        if missing:
            raise InputError(
                f"missing API key for {m}: set {' and '.join(missing)} "
                "(or point --api-base at an OpenAI-compatible server)"
            )


def _sizing(request: RunRequest, models: Sequence[str]) -> tuple[RunRequest, str, str]:
    """Check the backends can be used and choose the concurrency (say which, and why).

    ``--concurrency`` wins; else a local server's parallel slots (more requests than slots only
    queue on the server, where they run into their timeouts and are charged); else
    :data:`DEFAULT_CONCURRENCY`.

    The timeout: ``--timeout`` wins; else, on a machine whose throughput for the models was
    measured (``pricing/throughput.toml``), :data:`TIMEOUT_HEADROOM` times the time one request
    of ``max_tokens`` takes when ``concurrency`` requests share the machine's aggregate decode
    rate R: ``headroom x max_tokens x concurrency / R`` (a 120 s default against a slow model
    on 2 cores timed requests out, and a timed-out request is charged); else
    :data:`DEFAULT_TIMEOUT_S`.  Returns the request with both set, and the reason for each.
    """
    kind = request.backend
    if kind == "auto":
        kind = "server" if request.api_base else "litellm"
    slots, where = (None, "")
    if kind == "server" and request.api_base:
        slots, where = _server_slots(request)
    elif kind == "litellm":
        _missing_keys(request, models)
    if request.concurrency is not None:
        chosen, why = request.concurrency, "--concurrency"
    elif slots is not None:
        chosen, why = slots, f"the server's {slots} slots ({where})"
    else:
        chosen, why = DEFAULT_CONCURRENCY, "default"
    timeout, timeout_why = _timeout(request, models, chosen)
    return request.model_copy(update={"concurrency": chosen, "timeout_s": timeout}), why, timeout_why


def _timeout(request: RunRequest, models: Sequence[str], concurrency: int) -> tuple[float, str]:
    if request.timeout_s is not None:
        return request.timeout_s, "--timeout"
    if request.machine is None:
        return DEFAULT_TIMEOUT_S, "default"
    from budget.pricing import default_price_book

    book = default_price_book()
    rates = [t for m in models if (t := book.throughput(m, request.machine)) is not None]
    if len(rates) < len(models):
        return DEFAULT_TIMEOUT_S, "default"
    slowest = min(rates, key=lambda t: t.output_tokens_per_second)
    tps = slowest.output_tokens_per_second
    seconds = TIMEOUT_HEADROOM * request.max_tokens * concurrency / tps
    seconds = float(min(86400, max(30, math.ceil(seconds))))
    return seconds, (
        f"{TIMEOUT_HEADROOM:g} x {request.max_tokens} tokens x {concurrency} in flight / "
        f"{tps:g} tok/s measured for {slowest.model} on {request.machine}"
    )


def _one_request_fits(
    request: RunRequest,
    costs: Mapping[str, CostModel],
    prompts: Mapping[str, Prompt],
    cap_micro: int,
    spent_micro: int,
) -> None:
    """Refuse, before anything is created, a cap that cannot hold one request's worst case.

    The ledger reserves a request's worst-case cost before sending it (``budget.executor.ledger``);
    if the cheapest single-sample request of every model is above what is left of the cap, the
    run could only stop with nothing bought.  The message names the settings that would fit: the
    cap it needs, or the largest ``--max-tokens`` (token prices) or ``--timeout`` (machine time)
    whose worst case fits.
    """
    from budget.executor.records import GenerationRequest
    from budget.money import fmt_usd, from_micro

    def worst(model: str, max_tokens: int, timeout_s: float) -> int:
        return costs[model].worst_case_micro(
            GenerationRequest(
                model=model, prompt=prompts[model], n=1, max_tokens=max_tokens, timeout_s=timeout_s
            )
        )

    timeout_s = request.timeout_s or DEFAULT_TIMEOUT_S
    left_micro = cap_micro - spent_micro
    needs = {m: worst(m, request.max_tokens, timeout_s) for m in prompts}
    if not needs or min(needs.values()) <= left_micro:
        return
    model = min(needs, key=lambda m: needs[m])
    need = needs[model]
    fixes = [f"--dollars ${from_micro(need + spent_micro).normalize():f}"]
    lo, hi = 0, request.max_tokens - 1  # the largest max_tokens that fits, by bisection (monotone)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if worst(model, mid, timeout_s) <= left_micro:
            lo = mid
        else:
            hi = mid - 1
    if lo > 0 and worst(model, lo, timeout_s) < need:
        fixes.append(f"--max-tokens {lo}")
    elif worst(model, request.max_tokens, 1.0) <= left_micro:  # machine time: the timeout is the bound
        lo, hi = 1, max(1, int(timeout_s))
        while lo < hi:  # the longest whole-second timeout that fits, by bisection (monotone)
            mid = (lo + hi + 1) // 2
            if worst(model, request.max_tokens, float(mid)) <= left_micro:
                lo = mid
            else:
                hi = mid - 1
        fixes.append(f"--timeout {lo}")
    bound = (
        f"{timeout_s:g}s of machine time"
        if costs[model].kind == "local_machine"
        else f"prompt + {request.max_tokens} output tokens"
    )
    raise InputError(
        f"the cap leaves {fmt_usd(from_micro(left_micro))}, below one request's worst case "
        f"({fmt_usd(from_micro(need))} for {model}: {bound}); nothing could be bought: "
        f"pass {' or '.join(fixes)}"
    )
