"""The executor: sends sampling requests to model backends under a hard spending cap.

* :mod:`budget.executor.records` -- what goes in and out of a backend, and a finished sample.
* :mod:`budget.executor.ledger` -- the budget guarantee (reserve worst case, settle actual).
* :mod:`budget.executor.costs` -- per-token and machine-time cost models in micro-dollars.
* :mod:`budget.executor.runner` -- the asyncio loop: policies, concurrency, retries, progress.
* :mod:`budget.executor.schedule` -- the work per problem, policies, round-robin picking.
* :mod:`budget.executor.accounting` -- the runner's tallies, charges, progress and outcome.
* :mod:`budget.executor.backends` -- litellm, OpenAI-compatible servers, vLLM's offline engine.

Nothing here is imported by ``budget plan``; backends import their clients lazily.
"""

#: The package's face is its modules (each imports its heavy clients lazily); nothing is re-exported.
__all__ = ["accounting", "backends", "costs", "ledger", "prompts", "records", "runner", "schedule"]
