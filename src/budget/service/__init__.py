"""The service layer: joins the pure core (pricing, curves, planner) to the edges
(store, executor, verifiers, reports).  One module per use case; the CLI calls one
function here per command."""
