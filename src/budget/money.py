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


#: How a cost that is not known reads (an import without costs): never ``$0``, which reads as free.
UNKNOWN_COST = "unknown"
#: The note beside a table that shows :data:`UNKNOWN_COST`.
UNKNOWN_COST_NOTE = "unknown: the imported samples carry no cost, which is not free"


def fmt_usd(amount: Decimal | float | int | None, *, digits: int = 3) -> str:
    """The one human money format: ``digits`` significant figures, thousands separators.

    At least cents from $1 up (``$3.00``, ``$1,234.57``: whole cents are kept, never rounded
    into fewer figures), ``digits`` significant figures below a dollar (``$0.0027``,
    ``$0.0324``), no exponent notation (``$0.0000170``), ``$0`` for zero, ``unknown`` for None
    (a cost not known).  Exact: formats the Decimal, never a binary float (floats, numpy's
    too, go through ``repr`` first).
    """
    if amount is None:
        return UNKNOWN_COST
    if isinstance(amount, Decimal):
        a = amount
    elif isinstance(amount, int):
        a = Decimal(amount)
    else:  # float, numpy floating: the shortest decimal that round-trips
        a = Decimal(repr(float(amount)))
    if not a.is_finite():
        return f"${a}"
    if a == 0:
        return "$0"
    sign = "-" if a < 0 else ""
    a = abs(a)
    if a >= 1:
        return f"{sign}${a:,.2f}"
    # Below a dollar: round to `digits` significant figures, then print as fixed point.
    exponent = a.adjusted()  # 0.0324 -> -2
    places = digits - 1 - exponent
    q = a.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if q.adjusted() > exponent:  # 0.0009996 rounds up to 0.00100, one figure fewer
        q = q.quantize(Decimal(1).scaleb(-(places - 1)))
    if q >= 1:  # 0.9996 rounds up to a dollar
        return f"{sign}${q:,.2f}"
    return f"{sign}${q:f}"


def fmt_count(value: float | int, *, digits: int = 3) -> str:
    """A count or multiple for reports: thousands separators, no float noise.

    Integers print whole (``32,398``); other values with ``digits`` significant figures but
    never in exponent notation (``80.1``, ``0.0523``, ``1,234``).
    """
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    v = float(value)
    if abs(v) >= 10 ** (digits - 1):
        return f"{round(v):,}"
    d = Decimal(repr(v))
    places = digits - 1 - d.adjusted()
    q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if q.adjusted() > d.adjusted():  # 9.9999e-6 rounds up to 1.000e-5: one figure fewer
        places -= 1
        q = q.quantize(Decimal(1).scaleb(-places))
    if places <= 0:  # 99.96 rounds up to 100: a whole number prints whole
        return f"{int(q):,}"
    return f"{q:f}"


def fmt_pct(fraction: float, *, places: int = 1) -> str:
    """A fraction as a percentage with ``places`` decimals (``27.5%``); a value that is not zero
    but would round to it gets one significant figure (``0.04%``), never ``0.0%``.
    """
    v = 100 * float(fraction)
    if v != 0 and abs(v) < 0.5 * 10**-places:
        return f"{fmt_count(v, digits=1)}%"
    return f"{v:.{places}f}%"
