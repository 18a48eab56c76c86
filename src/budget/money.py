"""Exact money.

Outside the optimizer, amounts are ``decimal.Decimal`` US dollars.  Stores keep integer
micro-dollars (1e-6 USD) so sums are exact in any SQL backend.  The optimizer works in
floats and converts back through :func:`usd` at its boundary.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated

from pydantic import PlainSerializer

from budget.errors import InputError

MICRO = Decimal("0.000001")

#: A Decimal that serialises to a JSON number (not a string) in exported JSON.
USD = Annotated[Decimal, PlainSerializer(lambda d: float(d), return_type=float, when_used="json")]


def usd(value: object, *, what: str = "amount") -> Decimal:
    """Parse a dollar amount exactly; reject NaN, infinities and non-numbers."""
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InputError(f"{what} must be a number of dollars, got {value!r}") from exc
    if not d.is_finite():
        raise InputError(f"{what} must be a finite number of dollars, got {value!r}")
    return d


#: The largest cap or budget budget accepts: a trillion dollars.  Larger amounts are a typo, and
#: the optimizer's floats (``budget.planner``) cannot represent a share of them exactly.
MAX_DOLLARS = Decimal(10) ** 12


def positive_dollars(value: object, *, what: str = "--dollars") -> Decimal:
    """A budget or cap: a finite, positive amount of at most :data:`MAX_DOLLARS`."""
    amount = usd(value, what=what)
    if amount <= 0:
        raise InputError(f"{what} must be positive, got {value}")
    if amount > MAX_DOLLARS:
        raise InputError(f"{what} must be at most ${MAX_DOLLARS:,}, got {value}")
    return amount


def to_micro(amount: Decimal, *, round_up: bool = False) -> int:
    """Dollars to integer micro-dollars (half-even, or ceiling for reservations)."""
    rounding = ROUND_CEILING if round_up else ROUND_HALF_EVEN
    return int((amount / MICRO).to_integral_value(rounding=rounding))


def from_micro(micro: int) -> Decimal:
    """Integer micro-dollars to dollars."""
    return Decimal(micro) * MICRO


def fmt_usd(amount: Decimal | float) -> str:
    """Human formatting: cents for amounts >= $1, more digits below."""
    a = Decimal(str(amount))
    if abs(a) >= 1:
        return f"${a:,.2f}"
    if a == 0:
        return "$0"
    return f"${a:.4g}" if abs(a) >= Decimal("0.0001") else f"${a:.2e}"
