"""Prices the user gives on the command line: ``--price MODEL=IN,OUT`` or ``MODEL=USD``.

Pure: no I/O.  ``MODEL=IN,OUT`` is a per-token price in USD per million input and output
tokens; ``MODEL=USD`` a price per attempt (one whole sample, e.g. an agent's trajectory).
Either is dated today and sourced as user-given, so a plan re-priced with it says so.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from budget.errors import InputError
from budget.money import USD, usd
from budget.pricing.model import AttemptPrice, MachinePrice, TokenPrice
from budget.pricing.tables import PriceBook

USER_SOURCE = "user-given (--price on the command line)"


class PriceOverride(BaseModel):
    """One ``--price``: a per-token price or a per-attempt price of a model."""

    model_config = ConfigDict(frozen=True)

    model: str
    token: TokenPrice | None = None
    usd_per_attempt: USD | None = None
    as_of: str

    def attempt(self, task: str) -> AttemptPrice:
        """This per-attempt override as an :class:`AttemptPrice` of ``task``."""
        if self.usd_per_attempt is None:
            raise InputError(f"--price {self.model}: a per-attempt price (MODEL=USD) is needed here")
        return AttemptPrice(
            model=self.model,
            task=task,
            usd_per_attempt=self.usd_per_attempt,
            source=USER_SOURCE,
            as_of=self.as_of,
        )


def parse_override(spec: str, *, today: dt.date | None = None) -> PriceOverride:
    """``MODEL=IN,OUT`` (USD per million tokens) or ``MODEL=USD`` (per attempt)."""
    model, sep, rest = spec.partition("=")
    parts = [p.strip() for p in rest.split(",")]
    if not sep or not model.strip() or len(parts) not in (1, 2) or not all(parts):
        raise InputError(
            f"--price expects MODEL=IN,OUT (USD per million tokens) or MODEL=USD (per attempt), got {spec!r}"
        )
    as_of = (today or dt.date.today()).isoformat()
    amounts = [usd(p, what="--price") for p in parts]
    if any(a < 0 for a in amounts):
        raise InputError(f"--price must not be negative, got {spec!r}")
    name = model.strip()
    if len(amounts) == 1:
        if amounts[0] == 0:
            raise InputError(f"--price {name}: a price per attempt must be positive, got {spec!r}")
        return PriceOverride(model=name, usd_per_attempt=amounts[0], as_of=as_of)
    token = TokenPrice(
        model=name, input_per_mtok=amounts[0], output_per_mtok=amounts[1], source=USER_SOURCE, as_of=as_of
    )
    return PriceOverride(model=name, token=token, as_of=as_of)


def parse_overrides(specs: list[str]) -> dict[str, PriceOverride]:
    """Every ``--price``, by model name (a repeated model is an error)."""
    out: dict[str, PriceOverride] = {}
    for spec in specs:
        o = parse_override(spec)
        if o.model in out:
            raise InputError(f"--price names {o.model} twice")
        out[o.model] = o
    return out


def parse_machine(spec: str, machines: dict[str, MachinePrice]) -> MachinePrice:
    """``--machine NAME`` (a machine of the price table) or ``NAME=USD_PER_HOUR`` (user-given)."""
    from budget.errors import UnknownNameError

    name, sep, rate = (p.strip() for p in spec.partition("="))
    base = machines.get(name)
    if not sep:
        if base is None:
            raise UnknownNameError("machine", name, list(machines))
        return base
    per_hour = usd(rate, what="--machine $/hour")
    if per_hour <= 0:
        raise InputError(f"--machine {name}: $/hour must be positive, got {rate!r}")
    if base is None:
        raise UnknownNameError("machine", name, list(machines), context="(its peak TFLOP/s is needed)")
    return base.model_copy(
        update={
            "usd_per_hour": per_hour,
            "source": USER_SOURCE.replace("--price", "--machine"),
            "as_of": dt.date.today().isoformat(),
        }
    )


class RepricedBook(PriceBook):
    """A price book with the user's ``--price``, ``--machine`` and worst-case multiple on top.

    Per-attempt overrides replace a model's published cost per attempt; ``machine`` replaces
    every local model's machine; ``worst_attempt_multiple`` states an upper bound per attempt
    as that multiple of the average where no bound is published.
    """

    def __init__(
        self,
        base: PriceBook,
        overrides: dict[str, PriceOverride] | None = None,
        machine: MachinePrice | None = None,
        worst_attempt_multiple: Decimal | None = None,
    ) -> None:
        super().__init__(base.directory, base._litellm_path)
        self.user = {base.canonical(k): v for k, v in (overrides or {}).items()}
        self.machine_override = machine
        self.worst_multiple = worst_attempt_multiple

    def machine(self, name: str) -> MachinePrice:
        """The machine's price, or the user's machine override."""
        return self.machine_override or super().machine(name)

    def attempt_price(self, model: str, task: str) -> AttemptPrice | None:
        """The per-attempt price of ``model`` on ``task``, the user's where given."""
        name = self.canonical(model)
        o = self.user.get(name)
        price = (
            o.attempt(task)
            if o is not None and o.usd_per_attempt is not None
            else super().attempt_price(model, task)
        )
        if price is None or price.worst_usd_per_attempt is not None or self.worst_multiple is None:
            return price
        return price.model_copy(
            update={
                "worst_usd_per_attempt": price.usd_per_attempt * self.worst_multiple,
                "worst_source": f"user-given multiple: {self.worst_multiple}x the average "
                "(--worst-multiple)",
            }
        )

    def token_override(self, model: str) -> TokenPrice | None:
        """The user's per-token price of ``model``, if any."""
        o = self.user.get(self.canonical(model))
        return o.token if o is not None else None
