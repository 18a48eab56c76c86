"""The public face of every package: its ``__all__``, pinned here.

A package either re-exports the names other layers use (``budget.planner``, ``budget.pricing``,
...) or, where its face is its modules (``budget.executor``, ``budget.report``, ...), lists them.
Changing a face is a decision: this test makes it visible (update ``public_api.json`` with it).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import budget

#: package -> its ``__all__``, in order (tests/public_api.json, a golden file: edit it with the face).
FACES: dict[str, list[str]] = json.loads((Path(__file__).parent / "public_api.json").read_text())


def _packages() -> list[str]:
    found = ["budget"]
    for info in pkgutil.walk_packages(budget.__path__, "budget."):
        if info.ispkg:
            found.append(info.name)
    return sorted(found)


def _public_modules(package: ModuleType) -> set[str]:
    return {i.name for i in pkgutil.iter_modules(package.__path__) if not i.name.startswith("_")}


def test_every_package_has_a_pinned_face() -> None:
    assert _packages() == sorted(FACES), "a package was added or removed: pin its __all__ in FACES"


@pytest.mark.parametrize("name", sorted(FACES))
def test_face_is_as_pinned(name: str) -> None:
    package = importlib.import_module(name)
    assert hasattr(package, "__all__"), f"{name} declares no __all__"
    assert list(package.__all__) == FACES[name]
    assert len(set(package.__all__)) == len(package.__all__), "a name listed twice"


@pytest.mark.parametrize("name", sorted(FACES))
def test_every_public_name_resolves(name: str) -> None:
    package = importlib.import_module(name)
    modules = _public_modules(package)
    for public in package.__all__:
        if public in modules:
            assert isinstance(importlib.import_module(f"{name}.{public}"), ModuleType)
        else:
            assert getattr(package, public) is not None, f"{name}.{public}"


@pytest.mark.parametrize("name", sorted(FACES))
def test_a_face_of_modules_lists_every_module(name: str) -> None:
    """Where the face is the modules, a new module is listed too (or made private with ``_``)."""
    package = importlib.import_module(name)
    modules = _public_modules(package)
    listed = set(package.__all__)
    if listed <= modules:
        assert listed == modules
