"""Model backends behind one interface (:class:`budget.executor.backends.base.Backend`).

Each module imports its client library lazily, inside functions, so importing budget stays
cheap and ``budget plan`` never loads litellm, httpx or vllm.
"""

#: The package's face is its modules (each imports its heavy clients lazily); nothing is re-exported.
__all__ = ["base", "litellm_api", "openai_server", "usage", "vllm_offline"]
