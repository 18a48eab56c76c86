"""Coverage curves: unbiased pass@k, fitted forms and their uncertainty."""

from budget.curves.base import FORMS, CoverageCurve, CurveForm, register_form

__all__ = ["FORMS", "CoverageCurve", "CurveForm", "register_form"]
