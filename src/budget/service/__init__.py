"""The service layer: joins the pure core to the edges.

The core is pricing, curves and planner; the edges are store, executor, verifiers and reports.
One module per use case; the CLI calls one function here per command.
"""

#: The package's face is its modules (one per use case); nothing is re-exported.
__all__ = [
    "backtest",
    "calibration",
    "check",
    "contracts",
    "fitting",
    "importing",
    "listing",
    "local_model",
    "planning",
    "predictions",
    "progress",
    "reporting",
    "running",
    "store_link",
    "store_view",
    "tasks",
    "verification",
    "verifier_planning",
]
