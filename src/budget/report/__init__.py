"""Terminal reports (rich) and exports; one module per area.  Rendering only: no decisions."""
