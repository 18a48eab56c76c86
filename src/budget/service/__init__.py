"""The service layer: joins the pure core (pricing, curves, planner) to the edges
(store, executor, verifiers, reports).  One module per use case; the CLI calls one
function here per command."""

#: The package's face is its modules (one per use case); nothing is re-exported.
__all__ = [
    "calibration",
    "catalog_view",
    "contracts",
    "fitting",
    "local_model",
    "planning",
    "reporting",
    "running",
    "store_link",
    "store_view",
    "tasks",
    "verification",
]
