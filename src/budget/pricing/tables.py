"""Loading price tables: budget's own TOML tables and litellm's price table, read as data.

litellm's table is the JSON file ``litellm/model_prices_and_context_window_backup.json``
inside the installed ``litellm`` distribution.  It is located through
``importlib.metadata`` and parsed with ``json``: litellm itself is never imported here (its
import takes seconds and fetches prices from the network unless told not to).

Resolution order for a per-token price: alias -> ``pricing/overrides.toml`` -> litellm's
table (exact key, then the key without a ``provider/`` prefix, then with the provider
prefix litellm uses) -> an :class:`~budget.errors.UnknownNameError` with close matches.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import cached_property, lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from budget.errors import DataError, InputError, PricingError, UnknownNameError
from budget.pricing import names
from budget.pricing.model import AttemptPrice, MachinePrice, Throughput, TokenPrice

LITELLM_TABLE = "litellm/model_prices_and_context_window_backup.json"


def bundled_dir(name: str) -> Path:
    """A data directory shipped with budget: inside the wheel, or the source checkout's."""
    here = Path(__file__).resolve().parent.parent  # src/budget
    for candidate in (here / "_bundled" / name, here.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise DataError(f"bundled {name}/ tables not found next to {here}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataError(f"cannot read price table {path}: {exc}") from exc


def _per_million(per_token: object) -> Decimal:
    """USD per token (as litellm stores it) to USD per million tokens, without float noise."""
    d = (Decimal(str(per_token)) * 1_000_000).normalize()
    return d.quantize(Decimal(1)) if d == d.to_integral_value() else d


def _newest(rows: Iterable[Any]) -> dict[Any, Any]:
    """Index rows by key, keeping the one with the newest ``as_of``."""
    out: dict[Any, Any] = {}
    for key, row in rows:
        if key not in out or str(row.as_of) >= str(out[key].as_of):
            out[key] = row
    return out


class PriceBook:
    """All prices budget knows, from one pricing directory and (lazily) litellm's table."""

    def __init__(self, directory: Path | None = None, litellm_table: Path | None = None) -> None:
        self.directory = directory or bundled_dir("pricing")
        self._litellm_path = litellm_table

    # --- budget's own tables -------------------------------------------------------
    @cached_property
    def aliases(self) -> dict[str, str]:
        """Model-name aliases (lower case) to canonical ids, from ``aliases.toml``."""
        data = _read_toml(self.directory / "aliases.toml").get("aliases", {})
        return {str(k).lower(): str(v) for k, v in data.items()}

    @cached_property
    def overrides(self) -> dict[str, TokenPrice]:
        """Per-token prices that override litellm's, from ``overrides.toml`` (newest per model)."""
        rows = _read_toml(self.directory / "overrides.toml").get("price", [])
        prices = (
            TokenPrice(
                model=r["model"],
                provider=r.get("provider", ""),
                input_per_mtok=Decimal(str(r["input"])),
                output_per_mtok=Decimal(str(r["output"])),
                cached_input_per_mtok=(Decimal(str(r["cached_input"])) if "cached_input" in r else None),
                source=r["source"],
                as_of=str(r["as_of"]),
            )
            for r in rows
        )
        return _newest((p.model, p) for p in prices)

    @cached_property
    def attempts(self) -> dict[tuple[str, str], AttemptPrice]:
        """Published per-attempt prices by (model, task), newest first, from ``historical.toml``."""
        rows = _read_toml(self.directory / "historical.toml").get("attempt", [])
        prices = (AttemptPrice.model_validate({**r, "as_of": str(r["as_of"])}) for r in rows)
        return _newest(((p.model, p.task), p) for p in prices)

    @cached_property
    def machines(self) -> dict[str, MachinePrice]:
        """Machine prices ($/hour) by name, from ``machines.toml`` (newest per machine)."""
        rows = _read_toml(self.directory / "machines.toml").get("machine", [])
        return _newest(
            (m.name, m) for m in (MachinePrice.model_validate({**r, "as_of": str(r["as_of"])}) for r in rows)
        )

    @cached_property
    def throughputs(self) -> dict[tuple[str, str], Throughput]:
        """Measured throughputs by (model, machine), from ``throughput.toml``."""
        rows = _read_toml(self.directory / "throughput.toml").get("throughput", [])
        return _newest(
            ((t.model, t.machine), t)
            for t in (Throughput.model_validate({**r, "as_of": str(r["as_of"])}) for r in rows)
        )

    def canonical(self, model: str) -> str:
        """The id budget stores ``model`` under (see :mod:`budget.pricing.names`)."""
        return names.canonical(model, self.aliases)

    def resolve(self, model: str, known: Mapping[str, str] | Iterable[str], *, context: str = "") -> str:
        """Which of ``known`` (ids, or ids to display names) ``model`` means, by the one rule."""
        return names.resolve(model, known, self.aliases, context=context)

    def machine(self, name: str) -> MachinePrice:
        """The machine ``name``; an :class:`UnknownNameError` (one line) otherwise."""
        try:
            return self.machines[name]
        except KeyError:
            raise UnknownNameError("machine", name, list(self.machines)) from None

    def throughput(self, model: str, machine: str) -> Throughput | None:
        """The measured throughput of ``model`` on ``machine``, if any."""
        key = self.resolve_known(model, {m for m, _ in self.throughputs})
        return self.throughputs.get((key, machine)) if key else None

    def attempt_price(self, model: str, task: str) -> AttemptPrice | None:
        """The published per-attempt price of ``model`` on ``task``, if any."""
        key = self.resolve_known(model, {m for m, _ in self.attempts})
        return self.attempts.get((key, task)) if key else None

    def attempt_prices(self, model: str) -> list[AttemptPrice]:
        """Every per-attempt price of ``model`` (any task)."""
        key = self.resolve_known(model, {m for m, _ in self.attempts})
        return [p for (m, _task), p in self.attempts.items() if m == key]

    def resolve_known(self, model: str, known: Iterable[str]) -> str | None:
        """Like :meth:`resolve`, but None (not an error) when ``model`` is not among ``known``."""
        try:
            return self.resolve(model, sorted(known))
        except InputError:
            return None

    # --- litellm's table -----------------------------------------------------------
    @cached_property
    def litellm_version(self) -> str | None:
        """The installed litellm's version (None without litellm)."""
        try:
            return metadata.version("litellm")
        except metadata.PackageNotFoundError:
            return None

    @cached_property
    def litellm_table(self) -> dict[str, dict[str, Any]]:
        """The price table litellm ships, read as a data file (litellm is never imported to price)."""
        path = self._litellm_path
        if path is None:
            try:
                path = Path(str(metadata.distribution("litellm").locate_file(LITELLM_TABLE)))
            except metadata.PackageNotFoundError:
                return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read litellm's price table {path}: {exc}") from exc
        return {k: v for k, v in data.items() if isinstance(v, dict) and k != "sample_spec"}

    def _from_litellm(self, key: str, row: Mapping[str, Any]) -> TokenPrice | None:
        inp, out = row.get("input_cost_per_token"), row.get("output_cost_per_token")
        if inp is None or out is None:
            return None
        cached = row.get("cache_read_input_token_cost")
        return TokenPrice(
            model=key,
            provider=str(row.get("litellm_provider", "")),
            input_per_mtok=_per_million(inp),
            output_per_mtok=_per_million(out),
            cached_input_per_mtok=_per_million(cached) if cached is not None else None,
            source=f"litellm price table (litellm {self.litellm_version or 'not installed'})",
            as_of=f"litellm {self.litellm_version}" if self.litellm_version else "unknown",
        )

    def token_price(self, model: str) -> TokenPrice:
        """The per-token price of an API model (see module docstring for the order)."""
        name = self.canonical(model)
        key = self.resolve_known(name, self.overrides)
        if key is not None:
            return self.overrides[key]
        table = self.litellm_table
        candidates = [name, name.lower()]
        if "/" in name:
            candidates += [name.split("/", 1)[1], name.split("/", 1)[1].lower()]
        candidates += [f"{p}/{name}" for p in ("openai", "anthropic", "deepseek", "gemini")]
        for key in candidates:
            row = table.get(key)
            if row is not None:
                price = self._from_litellm(key, row)
                if price is None:
                    raise PricingError(f"litellm's table has no token prices for {key!r}")
                return price
        if not table and not self.overrides:
            raise PricingError(f"no price for {model!r}: litellm is not installed")
        raise UnknownNameError("model", model, [*self.overrides, *table, *self.aliases])


@lru_cache(maxsize=1)
def default_price_book() -> PriceBook:
    """The price book of the bundled tables."""
    return PriceBook()


def price_for(model: str, overrides: Mapping[str, TokenPrice] | None = None) -> TokenPrice:
    """Per-token price of ``model``; ``overrides`` (e.g. from ``--price``) win."""
    if overrides and model in overrides:
        return overrides[model]
    return default_price_book().token_price(model)
