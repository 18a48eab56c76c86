"""budget: cost-aware model comparison.

With a fixed number of dollars, which model should be sampled, and how many times per
problem, to solve the most problems?  The pure core (``budget.pricing``,
``budget.curves``, ``budget.planner``) does no I/O; the edges (CLI, store, executor,
verifiers, reports) join it through ``budget.service``.

Importing this package must stay cheap: it never imports litellm or vllm.
"""

__version__ = "0.1.0"
SCHEMA_VERSION = 1

__all__ = ["SCHEMA_VERSION", "__version__"]
