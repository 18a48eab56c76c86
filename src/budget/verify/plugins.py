"""The verifier plug-in loader: ``verifiers/<name>.py`` modules that define ``VERIFIER``.

Plug-ins live in the top-level ``verifiers/`` folder of the source tree; the wheel carries the
same files as ``budget/_bundled/verifiers`` (see ``pyproject.toml``).  A plug-in is a plain
module with a module-level ``VERIFIER`` object that satisfies
:class:`budget.verify.protocol.Verifier` and whose ``name`` is the module's name.  Modules whose
name starts with ``_`` are helpers, not plug-ins.  Each plug-in is imported once per process
(under ``budget_verifiers.<name>``) and its ``VERIFIER`` shared, so it must be thread-safe.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import threading
from pathlib import Path

from budget.errors import DataError, UnknownNameError
from budget.verify.protocol import Verifier

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_lock = threading.Lock()
_loaded: dict[str, Verifier] = {}


def plugin_dir() -> Path:
    """The folder the plug-ins are read from: the wheel's bundled copy, else the source tree's."""
    package = Path(__file__).resolve().parents[1]
    bundled = package / "_bundled" / "verifiers"
    if bundled.is_dir():
        return bundled
    return package.parents[1] / "verifiers"


def available() -> list[str]:
    """Names of the installed plug-ins."""
    folder = plugin_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.py") if _NAME.match(p.stem))


def load_verifier(name: str) -> Verifier:
    """The plug-in called ``name``; :class:`UnknownNameError` when there is none."""
    with _lock:
        if name in _loaded:
            return _loaded[name]
        known = available()
        if not _NAME.match(name) or name not in known:
            raise UnknownNameError("verifier", name, known)
        path = plugin_dir() / f"{name}.py"
        module_name = f"budget_verifiers.{name}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise DataError(f"verifier plug-in {path} cannot be loaded")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception:
            del sys.modules[module_name]
            raise
        verifier = getattr(module, "VERIFIER", None)
        if not isinstance(verifier, Verifier) or verifier.name != name:
            raise DataError(f"verifier plug-in {path} must define VERIFIER with name {name!r}")
        _loaded[name] = verifier
        return verifier
