"""Coverage curves: unbiased pass@k, fitted forms and their uncertainty.

``fit_counts`` (fixed samples per problem) and ``fit_until_pass`` (stopped sampling) are
imported lazily (on first attribute access) so that ``import
budget.curves`` stays light for the planner's start-up path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from budget.curves.base import FORMS, CoverageCurve, register_form
from budget.curves.form import CurveForm

if TYPE_CHECKING:
    from budget.curves.selection import fit_counts
    from budget.curves.stopped import fit_until_pass

__all__ = ["FORMS", "CoverageCurve", "CurveForm", "fit_counts", "fit_until_pass", "register_form"]


def __getattr__(name: str) -> Any:
    if name == "fit_counts":
        from budget.curves.selection import fit_counts

        return fit_counts
    if name == "fit_until_pass":
        from budget.curves.stopped import fit_until_pass

        return fit_until_pass
    raise AttributeError(f"module 'budget.curves' has no attribute {name!r}")
