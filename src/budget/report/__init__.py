"""Terminal reports (rich) and exports; one module per area.  Rendering only: no decisions."""

#: The package's face is its modules (one per area); nothing is re-exported.
__all__ = [
    "brief",
    "calibration",
    "catalog",
    "chart",
    "export",
    "figures",
    "fit",
    "local",
    "plan",
    "run",
    "tables",
    "text",
    "verify",
]
