"""Terminal reports (rich) and exports; one module per area.  Rendering only: no decisions."""

#: The package's face is its modules (one per area); nothing is re-exported.
__all__ = [
    "backtest",
    "brief",
    "calibration",
    "chart",
    "check",
    "export",
    "figures",
    "fit",
    "inspection",
    "listing",
    "local",
    "plan",
    "progress",
    "run",
    "tables",
    "text",
    "verifier",
    "verify",
]
