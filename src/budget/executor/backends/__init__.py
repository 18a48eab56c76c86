"""Model backends behind one interface (:class:`budget.executor.backends.base.Backend`).

Each module imports its client library lazily, inside functions, so importing budget stays
cheap and ``budget plan`` never loads litellm, httpx or vllm.
"""
